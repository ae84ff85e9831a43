"""Payments (资金结算): the two sagas of money that crosses the bank, written once for every money route.

**Money in** (:func:`money_in`: flexible 汇缴 and 补缴, loan 提前还本 and 提前结清; unit rosters and the offset's
shortfall use its steps :func:`debit` and :func:`refund`):

1. the bank debits the payer with the business serial as reference (the bank answers the same for the same
   reference, so a retry never takes the money twice); a declined debit cancels the business record;
2. the caller's ``post`` makes ONE transaction (the ledger's, or the loan's) that books the money and marks the
   record ``done``;
3. a posting that is refused (an :class:`~chalicelib.errors.ApiError`, or :class:`Refused`) is paid back to the
   payer (reference ``<serial>R``) and the record is cancelled with the reason. When the bank does not answer the
   refund, the record stays ``submitted``: a retry with the same key refunds again under the same reference.

**Money out** (:func:`money_out`: 提取 and 退出缴存提取; a reviewed withdrawal uses its step :func:`pay_out`):

1. the caller has posted the withdrawal with its record (one ledger transaction);
2. the bank pays it to the payee with the serial as reference; the ledger entry is marked paid;
3. a declined payout is reversed (:func:`reverse`: the money back to the account in one ledger transaction,
   with what the caller gives back besides) and the record is cancelled with the bank's reason.

The bank not answering is a 503 whose retry with the same ``Idempotency-Key`` resumes where it stopped.
Business records are read and moved through :mod:`chalicelib.store.business` (the repository).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

from chalicelib import clock, errors, log
from chalicelib.adapters import bank
from chalicelib.services import business, ledger
from chalicelib.store import business as records
from chalicelib.store.business import BusinessRecord

logger = log.get("payments")
T = TypeVar("T")
BANK_BUSY = "银行系统暂时无法响应，请稍后使用同一请求重试"
DECLINED = "银行拒绝交易"


class Refused(Exception):
    """Raised by a money-in ``post``: the money cannot be booked; it is refunded with ``reason`` and ``error``
    is raised to the caller."""

    def __init__(self, reason: str, error: errors.ApiError):
        super().__init__(reason)
        self.reason = reason
        self.error = error


# ---------------------------------------------------------------- the bank, behind one door


def debit(account: str, amount: int, reference: str, *, busy: str = BANK_BUSY) -> bank.BankResult:
    """The bank takes ``amount`` from ``account``; no answer is a 503 saying ``busy``."""
    return _ask("debit", account, amount, reference, busy)


def payout(account: str, amount: int, reference: str, *, busy: str = BANK_BUSY) -> bank.BankResult:
    """The bank pays ``amount`` to ``account``; no answer is a 503 saying ``busy``."""
    return _ask("payout", account, amount, reference, busy)


def _ask(op: str, account: str, amount: int, reference: str, busy: str) -> bank.BankResult:
    try:
        return getattr(bank.gateway(), op)(account, amount, reference)
    except bank.BankUnavailable:
        logger.warning("bank unavailable", extra={"fields": {"op": op, "reference": reference}})
        raise errors.ServiceUnavailable(busy) from None


def refund(account: str, amount: int, reference: str) -> bank.BankResult | None:
    """Pay back what the debit ``reference`` took (reference ``<reference>R``); None when the bank did not answer
    (the same call later refunds once: same reference)."""
    try:
        answer = bank.gateway().payout(account, amount, f"{reference}R")
    except bank.BankUnavailable:
        logger.error("refund pending: bank unavailable", extra={"fields": {"reference": reference}})
        return None
    if not answer.ok:
        logger.error("refund declined", extra={"fields": {"reference": reference}})
    return answer


# ---------------------------------------------------------------- money in


def money_in(*, serial: str, payer: str, amount: int, now: dt.datetime, post: Callable[[str], T],
             declined: Callable[[str], errors.ApiError], busy: str = BANK_BUSY) -> T:
    """Debit ``payer``, then ``post(bank_serial)``; refund when the posting is refused.

    ``declined(reason)`` is called once the record is cancelled for a declined debit (to tell the owner) and
    returns the refusal to raise."""
    answer = debit(payer, amount, serial, busy=busy)
    if not answer.ok:
        reason = answer.reason or DECLINED
        business.set_status(serial, "cancelled", now=now, opinion=reason)
        raise declined(reason)
    try:
        return post(answer.bank_serial or "")
    except Refused as refused:
        _refund_and_cancel(serial, payer, amount, now, refused.reason)
        raise refused.error from None
    except errors.ApiError as refusal:
        _refund_and_cancel(serial, payer, amount, now, refusal.message)
        raise


def _refund_and_cancel(serial: str, payer: str, amount: int, now: dt.datetime, reason: str) -> None:
    answer = refund(payer, amount, serial)
    if answer is None:
        return      # the record stays submitted: a retry with the same key refunds again (same reference)
    opinion = f"{reason}；扣款已退回" if answer.ok else f"{reason}；退款未成功，请联系公积金中心"
    records.finish(serial, "cancelled", opinion, clock.iso(now))


def declined_again(record: BusinessRecord, what: str = "扣款") -> errors.PaymentDeclined:
    """The refusal a retry of a cancelled payment answers with (the first outcome of a key is final)."""
    return errors.PaymentDeclined(f"{what}未成功：{record.opinion or DECLINED}",
                                  details={"serial_no": record.serial_no, "status": record.status})


# ---------------------------------------------------------------- money out


def money_out(record: BusinessRecord, *, to: Callable[[], tuple[str | None, int]], now: dt.datetime,
              reverse: Callable[[int, str], None], paid: Callable[[BusinessRecord], None],
              declined: Callable[[BusinessRecord, str], None],
              tell: Callable[[BusinessRecord], tuple[str, str, str]] | None = None) -> BusinessRecord:
    """Pay the posted withdrawal ``record`` and finish the record.

    ``to()`` gives the payee (None: the card is gone) and the amount posted; it is read only when there is a
    payout to make. Paid: the record is ``paid`` and ``paid(record)`` tells the owner. Declined:
    ``reverse(amount, reason)`` puts the money back, the record is ``cancelled``, ``declined(record, reason)`` tells
    the owner and a 422 is raised. A record already decided answers as it was decided.

    ``tell(record)``: the (kind, title, body) of the owner's message when paid. Given, the paid entry, the finished
    record and that message are written in one transaction (issue 18: one round trip, not three), then the SMS is
    queued; ``paid`` is called only when that transaction finds the record or the entry moved (a twin's work)."""
    if record.status in ("paid", "done"):
        return record
    if record.status == "cancelled":
        raise errors.PaymentDeclined(f"转账未成功：{record.opinion}", details={"serial_no": record.serial_no})
    ok, opinion = pay_out(record.serial_no, to(), reverse, mark=tell is None)
    if ok and tell is not None:
        done = _paid_together(record, opinion, now, tell)
        if done is not None:
            return done
        ledger.mark_paid(record.serial_no)       # the transaction found a twin's work: the steps one by one
    record = (records.finished(record.serial_no, "paid" if ok else "cancelled", opinion, clock.iso(now))
              or records.find(record.serial_no))
    if ok:
        paid(record)
        return record
    declined(record, opinion)
    raise errors.PaymentDeclined(f"转账未成功：{opinion}", details={"serial_no": record.serial_no})


def _paid_together(record: BusinessRecord, opinion: str, now: dt.datetime,
                   tell: Callable[[BusinessRecord], tuple[str, str, str]]) -> BusinessRecord | None:
    """The entry ``posted`` → ``paid``, the record ``submitted`` → ``paid`` and the owner's message in one
    transaction; the record as it is now, or None when a condition failed (nothing written)."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.services import notify
    from chalicelib.store import base
    from chalicelib.store.ledger import LedgerEntry

    decided_at = clock.iso(now)
    done = BusinessRecord.from_raw_data(record.serialize())
    done.status, done.opinion, done.decided_at = "paid", opinion, decided_at
    kind, title, body = tell(done)
    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.update(LedgerEntry(record.serial_no), actions=[LedgerEntry.status.set("paid")],
                      condition=LedgerEntry.status == "posted")
            records.finish_in(tx, record, "paid", opinion, decided_at)
            notify.message_in(tx, record.owner, title=title, body=body, kind=kind, now=now,
                              serial_no=record.serial_no)
    except TransactWriteError as exc:
        if base.condition_failed(exc):
            return None
        raise
    notify.sms(record.owner, body=body, kind=kind, now=now, key=record.serial_no)
    return done


def pay_out(serial: str, to: tuple[str | None, int], reverse: Callable[[int, str], None], *,
            mark: bool = True) -> tuple[bool, str]:
    """The bank pays the posted withdrawal ``serial`` to ``to`` = (payee, amount); (True, opinion) when paid, else
    ``reverse(amount, reason)`` and (False, reason). ``mark``: mark the entry paid here (else the caller does)."""
    payee, amount = to
    if payee is None:
        answer = bank.BankResult(ok=False, reason="收款银行卡已不存在")
    else:
        answer = payout(payee, amount, serial)
    if answer.ok:
        if mark:
            ledger.mark_paid(serial)
        return True, f"已转账，银行流水 {answer.bank_serial}"
    reason = answer.reason or DECLINED
    reverse(amount, reason)
    return False, reason


def reverse(account_no: str, serial: str, amount: int, reason: str, now: dt.datetime, *, type: str | None = None,
            updates: list | None = None, extras: Sequence[ledger.Extra] = ()) -> None:
    """The reversal of a withdrawal the bank did not pay: ``amount`` back to the account (serial ``<serial>R``),
    with the account ``updates`` and ``extras`` that give back what the withdrawal took, in one transaction."""
    ledger.post([ledger.Posting(account_no, f"{serial}R", "D", amount, "reversal", type=type, business_serial=serial,
                                note=reason, reverses=serial)],
                now=now, actor="system", updates={account_no: updates} if updates else None, extras=list(extras))
