"""Public content: branches (网点), partner properties (合作楼盘), notices (资讯公告)."""

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
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
    class Meta:
        index_name = "category-index"
        projection = AllProjection()

    category = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)      # "<published_on>#<notice_id>"


class Notice(BaseModel):
    class Meta:
        table_name = "notices"

    notice_id = UnicodeAttribute(hash_key=True)
    category = UnicodeAttribute()                    # news | policy | guide
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    published_on = UnicodeAttribute()
    status = UnicodeAttribute(default="published")   # published | withdrawn
    sort_key = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)

    category_index = CategoryIndex()
