"""Public content: branches (网点), partner properties (合作楼盘), notices (资讯公告)."""

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class Branch(BaseModel):
    class Meta:
        table_name = "branches"

    branch_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    address = UnicodeAttribute()
    phone = UnicodeAttribute()
    hours = UnicodeAttribute(null=True)
    slots = ListAttribute(of=UnicodeAttribute)     # ["09:00-10:00", ...]
    capacity_per_slot = NumberAttribute()
    updated_at = UTCDateTimeAttribute(null=True)


class Property(BaseModel):
    class Meta:
        table_name = "properties"

    project_no = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    developer = UnicodeAttribute()
    address = UnicodeAttribute()
    status = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)


class CategoryIndex(GlobalSecondaryIndex):
    """Every notice of a category, whatever its status (operators' view), newest first."""

    class Meta:
        index_name = "category-index"
        projection = AllProjection()

    category = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)      # "<published_on>#<notice_id>"


class PublicIndex(GlobalSecondaryIndex):
    """Published notices only (a sparse index: ``public_category`` is absent once withdrawn)."""

    class Meta:
        index_name = "public-index"
        projection = AllProjection()

    public_category = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


NOTICE_CATEGORIES = ("news", "policy", "guide")     # 通知公告, 政策法规, 办事指南


class Notice(BaseModel):
    """A notice (资讯公告). ``save()`` keeps the index keys in step with the content and the status."""

    class Meta:
        table_name = "notices"

    notice_id = UnicodeAttribute(hash_key=True)
    category = UnicodeAttribute()                    # news | policy | guide
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    published_on = UnicodeAttribute()                # YYYY-MM-DD; hidden from the public before that day
    status = UnicodeAttribute(default="published")   # published | withdrawn
    sort_key = UnicodeAttribute()
    public_category = UnicodeAttribute(null=True)    # = category while published, absent otherwise
    created_by = UnicodeAttribute(null=True)         # operator username (None for imported notices)
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()                     # optimistic locking: concurrent edits cannot be lost

    category_index = CategoryIndex()
    public_index = PublicIndex()

    def refresh_keys(self) -> None:
        self.sort_key = f"{self.published_on}#{self.notice_id}"
        self.public_category = self.category if self.status == "published" else None

    def save(self, *args, **kwargs):
        self.refresh_keys()
        return super().save(*args, **kwargs)
