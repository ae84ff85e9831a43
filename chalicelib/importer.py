"""Center records import (中心数据导入, CONTRACT section 7): JSON Lines, one record an object with "type".

Each line is validated on its own; a bad line is reported with its number and nothing of it is
written, the rest goes on. Records are upserted by key, so importing the same file twice changes
nothing. Writes go out in DynamoDB batches (25 items), one batch writer per table.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib import errors, policy
from chalicelib.fields import (
    BankAccountNo,
    CreditCode,
    IdNumber,
    Mobile,
    OrgName,
    Percent,
    Period,
    PersonName,
    RecordKey,
)
from chalicelib.money import Money
from chalicelib.policy import WITHDRAWAL_TYPES
from chalicelib.rules import balances, periods
from chalicelib.rules import interest as interest_rules
from chalicelib.store.accounts import Account, Terms
from chalicelib.store.content import Branch, Notice, Property
from chalicelib.store.ledger import DEPOSIT, WITHDRAWAL, LedgerEntry
from chalicelib.store.loans import Loan, Repayment
from chalicelib.store.people import Person, Unit

Text = Annotated[str, Field(min_length=1, max_length=200)]
Name = Annotated[PersonName, Field(min_length=1, max_length=50)]
Title = Annotated[OrgName, Field(min_length=1, max_length=200)]
Key = RecordKey


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UnitRecord(_Record):
    type: Literal["unit"]
    unit_no: Key
    name: Title
    credit_code: CreditCode
    ratio_unit: Percent
    ratio_person: Percent
    status: Literal["normal", "opening", "deferred", "closed", "sealed"]
    agent_name: Name
    agent_phone: Mobile
    bank_name: Title | None = None           # optional: the registered account rosters are debited from
    bank_account: BankAccountNo | None = None

    @model_validator(mode="after")
    def _ratios(self):
        dep = policy.get().deposit
        for name in ("ratio_unit", "ratio_person"):
            value = Decimal(getattr(self, name))
            if not dep.ratio_min <= value <= dep.ratio_max:
                raise ValueError(f"{name} 须在 {dep.ratio_min}% 至 {dep.ratio_max}% 之间")
        return self


class PersonRecord(_Record):
    type: Literal["person"]
    id_number: IdNumber
    name: Name
    phone: Mobile


class TermsRecord(_Record):
    """One entry of an account's 缴存额/基数 history: from ``from_period`` on, ``monthly_amount`` (and for an
    employee ``base``) a month."""

    from_period: Period
    monthly_amount: Money
    base: Money | None = None


class Accrual(_Record):
    """The interest 积数 an account has accrued in the HPF year ending ``year_end`` (a settlement day, 30 June), in
    yuan·days with at most two decimals: the balance carried into the year × 360 plus each of the year's amounts ×
    the (30/360) days from its date to 30 June, both counted, withdrawals negative (``rules.interest``). A center
    migrating mid-year passes it so the year's interest loses nothing."""

    year_end: dt.date
    jishu: Annotated[str, Field(pattern=r"^\d{1,18}(\.\d{1,2})?$")]

    @model_validator(mode="after")
    def _settlement_day(self):
        s = policy.get().deposit.interest_settlement
        if (self.year_end.month, self.year_end.day) != (s["month"], s["day"]):
            raise ValueError(f"year_end 须为结息日（{s['month']}月{s['day']}日）")
        return self

    @property
    def hpf_year(self) -> int:
        return self.year_end.year - 1

    @property
    def fen_days(self) -> int:
        return int(Decimal(self.jishu) * 100)


