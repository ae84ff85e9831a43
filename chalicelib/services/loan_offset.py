"""Monthly offset deduction (月对冲扣划): the ``loan-offset-deduction`` job.

On each repayment day (China time) every loan with offset signed (one Query of the sparse ``offset-index`` by
repayment day; on a month's last day also the days the month does not have) pays the installment of its next
unpaid period from the borrower's HPF account:

* the installment is the first period of the loan's remaining plan (:func:`chalicelib.rules.loans.next_installment`);
* the HPF account (the borrower's normal or sealed account with the most money; a frozen account is not used)
  keeps ``withdrawals.keep_while_loan_open`` (0.01) while the loan is open, and pays at most what is above it
  (全额对冲, or 差额对冲 when short); the rest is left to the bank repayment card (the bank's entrusted debit
  collects it) and the borrower's message says how much and from which card;
* one transaction posts the ledger withdrawal (``kind="offset"``, serial ``DC<contract>-<period>``), puts the
  :class:`~chalicelib.store.loans.Repayment` of the period (``source="offset"``) and moves the loan on
  (``paid_periods``, ``balance``, conditioned on its version and on the period still being the next one).

Once per period even when run twice: a loan whose latest installment is dated this month is skipped, the serial is
derived from the contract and the period (a second posting replays), and the repayment is put only if absent.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, fanout, log, masking, money, policy
from chalicelib.rules import loans as rules
from chalicelib.services import ledger, notify
from chalicelib.store import base
from chalicelib.store.accounts import Account
from chalicelib.store.loans import EXTRA_KEY_BASE, Loan, Repayment

logger = log.get("loan_offset")
_ATTEMPTS = 5


class _Moved(Exception):
    """The loan or the account changed between our read and the write: read again."""


class _Recorded(Exception):
    """This period's repayment is already recorded."""


def due_days(today: dt.date) -> list[int]:
    """Repayment days due today: today's, and on a month's last day the later days it does not have."""
    last = calendar.monthrange(today.year, today.month)[1]
    return list(range(today.day, 32)) if today.day == last else [today.day]


def run_deduction(now: dt.datetime) -> dict:
    today = now.astimezone(clock.CHINA).date()
    counts = {"full": 0, "partial": 0, "bank_only": 0, "already": 0, "skipped": 0}
    for day in due_days(today):
        for outcome in fanout.each(lambda key: deduct(key.contract_no, today, now), Loan.offset_index.query(day)):
            counts[outcome] += 1
    log.event(logger, "offset deduction", date=today.isoformat(), **counts)
    return {"date": today.isoformat(), **counts}


def _paid_this_month(contract_no: str, today: dt.date) -> bool:
    for r in Repayment.query(contract_no, Repayment.period_no < EXTRA_KEY_BASE, scan_index_forward=False,
                             consistent_read=True, limit=1):
        return r.date[:7] == today.isoformat()[:7]
    return False


def _hpf_account(id_number: str) -> Account | None:
    usable = [a for a in Account.person_index.query(id_number) if a.status in ("normal", "sealed")]
    return max(usable, key=lambda a: (int(a.balance or 0), a.account_no)) if usable else None


