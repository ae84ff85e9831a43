"""Online users (registered 个人 users, operators) and their sessions."""

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

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


class SessionSubjectIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "subject-index"
        projection = KeysOnlyProjection()

    subject = UnicodeAttribute(hash_key=True)


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
    op_role = UnicodeAttribute(null=True)      # operators: reviewer | admin
    ttl = NumberAttribute(null=True)           # epoch seconds, cleanup only

    subject_index = SessionSubjectIndex()


class RefreshToken(BaseModel):
    """One refresh token (stored as its SHA-256 only). A token works once: using it stamps ``used_at``
    and names its successor; a used token coming back after the grace window revokes the session
    (the token family)."""

    class Meta:
        table_name = "refresh-tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    subject = UnicodeAttribute()
    role = UnicodeAttribute()
    issued_at = NumberAttribute()              # epoch seconds
    used_at = NumberAttribute(null=True)
    ttl = TTLAttribute(null=True)


class SmsCode(BaseModel):
    """The current verification code (验证码) of one phone for one purpose, stored hashed.

    ``bound_to`` ties a code to the session (step-up) or the user (phone change, subscription) that
    asked for it; ``wrong`` counts wrong tries; ``used`` makes it single-use.
    """

    class Meta:
        table_name = "sms-codes"

    key = UnicodeAttribute(hash_key=True)      # "<phone>#<purpose>"
    code_hash = UnicodeAttribute()
    issued_at = NumberAttribute()              # epoch seconds
    expires_at = NumberAttribute()
    wrong = NumberAttribute(default=0)
    used = BooleanAttribute(default=False)
    bound_to = UnicodeAttribute(null=True)
    ttl = TTLAttribute(null=True)
