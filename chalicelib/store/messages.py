"""Citizens' messages (消息: 未读/已阅/待办) and the queue of notification SMS (短信发送队列)."""

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class Message(BaseModel):
    class Meta:
        table_name = "messages"

    id_number = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute(range_key=True)   # "<iso time>#<random>": newest last
    box = UnicodeAttribute()                        # unread | read | todo
    kind = UnicodeAttribute()                       # payment | withdrawal | review | reminder | ...
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    read_at = UnicodeAttribute(null=True)
    deleted = BooleanAttribute(default=False)
    serial_no = UnicodeAttribute(null=True)


class DueIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "due-index"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)        # "pending" while it waits; removed when done (sparse)
    due_at = NumberAttribute(range_key=True)       # epoch seconds


class OutboundSms(BaseModel):
    """A notification SMS waiting for ``dispatch-sms`` (codes are sent at once, not queued)."""

    class Meta:
        table_name = "sms-outbox"

    sms_id = UnicodeAttribute(hash_key=True)       # deterministic: "<purpose>#<business key>"
    phone = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()                    # pending | sent | given_up
    attempts = NumberAttribute(default=0)
    queue = UnicodeAttribute(null=True)
    due_at = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)

    due_index = DueIndex()