class AccountRecord(_Record):
    type: Literal["account"]
    account_no: Key
    id_number: IdNumber
    kind: Literal["employee", "flexible"]
    unit_no: Key | None
    status: Literal["normal", "sealed", "frozen", "closed"]
    base: Money
    ratio_person: Percent | None = None
    ratio_unit: Percent | None = None
    monthly_amount: Money
    balance: Money
    paid_through: Period | None
    opened_on: dt.date
    history: list[TermsRecord] | None = Field(default=None, max_length=600)   # oldest first
    accrual: Accrual | None = None

    @model_validator(mode="after")
    def _unit(self):
        if self.kind == "employee" and not self.unit_no:
            raise ValueError("单位职工账户须有 unit_no")
        if self.kind == "flexible" and self.unit_no:
            raise ValueError("灵活就业账户不属于单位，unit_no 须为 null")
        if self.history:
            froms = [h.from_period for h in self.history]
            if froms != sorted(froms):
                raise ValueError("history 须按 from_period 由早到晚排列")
            last = self.history[-1]
            if last.monthly_amount != self.monthly_amount or (self.kind == "employee" and last.base != self.base):
                raise ValueError("history 最后一条须与当前月缴存额（及缴存基数）一致")
        return self

    def terms(self) -> list:
        """The account's history as stored: the record's, or else the current figures from the opening month."""

        employee = self.kind == "employee"
        entries = [(h.from_period, h.monthly_amount, h.base) for h in self.history or []] or [
            (periods.period_of(self.opened_on), self.monthly_amount, self.base)]
        return [Terms(from_period=start, amount=amount,
                      base=(self.base if base is None else base) if employee else None,
                      ratio_unit=self.ratio_unit if employee else None,
                      ratio_person=self.ratio_person if employee else None) for start, amount, base in entries]


class DepositRecord(_Record):
    type: Literal["deposit"]
    serial_no: Key
    account_no: Key
    date: dt.date
    period: Period
    kind: Literal["remit", "backpay", "interest", "transfer_in"]
    amount: Money
    balance_after: Money

    @model_validator(mode="after")
    def _balance(self):
        if self.amount <= 0 or self.balance_after < self.amount:
            raise ValueError("金额须大于0，且缴存后余额不小于发生额")
        return self


class WithdrawalRecord(_Record):
    """A withdrawal. The record's ``type`` is "withdrawal", so the withdrawal's own type is ``withdrawal_type``."""

    type: Literal["withdrawal"]
    serial_no: Key
    account_no: Key
    date: dt.date
    type_: str = Field(alias="withdrawal_type", default="other")
    amount: Money
    balance_after: Money

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("type_")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in WITHDRAWAL_TYPES and value not in ("other", "closure"):
            raise ValueError(f"未知的提取类型 {value}")
        return value

    @model_validator(mode="after")
    def _amount(self):
        if self.amount <= 0:
            raise ValueError("提取金额须大于0")
        return self


class LoanRecord(_Record):
    type: Literal["loan"]
    contract_no: Key
    id_number: IdNumber
    bank: Text
    repay_account: Annotated[str, Field(pattern=r"^\d{12,19}$")]
    principal: Money
    annual_rate: Percent
    term_months: int = Field(ge=1, le=360)
    method: Literal["equal_installment", "equal_principal"]
    disbursed_on: dt.date
    repayment_day: int = Field(ge=1, le=28)
    balance: Money
    paid_periods: int = Field(ge=0, le=360)
    status: Literal["normal", "overdue", "settled"]

    @model_validator(mode="after")
    def _consistent(self):
        if self.principal <= 0 or self.balance > self.principal or self.paid_periods > self.term_months:
            raise ValueError("贷款余额不能超过本金，已还期数不能超过总期数")
        return self


class RepaymentRecord(_Record):
    type: Literal["repayment"]
    contract_no: Key
    period_no: int = Field(ge=1, le=360)
    date: dt.date
    amount: Money
    principal: Money
    interest: Money
    penalty: Money
    balance_after: Money

    @model_validator(mode="after")
    def _sum(self):
        if self.principal + self.interest + self.penalty != self.amount:
            raise ValueError("还款金额须等于本金、利息与罚息之和")
        return self


