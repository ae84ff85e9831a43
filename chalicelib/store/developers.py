"""Developers (房地产开发企业), their projects (项目/楼盘) and buildings (楼栋), as the developer web hall keeps them.

* :class:`Developer` — registered by the center (an operator), keyed by ``developer_no``;
* :class:`Project` — entered by the developer (项目录入) and reviewed by the center; ``developer-index``
  lists a developer's projects newest first;
* :class:`Building` — entered under an approved project (楼栋录入), reviewed by the center.
"""

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel

REVIEW_STATUSES = ("submitted", "approved", "rejected")


class Developer(BaseModel):
    class Meta:
        table_name = "developers"

    developer_no = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    credit_code = UnicodeAttribute()                  # 统一社会信用代码
    contact_name = UnicodeAttribute()
    contact_phone = UnicodeAttribute()
    status = UnicodeAttribute(default="normal")       # normal | suspended
    created_at = UTCDateTimeAttribute(null=True)


class ProjectDeveloperIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "developer-index"
        projection = AllProjection()

    developer_no = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)    # "<created_at>#<project_no>"


class Project(BaseModel):
    class Meta:
        table_name = "projects"

    project_no = UnicodeAttribute(hash_key=True)
    developer_no = UnicodeAttribute()
    name = UnicodeAttribute()
    address = UnicodeAttribute()
    presale_permit_no = UnicodeAttribute()            # 预售许可证号
    land_certificate_no = UnicodeAttribute(null=True)  # 土地使用证号
    status = UnicodeAttribute()                       # submitted | approved | rejected
    serial_no = UnicodeAttribute()                    # the application that entered it
    materials = ListAttribute(of=UnicodeAttribute, null=True)   # upload ids accepted by the center
    opinion = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_key = UnicodeAttribute()
    version = NumberAttribute(default=0)

    developer_index = ProjectDeveloperIndex()


class Building(BaseModel):
    class Meta:
        table_name = "buildings"

    project_no = UnicodeAttribute(hash_key=True)
    building_no = UnicodeAttribute(range_key=True)    # the developer's number, e.g. "3" or "A2"
    name = UnicodeAttribute()
    floors = NumberAttribute()
    houses = NumberAttribute()                        # 套数
    status = UnicodeAttribute()                       # submitted | approved | rejected
    serial_no = UnicodeAttribute()
    opinion = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