def deduct(contract_no: str, today: dt.date, now: dt.datetime) -> str:
    """Pay one loan's installment due today; returns full | partial | bank_only | already | skipped."""
    keep = policy.get().withdrawals.keep_while_loan_open
    for _attempt in range(_ATTEMPTS):
        try:
            loan = Loan.get(contract_no, consistent_read=True)
        except Loan.DoesNotExist:
            return "skipped"
        paid = int(loan.paid_periods or 0)
        months_left = rules.remaining_months(int(loan.term_months), paid)
        if not loan.offset_signed or loan.status not in rules.OPEN_LOAN_STATUSES or months_left < 1 \
                or int(loan.balance or 0) <= 0:
            return "skipped"
        if _paid_this_month(contract_no, today):
            return "already"
        period_no = paid + 1
        serial = f"DC{contract_no}-{period_no:03d}"
        due = rules.next_installment(int(loan.balance), Decimal(loan.annual_rate), months_left, loan.method)
        account = _hpf_account(loan.id_number)
        available = max(0, int(account.balance or 0) - keep) if account is not None else 0
        from_hpf = min(due.payment, available)
        balance_after = int(loan.balance) - due.principal
        actions = [Loan.balance.set(balance_after), Loan.paid_periods.set(period_no),
                   Loan.version.set(int(loan.version or 0) + 1), Loan.updated_at.set(now)]
        if balance_after == 0 or period_no >= int(loan.term_months):
            actions += [Loan.status.set("settled"), Loan.offset_signed.set(False), Loan.offset_day.remove()]
        repayment = Repayment(contract_no, period_no, date=today.isoformat(), amount=due.payment,
                              principal=due.principal, interest=due.interest, penalty=0, balance_after=balance_after,
                              source="offset", serial_no=serial)

        def move_loan(tx, loan=loan, paid=paid, actions=actions) -> None:
            tx.update(Loan(contract_no), actions=actions,
                      condition=(Loan.version == int(loan.version or 0)) & (Loan.paid_periods == paid))

        def record(tx, repayment=repayment) -> None:
            tx.save(repayment, condition=Repayment.period_no.does_not_exist())

        try:
            if from_hpf > 0:
                seen = (int(account.version or 0), int(account.balance or 0))

                def unchanged(accounts, account=account, seen=seen) -> None:
                    fresh = accounts[account.account_no]
                    if (int(fresh.version or 0), int(fresh.balance or 0)) != seen:
                        raise _Changed()

                result = ledger.post(
                    [ledger.Posting(account.account_no, serial, "W", from_hpf, "offset", period=None,
                                    business_serial=contract_no, note=f"{contract_no} 第{period_no}期月对冲")],
                    now=now, actor="job:loan-offset-deduction",
                    extras=[ledger.Extra(move_loan, _Moved()), ledger.Extra(record, _Recorded())],
                    before_write=unchanged)
                if result.replayed:
                    return "already"
                balance_left = result.balances[account.account_no]
            else:
                with TransactWrite(connection=base.connection()) as tx:
                    move_loan(tx)
                    record(tx)
                balance_left = int(account.balance or 0) if account is not None else 0
        except (_Moved, _Changed, TransactWriteError):
            if _recorded(contract_no, period_no):
                return "already"
            continue
        except _Recorded:
            return "already"
        _tell(loan, period_no, due.payment, from_hpf, balance_left, serial, now)
        if from_hpf == due.payment:
            return "full"
        return "partial" if from_hpf else "bank_only"
    logger.warning("offset deduction gave up after retries", extra={"fields": {"contract": contract_no}})
    return "skipped"


class _Changed(errors.Conflict):
    pass


def _recorded(contract_no: str, period_no: int) -> bool:
    try:
        Repayment.get(contract_no, period_no, consistent_read=True)
    except Repayment.DoesNotExist:
        return False
    return True


def _tell(loan: Loan, period_no: int, payment: int, from_hpf: int, balance_left: int, serial: str,
          now: dt.datetime) -> None:
    card = masking.card(loan.repay_account)
    head = f"您的公积金贷款 {loan.contract_no} 第{period_no}期应还 {money.format(payment)} 元，"
    if from_hpf == payment:
        body = f"{head}已从公积金账户全额扣划（月对冲），公积金账户余额 {money.format(balance_left)} 元。"
    elif from_hpf > 0:
        body = (f"{head}公积金账户余额不足，已扣划 {money.format(from_hpf)} 元，其余 "
                f"{money.format(payment - from_hpf)} 元将从您的还款银行卡（{card}）扣收，请确保卡内余额充足。")
    else:
        body = (f"{head}公积金账户无可扣划余额，将从您的还款银行卡（{card}）扣收 {money.format(payment)} 元，"
                f"请确保卡内余额充足。")
    notify.citizen(loan.id_number, title="月对冲还款", body=body, kind="loan", now=now, key=serial, serial_no=serial)
