"""HPF loans (公积金贷款, DKZH) and their repayment records (还款明细).

A loan carries its progress (贷款进度) as a list of stages in the order of :data:`STAGES`; a loan imported
from the center's records without stages has passed them all by ``disbursed_on`` (see :func:`stages_of`).
"""

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.store.base import BaseModel


class LoanPersonIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "person-index"
        projection = AllProjection()

    id_number = UnicodeAttribute(hash_key=True)
    contract_no = UnicodeAttribute(range_key=True)


class OffsetIndex(GlobalSecondaryIndex):
    """Sparse: loans with monthly offset (月对冲) signed, by repayment day (``offset_day`` is set while signed and
    removed on cancelling or settling), so the ``loan-offset-deduction`` job reads the day's loans with one Query."""

    class Meta:
        index_name = "offset-index"
        projection = KeysOnlyProjection()

    offset_day = NumberAttribute(hash_key=True)
    contract_no = UnicodeAttribute(range_key=True)


# The stages of a loan's progress (贷款进度), in order: (code, what the citizen sees).
STAGES: tuple[tuple[str, str], ...] = (
    ("applied", "贷款申请"),          # the developer or the citizen submitted the application
    ("reviewed", "中心审批"),         # the center approved (or rejected) it
    ("contracted", "签订借款合同"),    # the loan contract exists (contract_no)
    ("disbursed", "贷款发放"),         # the money went to the seller; repayment starts
)
STAGE_STATES = ("done", "current", "pending", "rejected")


class Stage(MapAttribute):
    """One stage of a loan's progress: ``code`` from :data:`STAGES`, its state and when it got there."""

    code = UnicodeAttribute()
    name = UnicodeAttribute()
    state = UnicodeAttribute()                # done | current | pending | rejected
    at = UnicodeAttribute(null=True)          # ISO-8601 with offset, China time
    note = UnicodeAttribute(null=True)        # e.g. the reviewer's opinion


class Loan(BaseModel):
    class Meta:
        table_name = "loans"

    contract_no = UnicodeAttribute(hash_key=True)
    id_number = UnicodeAttribute()
    bank = UnicodeAttribute()
    repay_account = UnicodeAttribute()
    principal = NumberAttribute()            # fen
    annual_rate = UnicodeAttribute()         # percent, e.g. "3.10"
    term_months = NumberAttribute()
    method = UnicodeAttribute()              # equal_installment | equal_principal
    disbursed_on = UnicodeAttribute()
    repayment_day = NumberAttribute()
    balance = NumberAttribute()              # fen
    paid_periods = NumberAttribute(default=0)
    status = UnicodeAttribute()              # applying | approved | normal | overdue | settled
    offset_signed = BooleanAttribute(default=False)
    offset_day = NumberAttribute(null=True)            # = repayment_day while offset is signed (offset-index)
    stages = ListAttribute(of=Stage, null=True)        # 贷款进度; None for loans imported without them
    application_serial = UnicodeAttribute(null=True)   # the loan application (BusinessRecord) it came from
    arrears = NumberAttribute(null=True)               # fen overdue (逾期本息) while status is overdue
    overdue_since = UnicodeAttribute(null=True)        # due date of the oldest unpaid installment while overdue
    interest_paid_to = UnicodeAttribute(null=True)     # a prepayment paid the interest up to this date
    home = UnicodeAttribute(null=True)                 # first | second (rate band); None: read from its rate
    repriced_on = UnicodeAttribute(null=True)          # the last repricing day (重定价) that moved its rate
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)

    person_index = LoanPersonIndex()
    offset_index = OffsetIndex()


def stages_of(loan: Loan) -> list[dict[str, str | None]]:
    """The loan's progress as plain dicts, every stage of :data:`STAGES` present and in order.

    Stages the loan stored are used as they are; a loan without stored stages (imported) has passed
    every stage by its disbursement date."""
    stored = {s.code: s for s in (loan.stages or [])}
    out = []
    for code, name in STAGES:
        if code in stored:
            s = stored[code]
            out.append({"code": code, "name": s.name or name, "state": s.state, "at": s.at, "note": s.note})
        elif not loan.stages:
            out.append({"code": code, "name": name, "state": "done", "at": f"{loan.disbursed_on}T00:00:00+08:00",
                        "note": None})
        else:
            out.append({"code": code, "name": name, "state": "pending", "at": None, "note": None})
    return out


# Repayments that are not installments (提前还本; 提前结清 when the next installment's key is taken) are keyed
# ``EXTRA_KEY_BASE × n + periods paid before`` so they never collide with an installment's period number.
EXTRA_KEY_BASE = 1000


class Repayment(BaseModel):
    class Meta:
        table_name = "repayments"

    contract_no = UnicodeAttribute(hash_key=True)
    period_no = NumberAttribute(range_key=True)
    date = UnicodeAttribute()
    amount = NumberAttribute()
    principal = NumberAttribute()
    interest = NumberAttribute()
    penalty = NumberAttribute(default=0)
    balance_after = NumberAttribute()
    source = UnicodeAttribute(null=True)     # bank | offset | prepayment | settlement
    from_hpf = NumberAttribute(null=True)    # fen of ``amount`` paid from the HPF account (月对冲)
    from_bank = NumberAttribute(null=True)   # fen of ``amount`` debited from the repayment bank account
    # Installments are keyed by their period (1..term). A prepayment (提前还本) is not a period: it is keyed
    # 1000 × n + the periods paid before it (n = 1, 2, … for several after the same period), so it never
    # collides with an installment; a settlement (提前结清) takes the next period's number.
    serial_no = UnicodeAttribute(null=True)
