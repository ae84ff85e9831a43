"""People (缴存人) and units (单位) as the center's records know them."""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class PhoneIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "phone-index"
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)


class Person(BaseModel):
    """A person in the center's records (ZJHM 证件号码, XINGMING 姓名, SJHM 手机号码)."""

    class Meta:
        table_name = "people"

    id_number = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute()
    alipay_user_id = UnicodeAttribute(null=True)
    face_photo_key = UnicodeAttribute(null=True)
    # where ``phone`` came from: None = the center (import, a reviewed change) or the person (proven by a code);
    # "unit" = typed by a unit registering a person the center did not know, not proven by the person, so
    # registration does not take it as proof of who is registering (issue 17 item 1)
    phone_source = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)

    phone_index = PhoneIndex()


class Unit(BaseModel):
    """A unit (单位, DWZH 单位账号) with its deposit ratios and its agent (经办人)."""

    class Meta:
        table_name = "units"

    unit_no = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    credit_code = UnicodeAttribute()
    ratio_unit = UnicodeAttribute()       # percent, e.g. "12"
    ratio_person = UnicodeAttribute()
    status = UnicodeAttribute()           # normal | opening | deferred | closed | sealed
    agent_name = UnicodeAttribute()
    agent_phone = UnicodeAttribute()
    bank_name = UnicodeAttribute(null=True)      # 单位缴存银行 (the roster is debited from this account)
    bank_account = UnicodeAttribute(null=True)   # its account number
    paid_through = UnicodeAttribute(null=True)   # YYYYMM: the last month a roster of this unit was paid for
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
