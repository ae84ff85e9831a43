"""Business records (业务明细/我发起的): what a citizen, unit or developer applied for, and its fate.

One item per application, keyed by its serial. Two indexes:

* ``owner-index`` — an owner's records newest first (``owner`` is the id number of a person, or
  ``unit:<no>`` / ``developer:<no>``; ``submitted_key`` is ``"<iso time>#<serial>"``);
* ``queue-index`` — the operators' review queue: ``queue`` is ``"<kind>"`` while the record waits for
  review and absent otherwise (a sparse index), so a queue read is one Query of what is pending.
"""

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel

STATUSES = ("submitted", "approved", "rejected", "paid", "done", "cancelled")


class OwnerIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "owner-index"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    submitted_key = UnicodeAttribute(range_key=True)


class QueueIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "queue-index"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    submitted_key = UnicodeAttribute(range_key=True)


class BusinessRecord(BaseModel):
    class Meta:
        table_name = "business"

    serial_no = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    kind = UnicodeAttribute()                       # withdrawal | flexible_opening | unit_change | project | ...
    type = UnicodeAttribute(null=True)              # e.g. the withdrawal type
    title = UnicodeAttribute()                      # what the citizen sees: "租房提取"
    status = UnicodeAttribute(default="submitted")  # one of STATUSES
    submitted_at = UnicodeAttribute()               # ISO, China time
    submitted_key = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)        # operator username
    opinion = UnicodeAttribute(null=True)           # 审批意见
    amount = NumberAttribute(null=True)             # fen, when money is involved
    account_no = UnicodeAttribute(null=True)
    details = MapAttribute(null=True)               # the application's own fields (masked where personal)
    queue = UnicodeAttribute(null=True)             # = kind while waiting for review (sparse)
    claim = UnicodeAttribute(null=True)             # the decision under way (random token), while it runs
    claim_until = NumberAttribute(null=True)        # epoch seconds: a claim left by a crashed decision lapses
    version = VersionAttribute()

    owner_index = OwnerIndex()
    queue_index = QueueIndex()

    @staticmethod
    def keys(submitted_at: str, serial_no: str) -> str:
        return f"{submitted_at}#{serial_no}"
