"""Loan services (贷款业务): partial prepayment (提前还本) and settlement (提前结清); 月对冲 is ``loan_offset``.

Where the money comes from: the loan's repayment bank account (还款账户), debited through the bank gateway with
the business serial as reference (the bank answers the same for the same reference). Each operation is the
money-in saga of :mod:`chalicelib.services.payments` keyed by that serial, as a flexible remittance is:

1. a business record ``submitted`` is saved (the serial is taken; it shows in 业务明细);
2. the bank debits the repayment account;
3. one transaction updates the loan (conditioned on its ``version``, so a concurrent offset deduction or another
   prepayment is never lost), puts the :class:`~chalicelib.store.loans.Repayment` item and marks the record
   ``done``.

A retry with the same ``Idempotency-Key`` resumes where the first stopped. A declined debit leaves the loan
untouched and the record ``cancelled``. A debit whose loan update is then refused (the loan moved and the rules no
longer allow it) is paid back to the account (reference ``<serial>R``).

Rules (city policy ``loans``): prepayment needs a normal loan (no arrears), ``min_months_repaid`` installments
paid, at least ``min_amount``, and at most ``times_per_year`` a calendar year. It first pays the interest accrued
since the last installment (``balance × rate / days_per_year × days``, as settlement does) and the rest is principal
(less than the balance); the loan then has its interest paid to that day (``interest_paid_to``), so a settlement or
the next installment charges interest only from there: splitting a settlement into prepayment + settlement saves
nothing. The remaining plan is recomputed (shorten the term keeping the installment, or lower the installment keeping
the term; :func:`chalicelib.rules.loans.prepayment`). Settlement pays the remaining principal
plus the interest accrued since the last installment (or the disbursement): ``balance × rate / days_per_year ×
days``; the loan is then ``settled`` with balance 0 and offset cancelled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, masking, money, policy
from chalicelib.rules import loans as rules
from chalicelib.services import business, notify, payments
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.base import condition_failed
from chalicelib.store.business import BusinessRecord
from chalicelib.store.loans import EXTRA_KEY_BASE, Loan, Repayment

PREPAYMENT, SETTLEMENT = "loan_prepayment", "loan_settlement"
_ATTEMPTS = 5


def loan_of(id_number: str, contract_no: str) -> Loan:
    """The caller's own loan; 404 for another person's or an unknown contract."""
    try:
        loan = Loan.get(contract_no, consistent_read=True)
    except Loan.DoesNotExist:
        loan = None
    return _own(id_number, loan)


def _own(id_number: str, loan: Loan | None) -> Loan:
    """:func:`loan_of` of a loan already read (None: not found)."""
    if loan is None or loan.id_number != id_number:
        raise errors.NotFound("未找到该笔贷款")
    return loan


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(clock.CHINA).date()


def _rate(loan: Loan) -> Decimal:
    return Decimal(loan.annual_rate)


def _left(loan: Loan) -> int:
    return rules.remaining_months(int(loan.term_months), int(loan.paid_periods or 0))


def extra_repayments(contract_no: str) -> list[Repayment]:
    """Prepayments (and settlements keyed off the installments' range) of a loan."""
    return list(Repayment.query(contract_no, Repayment.period_no >= EXTRA_KEY_BASE, consistent_read=True))


def _free_extra_key(contract_no: str, paid: int, extras: list[Repayment] | None = None) -> int:
    """The first free key for an extra repayment after ``paid`` installments (``extras``: the loan's extra
    repayments when already read)."""
    taken = {int(r.period_no) for r in (extra_repayments(contract_no) if extras is None else extras)}
    n = 1
    while EXTRA_KEY_BASE * n + paid in taken:
        n += 1
    return EXTRA_KEY_BASE * n + paid


def last_installment_on(loan: Loan) -> dt.date:
    """The date of the last installment paid (the disbursement date when none is)."""
    for r in Repayment.query(loan.contract_no, Repayment.period_no < EXTRA_KEY_BASE, scan_index_forward=False,
                             consistent_read=True, limit=1):
        return dt.date.fromisoformat(r.date)
    return dt.date.fromisoformat(loan.disbursed_on)


def interest_from(loan: Loan) -> dt.date:
    """Interest is paid up to the last installment, or to a later prepayment (which pays the interest accrued first)."""
    last = last_installment_on(loan)
    if loan.interest_paid_to:
        return max(last, dt.date.fromisoformat(loan.interest_paid_to))
    return last


def accrued(loan: Loan, today: dt.date) -> tuple[int, int]:
    """(interest, days) accrued on the balance since interest was last paid: ``balance × rate / 360 × days``."""
    days = max(0, (today - interest_from(loan)).days)
    return rules.accrued_interest(int(loan.balance), _rate(loan), days,
                                  policy.get().loans.settlement.days_per_year), days


# ---------------------------------------------------------------- the saga around the bank


def _start(*, serial: str, id_number: str, kind: str, title: str, amount: int, loan: Loan,
           details: dict[str, str], now: dt.datetime) -> BusinessRecord:
    record = business.new_record(
        serial_no=serial, owner=id_number, kind=kind, title=title, now=now, review=False, amount=amount,
        details={"contract_no": loan.contract_no, "repay_account": masking.card(loan.repay_account),
                 "bank": loan.bank, **details})
    return records.submit(record)


def _declined(record: BusinessRecord, now: dt.datetime):
    """What a declined debit of the repayment account tells the borrower, and the refusal it answers."""
    def tell(reason: str) -> errors.ApiError:
        notify.citizen(record.owner, title=f"{record.title}未成功",
                       body=f"您的{record.title}扣款未成功：{reason}，请确认还款账户余额后重试。",
                       kind="loan", now=now, key=record.serial_no, serial_no=record.serial_no)
        return errors.PaymentDeclined(f"扣款未成功：{reason}", details={"serial_no": record.serial_no})

    return tell


def _resume(serial: str, id_number: str, kind: str, contract_no: str) -> tuple[BusinessRecord | None, Loan | None]:
    """The record of a retry (a cancelled one answers its refusal again) and the loan as read with it, in one
    round trip (issue 18); the loan is judged by the caller (:func:`_own`)."""
    record, (loan,) = records.find_own_with(serial, id_number, kind, (Loan, contract_no))
    if record is not None and record.status == "cancelled":
        raise payments.declined_again(record)
    return record, loan


def _done(serial: str) -> BusinessRecord | None:
    """The record when a concurrent twin of this request finished it, else None."""
    again = records.find(serial)
    return again if again is not None and again.status == "done" else None


def _commit(record: BusinessRecord, loan: Loan, loan_actions: list, repayment: Repayment, outcome: dict[str, str],
            now: dt.datetime, opinion: str,
            tell: Callable[[BusinessRecord], tuple[str, str]]) -> BusinessRecord | None:
    """The loan update, the repayment and the record in one transaction; None when the loan (or the record)
    moved, else the record as the transaction left it.

    ``record`` is this request's copy (saved or read by it, issue 18: not read again): the record's write is
    conditioned on its version and on its being ``submitted``, so a copy that is no longer current cancels the
    transaction like a moved loan does, and the caller reads again.

    ``tell(done)``: the (title, body) of the borrower's message, written in the same transaction (issue 18: with
    what it tells, no write of its own); the SMS, if they subscribed, is queued after."""
    details = {**(record.details.as_dict() if record.details else {}), **outcome}
    decided_at = clock.iso(now)
    done = BusinessRecord.from_raw_data(record.serialize())
    done.status, done.opinion, done.decided_at, done.details = "done", opinion, decided_at, details
    title, body = tell(done)
    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.update(Loan(loan.contract_no), actions=[*loan_actions, Loan.version.set(int(loan.version or 0) + 1),
                                                       Loan.updated_at.set(now)],
                      condition=(Loan.version == int(loan.version or 0)) & (Loan.status == "normal"))
            tx.save(repayment, condition=Repayment.period_no.does_not_exist())
            records.finish_in(tx, record, "done", opinion, decided_at, BusinessRecord.details.set(details))
            notify.message_in(tx, record.owner, title=title, body=body, kind="loan", now=now,
                              serial_no=record.serial_no)
    except TransactWriteError as exc:
        if condition_failed(exc):
            return None         # the loan (or the record) moved: the caller reads again
        raise                   # throttled, conflicting or unanswered: nothing decided, the client retries (503)
    notify.sms(record.owner, body=body, kind="loan", now=now, key=record.serial_no)
    return done


# ---------------------------------------------------------------- 提前还本


@dataclass(frozen=True)
class PrepaymentOutcome:
    serial_no: str
    status: str
    contract_no: str
    amount: int
    mode: str
    balance_after: int
    term_months: int
    before: dict[str, int]
    after: dict[str, int]
    interest_saved: int
    interest: int = 0
    interest_days: int = 0
    principal: int = 0


_SUMMARY_FIELDS = ("monthly_payment", "last_payment", "remaining_months", "total_interest", "total_payment")


def _summary(s: rules.Summary) -> dict[str, int]:
    return {f: int(getattr(s, f)) for f in _SUMMARY_FIELDS}


def _prepayment_of(record: BusinessRecord) -> PrepaymentOutcome:
    d = record.details.as_dict()
    return PrepaymentOutcome(
        serial_no=record.serial_no, status=record.status, contract_no=d["contract_no"], amount=int(record.amount),
        mode=d["mode"], balance_after=int(d["balance_after"]), term_months=int(d["term_months"]),
        before={f: int(d[f"before_{f}"]) for f in _SUMMARY_FIELDS},
        after={f: int(d[f"after_{f}"]) for f in _SUMMARY_FIELDS}, interest_saved=int(d["interest_saved"]),
        interest=int(d.get("interest", 0)), interest_days=int(d.get("interest_days", 0)),
        principal=int(d.get("principal", record.amount)))


def prepayments_in(contract_no: str, year: int) -> int:
    return _prepayments_in(extra_repayments(contract_no), year)


def _prepayments_in(extras: list[Repayment], year: int) -> int:
    return sum(1 for r in extras if r.source == "prepayment" and r.date.startswith(str(year)))


def prepay(*, id_number: str, contract_no: str, amount: int, mode: str, serial: str,
           now: dt.datetime) -> PrepaymentOutcome:
    """提前还本: ``amount`` fen of principal from the repayment account; the plan is recomputed by ``mode``."""
    cfg = policy.get().loans
    today = _today(now)
    record, read = _resume(serial, id_number, PREPAYMENT, contract_no)
    if record is not None and record.status == "done":
        return _prepayment_of(record)
    loan = _own(id_number, read)
    # what this request read of the loan, its accrued interest and its extra repayments, used again by the first
    # posting attempt instead of reading them again (issue 18): the posting's transaction is conditioned on the
    # loan's version (and the repayment's key on being free), so reads gone stale cancel it and a later attempt
    # reads afresh
    first: dict = {"loan": loan, "accrued": accrued(loan, today), "extras": extra_repayments(contract_no)}
    if record is None:
        interest, _days = first["accrued"]
        _check_covers_interest(amount, interest)
        rules.check_prepayment(status=loan.status, paid_periods=int(loan.paid_periods or 0),
                               balance_fen=int(loan.balance), amount_fen=amount, principal_fen=amount - interest,
                               used_this_year=_prepayments_in(first["extras"], today.year), rules=cfg.prepayment)
        record = _start(serial=serial, id_number=id_number, kind=PREPAYMENT, title="提前还本", amount=amount,
                        loan=loan, details={"mode": mode}, now=now)
        if record.status == "done":
            return _prepayment_of(record)
    mode = record.details.as_dict()["mode"]

    def post(bank_serial: str) -> PrepaymentOutcome:
        for _attempt in range(_ATTEMPTS):
            if _attempt == 0:
                loan, (interest, days), extras = first["loan"], first["accrued"], first["extras"]
            else:
                loan = loan_of(id_number, contract_no)
                (interest, days), extras = accrued(loan, today), extra_repayments(contract_no)
            principal = int(record.amount) - interest
            try:
                _check_covers_interest(int(record.amount), interest)
                rules.check_prepayment(status=loan.status, paid_periods=int(loan.paid_periods or 0),
                                       balance_fen=int(loan.balance), amount_fen=int(record.amount),
                                       principal_fen=principal,
                                       used_this_year=_prepayments_in(extras, today.year), rules=cfg.prepayment)
            except errors.ApiError:
                if (again := _done(serial)) is not None:
                    return _prepayment_of(again)
                raise           # refunded by the saga
            paid = int(loan.paid_periods or 0)
            result = rules.prepayment(int(loan.balance), _rate(loan), _left(loan), loan.method, principal, mode,
                                      max_term_months=cfg.max_term_months)
            balance_after = int(loan.balance) - principal
            term = paid + result.after.remaining_months
            outcome = {"balance_after": str(balance_after), "term_months": str(term), "interest": str(interest),
                       "interest_days": str(days), "principal": str(principal),
                       "interest_saved": str(result.interest_saved), "bank_serial": bank_serial,
                       **{f"before_{k}": str(v) for k, v in _summary(result.before).items()},
                       **{f"after_{k}": str(v) for k, v in _summary(result.after).items()}}
            repayment = Repayment(contract_no, _free_extra_key(contract_no, paid, extras), date=today.isoformat(),
                                  amount=int(record.amount), principal=principal, interest=interest, penalty=0,
                                  balance_after=balance_after, source="prepayment", serial_no=serial,
                                  from_bank=int(record.amount))
            actions = [Loan.balance.set(balance_after), Loan.term_months.set(term),
                       Loan.interest_paid_to.set(today.isoformat())]
            done = _commit(record, loan, actions, repayment, outcome, now, f"已提前还本，银行流水 {bank_serial}",
                           _prepaid_message)
            if done is not None:
                return _prepayment_of(done)
            if (again := _done(serial)) is not None:
                return _prepayment_of(again)
        raise payments.Refused("贷款正在处理其他业务", errors.Conflict("贷款正在处理其他业务，扣款已退回，请稍后重试"))

    return payments.money_in(serial=serial, payer=loan.repay_account, amount=int(record.amount), now=now, post=post,
                             declined=_declined(record, now))


def _check_covers_interest(amount: int, interest: int) -> None:
    if amount <= interest:
        raise errors.ValidationFailed.field("amount", f"须大于应付利息 {money.format(interest)} 元",
                                            message="提前还款先归还截至今日的利息，金额须大于应付利息")


def _prepaid_message(record: BusinessRecord) -> tuple[str, str]:
    o = _prepayment_of(record)
    how = (f"剩余期数 {o.after['remaining_months']} 期" if o.mode == "shorten_term"
           else f"月还款额 {money.format(o.after['monthly_payment'])} 元")
    return "提前还本成功", (f"您的公积金贷款 {o.contract_no} 已提前还款 {money.format(o.amount)} 元（利息 "
                            f"{money.format(o.interest)} 元，本金 {money.format(o.principal)} 元），贷款余额 "
                            f"{money.format(o.balance_after)} 元，{how}，"
                            f"预计节省利息 {money.format(o.interest_saved)} 元。")


# ---------------------------------------------------------------- 提前结清


@dataclass(frozen=True)
class SettlementOutcome:
    serial_no: str
    status: str
    contract_no: str
    amount: int
    principal: int
    interest: int
    days: int
    settled_on: str
    bank: str
    repay_account: str
    bank_serial: str


def _settlement_of(record: BusinessRecord) -> SettlementOutcome:
    d = record.details.as_dict()
    return SettlementOutcome(serial_no=record.serial_no, status=record.status, contract_no=d["contract_no"],
                             amount=int(record.amount), principal=int(d["principal"]), interest=int(d["interest"]),
                             days=int(d["days"]), settled_on=d.get("settled_on", ""), bank=d.get("bank", ""),
                             repay_account=d.get("repay_account", ""), bank_serial=d.get("bank_serial", ""))


def _settled_message(record: BusinessRecord) -> tuple[str, str]:
    o = _settlement_of(record)
    return "贷款已结清", (f"您的公积金贷款 {o.contract_no} 已于 {o.settled_on} 提前结清，"
                          f"还款 {money.format(o.amount)} 元（本金 {money.format(o.principal)} 元，"
                          f"利息 {money.format(o.interest)} 元）。")


def settlement_quote(loan: Loan, today: dt.date) -> tuple[int, int, int]:
    """(principal, interest, days): the remaining principal and the interest accrued since the last installment (or
    the later prepayment that paid the interest up to its day)."""
    interest, days = accrued(loan, today)
    return int(loan.balance), interest, days


def settle(*, id_number: str, contract_no: str, serial: str, now: dt.datetime) -> SettlementOutcome:
    """提前结清: the remaining principal and the accrued interest from the repayment account; the loan is settled."""
    today = _today(now)
    record, read = _resume(serial, id_number, SETTLEMENT, contract_no)
    if record is not None and record.status == "done":
        return _settlement_of(record)
    loan = _own(id_number, read)
    if record is None:
        rules.check_servicing(loan.status)
        principal, interest, days = settlement_quote(loan, today)
        record = _start(serial=serial, id_number=id_number, kind=SETTLEMENT, title="提前结清",
                        amount=principal + interest, loan=loan,
                        details={"principal": str(principal), "interest": str(interest), "days": str(days),
                                 "loan_version": str(int(loan.version or 0))}, now=now)
        if record.status == "done":
            return _settlement_of(record)
    d = record.details.as_dict()

    read = loan

    def post(bank_serial: str) -> SettlementOutcome:
        # the loan this request read (issue 18: not read again); the transaction is conditioned on its version
        loan = read
        if str(int(loan.version or 0)) != d["loan_version"] or loan.status != "normal":
            if (again := _done(serial)) is not None:
                return _settlement_of(again)
            raise payments.Refused("贷款信息已变化", errors.Conflict(
                "贷款信息已变化（如本期已还款），扣款已退回，请重新办理提前结清"))
        paid = int(loan.paid_periods or 0)
        key = paid + 1
        if any(True for _ in Repayment.query(contract_no, Repayment.period_no == key, consistent_read=True)):
            key = _free_extra_key(contract_no, paid)
        repayment = Repayment(contract_no, key, date=today.isoformat(), amount=int(record.amount),
                              principal=int(d["principal"]), interest=int(d["interest"]), penalty=0, balance_after=0,
                              source="settlement", serial_no=serial)
        actions = [Loan.balance.set(0), Loan.status.set("settled"), Loan.offset_signed.set(False),
                   Loan.offset_day.remove()]
        outcome = {"settled_on": today.isoformat(), "bank_serial": bank_serial}
        done = _commit(record, loan, actions, repayment, outcome, now, f"已结清，银行流水 {bank_serial}",
                       _settled_message)
        if done is None:
            if (again := _done(serial)) is not None:
                return _settlement_of(again)
            raise payments.Refused("贷款信息已变化", errors.Conflict("贷款信息已变化，扣款已退回，请重新办理提前结清"))
        return _settlement_of(done)

    return payments.money_in(serial=serial, payer=loan.repay_account, amount=int(record.amount), now=now, post=post,
                             declined=_declined(record, now))
