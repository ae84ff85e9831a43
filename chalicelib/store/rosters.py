"""Units' rosters (汇缴清册 and 补缴清册): what a unit pays for its employees, line by line.

* :class:`Roster` — one per roster, keyed by its business serial (``roster_no``); ``unit-index`` lists a
  unit's rosters newest first (``created_key`` = ``"<created_at>#<roster_no>"``).
* :class:`RosterLine` — one per employee and month, under the roster (``line_key`` =
  ``"<account_no>#<period>"``), so the lines of a roster come back in one order, page after page; that
  order defines the payment's batches.

A payment's progress (batches credited) is a state item ``roster#<roster_no>`` / ``progress``.
"""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel

ROSTER_KINDS = ("remit", "backpay")                      # 汇缴 | 补缴
ROSTER_STATUSES = ("ready", "paying", "paid", "cancelled")


class RosterUnitIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "unit-index"
        projection = AllProjection()

    unit_no = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class Roster(BaseModel):
    class Meta:
        table_name = "rosters"

    roster_no = UnicodeAttribute(hash_key=True)      # 业务流水号
    unit_no = UnicodeAttribute()
    kind = UnicodeAttribute()                         # remit | backpay
    period = UnicodeAttribute(null=True)              # remit: the month (清册年月)
    from_period = UnicodeAttribute()                  # the earliest month of any line
    end_period = UnicodeAttribute()                   # the latest
    status = UnicodeAttribute()                       # ready | paying | paid | cancelled
    employees = NumberAttribute()                     # distinct accounts
    lines = NumberAttribute()
    unit_total = NumberAttribute()                    # fen
    person_total = NumberAttribute()
    total = NumberAttribute()
    skipped = NumberAttribute(default=0)              # remit: employees not due this month (see note)
    note = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_key = UnicodeAttribute()
    bank_account = UnicodeAttribute(null=True)        # the unit's account debited
    bank_serial = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    credited = NumberAttribute(null=True)             # lines credited when paid
    credited_amount = NumberAttribute(null=True)
    refunded_amount = NumberAttribute(null=True)      # lines no longer due at payment, paid back to the unit
    reason = UnicodeAttribute(null=True)              # why cancelled
    version = NumberAttribute(default=0)

    unit_index = RosterUnitIndex()

    @staticmethod
    def key(created_at: str, roster_no: str) -> str:
        return f"{created_at}#{roster_no}"


class RosterLine(BaseModel):
    class Meta:
        table_name = "roster-lines"

    roster_no = UnicodeAttribute(hash_key=True)
    line_key = UnicodeAttribute(range_key=True)       # "<account_no>#<period>"
    account_no = UnicodeAttribute()
    period = UnicodeAttribute()
    id_number = UnicodeAttribute()
    base = NumberAttribute()                          # fen
    ratio_unit = UnicodeAttribute()
    ratio_person = UnicodeAttribute()
    unit_share = NumberAttribute()
    person_share = NumberAttribute()
    amount = NumberAttribute()

    @staticmethod
    def key(account_no: str, period: str) -> str:
        return f"{account_no}#{period}"
