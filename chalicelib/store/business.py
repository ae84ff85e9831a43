"""Business records (业务明细/我发起的): what a citizen, unit or developer applied for, and its fate.

One item per application, keyed by its serial. Two indexes:

* ``owner-index`` — an owner's records newest first (``owner`` is the id number of a person, or
  ``unit:<no>`` / ``developer:<no>``; ``submitted_key`` is ``"<iso time>#<serial>"``);
* ``queue-index`` — the operators' review queue: ``queue`` is ``"<kind>"`` while the record waits for
  review and absent otherwise (a sparse index), so a queue read is one Query of what is pending.
"""

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib import errors
from chalicelib.store.base import BaseModel, condition_failed

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


# ---------------------------------------------------------------- the repository: every service goes through these

SERIAL_CONFLICT = "业务流水号冲突，请更换请求编号"


def find(serial_no: str) -> BusinessRecord | None:
    """The record of ``serial_no`` (read consistently), or None."""
    try:
        return BusinessRecord.get(serial_no, consistent_read=True)
    except BusinessRecord.DoesNotExist:
        return None


def find_own(serial_no: str, owner: str, kind: str | None = None) -> BusinessRecord | None:
    """The record of a retried request of ``owner`` (None when the serial is new).

    A serial already taken by another owner (or, given ``kind``, another kind of business) is a serial conflict
    (409): the request must use another ``Idempotency-Key``."""
    record = find(serial_no)
    if record is not None and (record.owner != owner or (kind is not None and record.kind != kind)):
        raise errors.Conflict(SERIAL_CONFLICT)
    return record


def find_own_with(serial_no: str, owner: str, kind: str | None, *others: tuple) -> tuple[BusinessRecord | None, list]:
    """:func:`find_own`, reading the ``others`` (keys as :func:`chalicelib.store.base.get_many` takes them) in the
    same round trip: (the record or None, the others or None each)."""
    from chalicelib.store.base import get_many

    record, *rest = get_many((BusinessRecord, serial_no), *others)
    if record is not None and (record.owner != owner or (kind is not None and record.kind != kind)):
        raise errors.Conflict(SERIAL_CONFLICT)
    return record, rest


def submit(record: BusinessRecord) -> BusinessRecord:
    """Save a new record; the same serial twice is the same application (the first is kept and returned)."""
    try:
        record.save(condition=BusinessRecord.serial_no.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise
        return BusinessRecord.get(record.serial_no, consistent_read=True)
    return record


def submit_in(tx, record: BusinessRecord) -> None:
    """The same as :func:`submit`, as one write of a transaction (the record is saved with what it does)."""
    tx.save(record, condition=BusinessRecord.serial_no.does_not_exist())


def finish(serial_no: str, status: str, opinion: str, decided_at: str) -> bool:
    """Move a ``submitted`` record to its outcome; False when it was not submitted any more (decided already)."""
    return finished(serial_no, status, opinion, decided_at) is not None


def finished(serial_no: str, status: str, opinion: str, decided_at: str) -> BusinessRecord | None:
    """:func:`finish`, answering the record as it now is (None when it was not submitted: decided already, or
    unknown). One conditional UpdateItem, no read first (issue 18): the condition alone says it was submitted,
    and the update's answer (ALL_NEW) is the whole record."""
    # the table connection's update_item, not Model.update: a model's update of a versioned item is conditioned on
    # the version it holds, which needs the read this saves; the version still moves on (+1) with the change
    try:
        data = BusinessRecord._get_connection().update_item(
            serial_no, actions=[BusinessRecord.status.set(status), BusinessRecord.opinion.set(opinion),
                                BusinessRecord.decided_at.set(decided_at), BusinessRecord.version.add(1)],
            condition=BusinessRecord.status == "submitted", return_values="ALL_NEW")
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return None
    return BusinessRecord.from_raw_data(data["Attributes"])


def finish_in(tx, record: BusinessRecord, status: str, opinion: str, decided_at: str, *extra_actions) -> None:
    """The same as :func:`finish`, as one write of a transaction (the record moves with the money)."""
    tx.update(record, actions=[BusinessRecord.status.set(status), BusinessRecord.decided_at.set(decided_at),
                               BusinessRecord.opinion.set(opinion), *extra_actions],
              condition=BusinessRecord.status == "submitted")


def claim(record: BusinessRecord, token: str, until: int, now_ts: int) -> BusinessRecord | None:
    """Take a submitted record for one review decision; None when it is taken (or decided) — the fresh record is
    returned then so the caller can tell which."""
    try:
        record.update(actions=[BusinessRecord.claim.set(token), BusinessRecord.claim_until.set(until)],
                      condition=(BusinessRecord.status == "submitted") & (
                          BusinessRecord.claim.does_not_exist() | (BusinessRecord.claim_until < now_ts)))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return None
    return record


def release(serial_no: str, token: str) -> None:
    """Give a claimed record back (best effort: a lapsed claim frees it anyway)."""
    record = find(serial_no)
    if record is None:
        return
    try:
        record.update(actions=[BusinessRecord.claim.remove(), BusinessRecord.claim_until.remove()],
                      condition=BusinessRecord.claim == token)
    except UpdateError:
        pass
