"""Online users (registered 个人 users, operators) and their sessions."""

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class UserIdNumberIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "id-number-index"
        projection = AllProjection()

    id_number = UnicodeAttribute(hash_key=True)


class UserPhoneIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "phone-index"
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)


class User(BaseModel):
    """A registered depositor (个人用户). ``user_id`` is opaque; the person is ``id_number``."""

    class Meta:
        table_name = "users"

    user_id = UnicodeAttribute(hash_key=True)
    id_number = UnicodeAttribute()
    phone = UnicodeAttribute()
    password_hash = UnicodeAttribute(null=True)
    query_password_hash = UnicodeAttribute(null=True)
    sms_subscribed = BooleanAttribute(default=False)
    failed_logins = NumberAttribute(default=0)
    locked_until = UTCDateTimeAttribute(null=True)
    alipay_user_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(default=0)

    id_number_index = UserIdNumberIndex()
    phone_index = UserPhoneIndex()


class Operator(BaseModel):
    """A center operator (中心经办/审批): reviewer or admin."""

    class Meta:
        table_name = "operators"

    username = UnicodeAttribute(hash_key=True)
    password_hash = UnicodeAttribute()
    op_role = UnicodeAttribute()               # reviewer | admin
    failed_logins = NumberAttribute(default=0)
    locked_until = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)


class Session(BaseModel):
    """One login session; access tokens carry its id and stop working when it is revoked."""

    class Meta:
        table_name = "sessions"

    session_id = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute()               # user_id, unit_no, developer id or operator username
    role = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()        # absolute lifetime
    revoked = BooleanAttribute(default=False)
    family_id = UnicodeAttribute(null=True)    # refresh-token family
    ttl = NumberAttribute(null=True)           # epoch seconds, cleanup only
