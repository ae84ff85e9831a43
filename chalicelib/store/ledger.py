"""Ledger entries (账户明细): one immutable item per balance change, keyed by its business serial.

The key on ``serial_no`` is what makes a posting impossible to apply twice: every posting puts its
entry with ``attribute_not_exists(serial_no)`` in the same transaction as the balance update.
Queries by account go through two indexes: all movements (``flow-index``) and one direction
(``dir-index``: ``<account_no>#D`` deposits, ``<account_no>#W`` withdrawals), newest first.
"""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel

DEPOSIT, WITHDRAWAL = "D", "W"


class FlowIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "flow-index"
        projection = AllProjection()

    account_no = UnicodeAttribute(hash_key=True)
    flow_key = UnicodeAttribute(range_key=True)


class DirectionIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "dir-index"
        projection = AllProjection()

    acct_dir = UnicodeAttribute(hash_key=True)
    flow_key = UnicodeAttribute(range_key=True)


class LedgerEntry(BaseModel):
    class Meta:
        table_name = "ledger"

    serial_no = UnicodeAttribute(hash_key=True)      # YWLSH 业务流水号
    account_no = UnicodeAttribute()
    direction = UnicodeAttribute()                   # D (in) | W (out)
    kind = UnicodeAttribute()                        # remit|backpay|interest|transfer_in|withdrawal|...
    type = UnicodeAttribute(null=True)               # withdrawal type, when a withdrawal
    period = UnicodeAttribute(null=True)             # YYYYMM for deposits
    date = UnicodeAttribute()                        # YYYY-MM-DD, China time
    amount = NumberAttribute()                       # fen, always positive
    balance_before = NumberAttribute()
    balance_after = NumberAttribute()
    status = UnicodeAttribute(default="posted")
    counterparty = UnicodeAttribute(null=True)       # bank serial, unit roster, ...
    business_serial = UnicodeAttribute(null=True)    # the application/payment this belongs to
    note = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    flow_key = UnicodeAttribute()                    # "<date>#<serial_no>"
    acct_dir = UnicodeAttribute()                    # "<account_no>#<direction>"

    flow_index = FlowIndex()
    dir_index = DirectionIndex()

    @staticmethod
    def keys_for(account_no: str, direction: str, date: str, serial_no: str) -> dict[str, str]:
        return {"flow_key": f"{date}#{serial_no}", "acct_dir": f"{account_no}#{direction}"}
