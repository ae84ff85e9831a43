"""Personal HPF accounts (个人公积金账户, GRZH). The balance here moves only through the ledger."""

import datetime as dt

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.rules import periods
from chalicelib.store.base import BaseModel

ACCOUNT_STATUSES = ("normal", "sealed", "frozen", "closed")
ACCOUNT_KINDS = ("employee", "flexible")


class PersonIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "person-index"
        projection = AllProjection()

    id_number = UnicodeAttribute(hash_key=True)
    account_no = UnicodeAttribute(range_key=True)


class UnitIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "unit-index"
        projection = AllProjection()

    unit_no = UnicodeAttribute(hash_key=True)
    account_no = UnicodeAttribute(range_key=True)


class RemitIndex(GlobalSecondaryIndex):
    """Sparse: flexible accounts that deposit (``remit_group`` = "flexible" while normal), by paid-through
    month. The remittance reminder reads it in parallel-scan segments (many accounts share a month, so its keys
    cannot be cut into ranges), keeping only those paid through a month before the period."""

    class Meta:
        index_name = "remit-index"
        projection = AllProjection()

    remit_group = UnicodeAttribute(hash_key=True)
    paid_through = UnicodeAttribute(range_key=True)


class BookIndex(GlobalSecondaryIndex):
    """Every personal account, in account-number order (个人账簿): ``book`` is the same for all (set by default
    when an account is written), so batch jobs (``settle-annual-interest``) page through accounts with a Query
    and resume after the last account number they finished. Keys only: the job reads each account fresh."""

    class Meta:
        index_name = "book-index"
        projection = KeysOnlyProjection()

    book = UnicodeAttribute(hash_key=True)
    account_no = UnicodeAttribute(range_key=True)


BOOK = "personal"


class Terms(MapAttribute):
    """One entry of an account's deposit history (``Account.terms_history``): from the month ``from_period`` on,
    the account deposits ``amount`` fen a month; an employee's entry also keeps the base (缴存基数) and the two
    ratios that gave that amount. A back-payment (补缴) pays each month at the entry in force for it."""

    from_period = UnicodeAttribute(attr_name="from")   # YYYYMM
    amount = NumberAttribute()                         # fen a month (月缴存额)
    base = NumberAttribute(null=True)                  # fen (employee accounts)
    ratio_unit = UnicodeAttribute(null=True)
    ratio_person = UnicodeAttribute(null=True)


class Account(BaseModel):
    class Meta:
        table_name = "accounts"

    account_no = UnicodeAttribute(hash_key=True)
    id_number = UnicodeAttribute()
    kind = UnicodeAttribute()                    # employee | flexible
    unit_no = UnicodeAttribute(null=True)
    status = UnicodeAttribute()                  # normal | sealed | frozen | closed
    base = NumberAttribute(default=0)            # fen (GRJCJS)
    ratio_person = UnicodeAttribute(null=True)   # percent (GRJCBL)
    ratio_unit = UnicodeAttribute(null=True)     # percent (DWJCBL)
    monthly_amount = NumberAttribute(default=0)  # fen
    balance = NumberAttribute(default=0)         # fen (GRZHYE)
    paid_through = UnicodeAttribute(null=True)   # YYYYMM (JZNY 缴至年月)
    opened_on = UnicodeAttribute()               # YYYY-MM-DD
    sealed_on = UnicodeAttribute(null=True)
    closed_on = UnicodeAttribute(null=True)
    last_withdrawal_on = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
    remit_group = UnicodeAttribute(null=True)    # "flexible" while a flexible account is normal (remit-index)
    # 上期余额: the balance carried into each HPF year (1 July - 30 June), by year, as
    # {"2026": {"at": "<flow_key of the year's first movement>", "fen": 2604343}}; kept by the ledger and the importer.
    year_openings = MapAttribute(null=True)
    # 计息积数: the interest 积数 (fen·days) of the latest HPF years, keyed like year_openings, as
    # {"2025": {"jishu": 1390694400}} (chalicelib.rules.interest); kept by the ledger in the same transaction as the
    # balance, and by the importer. {"settled": "<serial>"} marks a year the imported records already settled.
    interest_accruals = MapAttribute(null=True)
    book = UnicodeAttribute(default=BOOK)        # every account (book-index)
    base_year = UnicodeAttribute(null=True)      # YYYY of the last base adjustment (基数调整) by the unit
    base_adjustments = NumberAttribute(null=True)   # how many in that year
    base_serial = UnicodeAttribute(null=True)    # the adjustment that set the base (a retry recognises itself)
    # 缴存额/基数 history, oldest first, appended by every change of the monthly amount or base (list_append, so a
    # change never needs the account's version); absent on an account never changed: then the current figures
    # hold for every month. Read with the account itself (no extra read).
    terms_history = ListAttribute(of=Terms, null=True)

    person_index = PersonIndex()
    unit_index = UnitIndex()
    remit_index = RemitIndex()
    book_index = BookIndex()

    @staticmethod
    def remit_group_for(kind: str, status: str) -> str | None:
        return "flexible" if kind == "flexible" and status == "normal" else None


def terms_entry(from_period: str, acct: Account, *, amount: int | None = None, base: int | None = None) -> Terms:
    """A history entry from ``from_period``: the account's figures, with ``amount``/``base`` replaced if given."""
    employee = acct.kind == "employee"
    return Terms(from_period=from_period, amount=int(acct.monthly_amount or 0) if amount is None else amount,
                 base=(int(acct.base or 0) if base is None else base) if employee else None,
                 ratio_unit=acct.ratio_unit if employee else None, ratio_person=acct.ratio_person if employee else None)


def append_terms(acct: Account, new: Terms) -> object:
    """The update action that appends ``new`` to the history; an account without one first gets its figures
    before the change, in force from its opening month (so earlier months keep the old amount)."""
    first = terms_entry(periods.period_of(dt.date.fromisoformat(acct.opened_on)), acct)
    return Account.terms_history.set((Account.terms_history | [first]).append([new]))
