"""Citizens' messages (消息: 未读/已阅/待办) and the queue of notification SMS (短信发送队列).

A message's box is listed through ``box-index``: ``box_key`` is ``"<id_number>#<box>"`` while the message is
not deleted and absent once it is (a sparse index), so each box is one Query, newest first.
"""

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel

BOXES = ("unread", "read", "todo")


class BoxIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "box-index"
        projection = AllProjection()

    box_key = UnicodeAttribute(hash_key=True)       # "<id_number>#<box>" (absent when deleted)
    message_id = UnicodeAttribute(range_key=True)


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
    box_key = UnicodeAttribute(null=True)

    box_index = BoxIndex()

    @staticmethod
    def box_key_for(id_number: str, box: str) -> str:
        return f"{id_number}#{box}"

    def save(self, *args, **kwargs):
        """Every save keeps ``box_key`` in step with ``box`` and ``deleted`` (the box lists depend on it)."""
        self.box_key = None if self.deleted else self.box_key_for(self.id_number, self.box)
        return super().save(*args, **kwargs)


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
