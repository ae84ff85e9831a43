"""HPF loans (公积金贷款, DKZH) and their repayment records (还款明细)."""

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class LoanPersonIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "person-index"
        projection = AllProjection()

    id_number = UnicodeAttribute(hash_key=True)
    contract_no = UnicodeAttribute(range_key=True)


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
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)

    person_index = LoanPersonIndex()


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
    serial_no = UnicodeAttribute(null=True)
