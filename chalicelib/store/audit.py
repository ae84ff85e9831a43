"""Audit trail (审计记录): authentication events and money movements, apart from business data."""

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class DayIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "day-index"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)


class AuditEvent(BaseModel):
    class Meta:
        table_name = "audit"

    actor = UnicodeAttribute(hash_key=True)      # masked principal, e.g. "depositor:140105********1234"
    event_key = UnicodeAttribute(range_key=True)  # "<iso time>#<random>"
    day = UnicodeAttribute()
    event = UnicodeAttribute()                   # login.password, sms.sent, payment.remittance, ...
    result = UnicodeAttribute()                  # ok | refused | error
    source = UnicodeAttribute(null=True)         # source IP / channel
    at = UnicodeAttribute()
    details = MapAttribute(null=True)            # masked values only

    day_index = DayIndex()