_SLOT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class BranchRecord(_Record):
    type: Literal["branch"]
    branch_id: Key
    name: Title
    address: Text
    phone: Annotated[str, Field(pattern=r"^[\d\-]{7,20}$")]
    hours: Text | None = None
    slots: list[str] = Field(min_length=1, max_length=24)
    capacity_per_slot: int = Field(ge=1, le=1000)

    @field_validator("slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        for slot in value:
            if not _SLOT.match(slot) or slot[:5] >= slot[6:]:
                raise ValueError(f"时段格式须为 HH:MM-HH:MM 且开始早于结束：{slot}")
        if len(set(value)) != len(value):
            raise ValueError("时段不能重复")
        return value


class PropertyRecord(_Record):
    type: Literal["property"]
    project_no: Key
    name: Title
    developer: Text
    address: Text
    status: Literal["selling", "sold_out", "building", "suspended"]


class NoticeRecord(_Record):
    type: Literal["notice"]
    notice_id: Key
    category: Literal["news", "policy", "guide"]
    title: Text
    body: Annotated[str, Field(min_length=1, max_length=20000)]
    published_on: dt.date


RECORDS: dict[str, type[_Record]] = {
    "unit": UnitRecord, "person": PersonRecord, "account": AccountRecord, "deposit": DepositRecord,
    "withdrawal": WithdrawalRecord, "loan": LoanRecord, "repayment": RepaymentRecord, "branch": BranchRecord,
    "property": PropertyRecord, "notice": NoticeRecord,
}


def to_item(record: _Record):
    """The store item a record becomes (the key decides what an upsert replaces)."""

    if isinstance(record, UnitRecord):
        return Unit(record.unit_no, name=record.name, credit_code=record.credit_code, ratio_unit=record.ratio_unit,
                    ratio_person=record.ratio_person, status=record.status, agent_name=record.agent_name,
                    agent_phone=record.agent_phone, bank_name=record.bank_name, bank_account=record.bank_account)
    if isinstance(record, PersonRecord):
        return Person(record.id_number, name=record.name, phone=record.phone)
    if isinstance(record, AccountRecord):
        return Account(record.account_no, id_number=record.id_number, kind=record.kind, unit_no=record.unit_no,
                       status=record.status, base=record.base, ratio_person=record.ratio_person,
                       ratio_unit=record.ratio_unit, monthly_amount=record.monthly_amount, balance=record.balance,
                       paid_through=record.paid_through, opened_on=record.opened_on.isoformat(),
                       remit_group=Account.remit_group_for(record.kind, record.status), terms_history=record.terms(),
                       interest_accruals=({str(record.accrual.hpf_year): {"jishu": record.accrual.fen_days}}
                                          if record.accrual else None))
    if isinstance(record, DepositRecord):
        day = record.date.isoformat()
        return LedgerEntry(record.serial_no, account_no=record.account_no, direction=DEPOSIT, kind=record.kind,
                           period=record.period, date=day, amount=record.amount,
                           balance_before=record.balance_after - record.amount, balance_after=record.balance_after,
                           status="posted", counterparty="import",
                           **LedgerEntry.keys_for(record.account_no, DEPOSIT, day, record.serial_no))
    if isinstance(record, WithdrawalRecord):
        day = record.date.isoformat()
        return LedgerEntry(record.serial_no, account_no=record.account_no, direction=WITHDRAWAL, kind="withdrawal",
                           type=record.type_, date=day, amount=record.amount,
                           balance_before=record.balance_after + record.amount, balance_after=record.balance_after,
                           status="paid", counterparty="import",
                           **LedgerEntry.keys_for(record.account_no, WITHDRAWAL, day, record.serial_no))
    if isinstance(record, LoanRecord):
        return Loan(record.contract_no, id_number=record.id_number, bank=record.bank,
                    repay_account=record.repay_account, principal=record.principal, annual_rate=record.annual_rate,
                    term_months=record.term_months, method=record.method,
                    disbursed_on=record.disbursed_on.isoformat(), repayment_day=record.repayment_day,
                    balance=record.balance, paid_periods=record.paid_periods, status=record.status)
    if isinstance(record, RepaymentRecord):
        return Repayment(record.contract_no, record.period_no, date=record.date.isoformat(), amount=record.amount,
                         principal=record.principal, interest=record.interest, penalty=record.penalty,
                         balance_after=record.balance_after, source="import")
    if isinstance(record, BranchRecord):
        return Branch(record.branch_id, name=record.name, address=record.address, phone=record.phone,
                      hours=record.hours, slots=record.slots, capacity_per_slot=record.capacity_per_slot)
    if isinstance(record, PropertyRecord):
        return Property(record.project_no, name=record.name, developer=record.developer, address=record.address,
                        status=record.status)
    if isinstance(record, NoticeRecord):
        day = record.published_on.isoformat()
        # written in a batch, which skips Notice.save(): the public index key is set here (without it an imported
        # notice never reaches GET /v1/notices)
        return Notice(record.notice_id, category=record.category, title=record.title, body=record.body,
                      published_on=day, status="published", sort_key=f"{day}#{record.notice_id}",
                      public_category=record.category)
    raise TypeError(type(record))


@dataclass
class BadLine:
    line_no: int
    reason: str


@dataclass
class Report:
    lines: int = 0
    written: dict[str, int] = field(default_factory=dict)
    bad: list[BadLine] = field(default_factory=list)
    seconds: float = 0.0                 # float ok: elapsed time, not money

    @property
    def ok(self) -> int:
        return sum(self.written.values())


def parse_line(text: str) -> _Record:
    """Validate one line; raises ValueError with a reason a clerk can act on."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise ValueError("每行须为一个 JSON 对象")
    kind = data.get("type")
    model = RECORDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ValueError(f"未知的记录类型 type={kind!r}；可用：{', '.join(RECORDS)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = errors.validation_details(exc)["fields"]
        raise ValueError("; ".join(f"{k}: {v}" for k, v in fields.items())) from None


class Batch:
    """The per-record work of an import over some lines (the whole file, or one page of a chunk): validate each
    line, write the good ones in batches (one batch writer per table), count them, keep the bad ones with their line
    numbers, and gather what the ledger lines say about each account's HPF years (``firsts``, ``years``) for
    :func:`record_year_openings`. :meth:`close` flushes the writes."""

    def __init__(self) -> None:
        self.report = Report()
        self.writers: dict[type, Any] = {}
        self.settlement = policy.get().deposit.interest_settlement
        self.firsts: dict[tuple[str, int], tuple[str, int]] = {}   # (account, HPF year) -> earliest (flow_key, before)
        self.years = YearSums()

    def line(self, line_no: int, text: str) -> None:
        self.report.lines = line_no
        if not text.strip():
            return
        try:
            record = parse_line(text)
        except ValueError as exc:
            self.report.bad.append(BadLine(line_no, str(exc)))
            return
        item = to_item(record)
        model = type(item)
        if model not in self.writers:
            self.writers[model] = model.batch_write()
            self.writers[model].__enter__()
        self.writers[model].save(item)
        self.report.written[record.type] = self.report.written.get(record.type, 0) + 1
        if model is LedgerEntry:
            key = (item.account_no, balances.hpf_year(item.date, self.settlement))
            if key not in self.firsts or item.flow_key < self.firsts[key][0]:
                self.firsts[key] = (item.flow_key, int(item.balance_before))
            self.years.add(key, item, self.settlement)
        elif isinstance(record, AccountRecord) and record.accrual is not None:
            self.years.explicit.add((record.account_no, record.accrual.hpf_year))

    def close(self) -> None:
        writers, self.writers = self.writers, {}
        for writer in writers.values():
            writer.__exit__(None, None, None)


def run(lines: Iterable[str], *, progress: Callable[[int, Report], None] | None = None,
        progress_every: int = 1000) -> Report:
    """Import ``lines`` in this thread; bad lines are reported, good ones upserted in batches. (``gjj import`` cuts
    its file into chunks worked in parallel: :mod:`chalicelib.importer_fanout`, with this same per-record work.)"""

    started = time.perf_counter()
    batch = Batch()
    try:
        for line_no, text in enumerate(lines, start=1):
            batch.line(line_no, text)
            if progress and line_no % progress_every == 0:
                progress(line_no, batch.report)
    finally:
        batch.close()
    record_year_openings(batch.firsts, batch.years)
    batch.report.seconds = time.perf_counter() - started
    return batch.report


@dataclass
class YearSums:
    """What the imported movements say about each (account, HPF year)'s interest 积数 (``rules.interest``):
    Σ amount × days to 30 June (withdrawals negative) of the year's movements, and the serial of an interest
    record dated the year's settlement day (the center settled that year already). ``explicit``: the years an
    account record gave its 积数 for (that figure wins over the derived one)."""

    moved: dict[tuple[str, int], int] = field(default_factory=dict)
    settled: dict[tuple[str, int], str] = field(default_factory=dict)
    explicit: set[tuple[str, int]] = field(default_factory=set)

    def add(self, key: tuple[str, int], entry, settlement) -> None:
        end = interest_rules.year_end(key[1], settlement).isoformat()
        if entry.kind == "interest" and entry.date == end:
            self.settled[key] = entry.serial_no      # dated the settlement day: next year's carried balance
            return
        delta = int(entry.amount) if entry.direction == "D" else -int(entry.amount)
        self.moved[key] = self.moved.get(key, 0) + delta * interest_rules.days_left(entry.date, settlement)

    def accrual(self, key: tuple[str, int], carried: int) -> dict:
        out: dict = {"jishu": carried * interest_rules.DAYS_PER_YEAR + self.moved.get(key, 0)}
        if key in self.settled:
            out["settled"] = self.settled[key]
        return out


def record_year_openings(firsts: dict[tuple[str, int], tuple[str, int]], years: YearSums | None = None) -> None:
    """Give each account the balance carried into every HPF year its imported movements reach (上期余额):
    the balance before its earliest movement of the year (``rules.balances``), and each such year's interest 积数
    derived from the movements (unless the account record gave it). One update per account, conditioned on its
    version (a live posting at the same moment is not overwritten)."""
    from pynamodb.exceptions import UpdateError


    sums = years
    by_account: dict[str, list[tuple[int, str, int]]] = {}
    for (account_no, year), (at, fen) in firsts.items():
        by_account.setdefault(account_no, []).append((year, at, fen))
    for account_no, account_years in by_account.items():
        for _attempt in range(5):
            try:
                acct = Account.get(account_no, consistent_read=True)
            except Account.DoesNotExist:
                break       # movements of an account the records do not have: nothing to keep them on
            merged = balances.plain(acct.year_openings)
            for year, at, fen in account_years:
                merged = balances.merge(merged, year, at, fen)
            accruals = interest_rules.plain(acct.interest_accruals)
            for year, _at, _fen in account_years:
                key = (account_no, year)
                if sums is not None and key not in sums.explicit:
                    accruals[str(year)] = sums.accrual(key, balances.carried_over(merged, year))
            accruals = dict(sorted(accruals.items(), key=lambda kv: int(kv[0]))[-interest_rules.KEEP_YEARS:])
            if merged == balances.plain(acct.year_openings) and accruals == interest_rules.plain(
                    acct.interest_accruals):
                break
            try:
                acct.update(actions=[Account.year_openings.set(merged), Account.interest_accruals.set(accruals),
                                     Account.version.set(acct.version + 1)],
                            condition=Account.version == acct.version)
                break
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
