"""Monthly offset (月对冲): signing and cancelling it (签约/解约), and the ``loan-offset-deduction`` job (扣划).

On each repayment day (China time) every loan with offset signed (one Query of the sparse ``offset-index`` by
repayment day; on a month's last day also the days the month does not have) pays its installments that have fallen
due, oldest first — arrears (逾期) before this month's:

* what a period costs: the plan's principal part (:func:`chalicelib.rules.loans.next_installment` on the remaining
  balance and months) and its interest under the policy's convention (``loans.repayment.interest``: the plan's
  monthly interest, or ``balance × rate / 360 × days`` since the previous due date,
  :func:`chalicelib.rules.loans.charged_interest`), plus penalty interest (罚息) when it is paid after its due date
  (``overdue × rate / 360 × penalty_factor × days late``);
* who pays: the HPF account (the borrower's normal or sealed account with the most money; a frozen account is not
  used) keeps ``withdrawals.keep_while_loan_open`` (0.01) while the loan is open and pays at most what is above it;
  the shortfall is debited from the loan's repayment bank account through the bank gateway. The split is decided
  once per period and day and kept (``state`` item ``offset#<contract>#<period>``, sk the date) so a retry debits
  the same amount under the same reference ``DK<contract>-<period>-<yyyymmdd>`` (the bank answers the same for
  the same reference: never twice);
* one transaction posts the ledger withdrawal (``kind="offset"``, serial ``DC<contract>-<period>``), puts the
  :class:`~chalicelib.store.loans.Repayment` (``source="offset"``, ``from_hpf``, ``from_bank``, ``penalty``) and moves
  the loan on (``paid_periods``, ``balance``, arrears cleared; conditioned on its version and period);
* the bank declines: nothing is recorded as paid; the loan becomes ``overdue`` with its ``arrears`` and
  ``overdue_since`` and the borrower is told. The next repayment day collects it first, with its penalty;
* bank-debited money that cannot be posted (the HPF account no longer covers its part, or the loan changed so the
  figures no longer hold) is paid back to the card (reference ``…R``) and the installment is left unpaid.

Idempotent: a period already recorded is skipped, the split and the bank reference are fixed per day, the ledger
serial is derived from the contract and the period (a second posting replays), the repayment is put only if absent,
and the messages are keyed by serial.

Fanned out across workers (:mod:`chalicelib.jobs_fanout`, issue 18): one run per China date
(``job#loan-offset-deduction#<date>``, ``state`` table). Its keys are ``"<due day:02d>#<contract_no>"`` over the
day's due days (:func:`due_days`), so they sort as the ``offset-index`` reads them (day, then contract); the
coordinator cuts them into ``GJJ_JOB_SHARDS`` key ranges and each worker deducts its range :data:`PAGE` loans at a
time (side by side, :func:`chalicelib.fanout.run_all`), checkpointing the last key and the page's outcome counts.
A loan whose bank did not answer (``pending``) is written down (``state`` item ``offset-pending#<date>``, sk the
contract); each later firing that day (:00/:15/:30/:45) deducts again only the loans written down before it
began, and crosses off each whose outcome is no longer pending. A loan already collected is not read again: once
the day's run is done a firing reads the run item and the (usually empty) pending list, nothing more.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, fanout, jobs_fanout, log, masking, money, policy
from chalicelib.rules import loans as rules
from chalicelib.services import business, ledger, notify, payments
from chalicelib.services.ledger import serial as ledger_serial
from chalicelib.services.loan_services import loan_of
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem
from chalicelib.store.loans import Loan, Repayment

logger = log.get("loan_offset")
JOB = "loan-offset-deduction"
PAGE = 100                 # loans read per Query and per checkpoint
PENDING_DAYS = 3           # a pending marker outlives its day by this much (TTL), for the operator to look at
OUTCOMES = ("full", "partial", "bank_only", "overdue", "pending", "already", "skipped")
_ATTEMPTS = 5
_MAX_PERIODS = 12          # periods one loan may catch up in one run (arrears first)
PAID = ("full", "partial", "bank_only")
OFFSET = "loan_offset"     # the 业务明细 kind of a signing or cancelling


class _Moved(Exception):
    """The loan or the account changed between our read and the write: read again."""


class _Recorded(Exception):
    """This period's repayment is already recorded."""


class _Short(errors.Conflict):
    """The HPF account no longer covers the part of the installment decided for it."""


def due_days(today: dt.date) -> list[int]:
    """Repayment days due today: today's, and on a month's last day the later days it does not have."""
    last = calendar.monthrange(today.year, today.month)[1]
    return list(range(today.day, 32)) if today.day == last else [today.day]


def run_key(today: dt.date) -> str:
    """The day's run item (``state`` table, sk ``-``)."""
    return f"job#{JOB}#{today.isoformat()}"


def pending_key(today: dt.date) -> str:
    """The day's loans whose bank did not answer (``state`` items, sk the contract number)."""
    return f"offset-pending#{today.isoformat()}"


def run_deduction(now: dt.datetime) -> dict:
    """The scheduled function: the coordinator of the day's run (locally it also drains the shards' queue), then
    the loans left pending by an earlier firing today, and only those."""
    today = now.astimezone(clock.CHINA).date()
    waiting = list(StateItem.query(pending_key(today), consistent_read=True))   # before this firing's own
    out = jobs_fanout.start(FANOUT, now)
    if waiting:
        retried = {k: 0 for k in OUTCOMES}
        for outcome in fanout.each(lambda item: _retry(item, today, now), waiting):
            retried[outcome] += 1
        for k, n in retried.items():
            out[k] = out.get(k, 0) + n
        out["retried"] = len(waiting)
        log.event(logger, "offset deduction retried", date=today.isoformat(), **retried)
    return out


def _retry(item: StateItem, today: dt.date, now: dt.datetime) -> str:
    outcome = deduct(item.sk, today, now)
    if outcome != "pending":
        item.delete()
    return outcome


def _plan(now: dt.datetime) -> jobs_fanout.Plan:
    today = now.astimezone(clock.CHINA).date()
    return jobs_fanout.Plan(run_key(today), {"date": today.isoformat(), "days": due_days(today)})


def _key(day: int, contract_no: str) -> str:
    return f"{day:02d}#{contract_no}"


def _keys(context: dict) -> Iterator[str]:
    """Every loan due today, in key order (keys only), streamed once by the coordinator to cut the shards."""
    return (_key(int(day), k.contract_no) for day in context["days"] for k in Loan.offset_index.query(int(day)))


def _keys_after(days: list[int], after: str | None, limit: int) -> list[str]:
    """Up to ``limit`` keys after ``after`` in key order, from the ``offset-index`` of each due day in turn."""
    out: list[str] = []
    start_day = int(after[:2]) if after is not None else None
    for day in days:
        if start_day is not None and day < start_day:
            continue
        condition = Loan.contract_no > after[3:] if after is not None and day == start_day else None
        out += [_key(day, k.contract_no) for k in Loan.offset_index.query(day, condition, limit=limit - len(out))]
        if len(out) >= limit:
            break
    return out


def _page(context: dict, shard: jobs_fanout.Shard, now: dt.datetime) -> jobs_fanout.Page:
    """The next :data:`PAGE` loans of the shard's range, deducted side by side, the pending ones written down, and
    the page checkpointed with its outcome counts."""
    today = dt.date.fromisoformat(context["date"])
    read = _keys_after([int(d) for d in context["days"]], shard.after, PAGE)
    keys, reached_end = shard.within(read)
    if not keys:
        return jobs_fanout.Page(None, more=False)
    contracts = [k.split("#", 1)[1] for k in keys]
    outcomes = fanout.run_all(lambda contract_no: deduct(contract_no, today, now), contracts)
    for contract_no, outcome in zip(contracts, outcomes, strict=True):
        if outcome == "pending":
            StateItem(pending_key(today), contract_no, status="pending", updated_at=clock.iso(now),
                      ttl=now + dt.timedelta(days=PENDING_DAYS)).save()
    counts = jobs_fanout.tally(outcomes)
    paid = sum(counts.get(k, 0) for k in PAID)
    jobs_fanout.checkpoint(shard, keys[-1], paid, 0, now, counts=counts)
    return jobs_fanout.Page(keys[-1], paid, 0, more=not reached_end and len(read) == PAGE, counts=counts)


def _finished(context: dict, totals: dict, now: dt.datetime) -> None:
    log.event(logger, "offset deduction", date=context["date"], **jobs_fanout.by_outcome(totals, OUTCOMES))


def _summary(context: dict, totals: dict | None) -> dict:
    out: dict = {"date": context["date"]}
    if totals is not None:
        out.update(jobs_fanout.by_outcome(totals, OUTCOMES))
    return out


FANOUT = jobs_fanout.FanoutJob(JOB, plan=_plan, keys=_keys, page=_page, finished=_finished, summary=_summary)


def _hpf_account(id_number: str) -> Account | None:
    usable = [a for a in Account.person_index.query(id_number) if a.status in ("normal", "sealed")]
    return max(usable, key=lambda a: (int(a.balance or 0), a.account_no)) if usable else None


def deduct(contract_no: str, today: dt.date, now: dt.datetime) -> str:
    """Collect a loan's installments due by today, arrears first.

    Returns the outcome of the last period it worked on: full | partial | bank_only (paid), overdue (the bank
    declined), pending (the bank did not answer: the next firing goes on), already (nothing due), skipped."""
    outcome = "already"
    for _ in range(_MAX_PERIODS):
        step = _collect(contract_no, today, now)
        if step == "already" and outcome in PAID:
            break
        outcome = step
        if step not in PAID:
            break
    return outcome


# ---------------------------------------------------------------- one period


def _figures(loan: Loan, period_no: int, due: dt.date, today: dt.date) -> dict[str, int]:
    """principal, interest, penalty and total of period ``period_no`` of ``loan`` collected ``today``."""
    cfg = policy.get().loans
    rate = Decimal(loan.annual_rate)
    paid = int(loan.paid_periods or 0)
    plan = rules.next_installment(int(loan.balance), rate, rules.remaining_months(int(loan.term_months), paid),
                                  loan.method)
    start = rules.due_on(dt.date.fromisoformat(loan.disbursed_on), period_no - 1, int(loan.repayment_day))
    interest_from = max(start, dt.date.fromisoformat(loan.interest_paid_to)) if loan.interest_paid_to else start
    interest = rules.charged_interest(int(loan.balance), rate, plan.interest, cfg.repayment.interest, interest_from,
                                      due, start, cfg.settlement.days_per_year)
    penalty = rules.penalty_interest(plan.principal + interest, rate, (today - due).days,
                                     cfg.repayment.penalty_factor, cfg.settlement.days_per_year)
    return {"principal": plan.principal, "interest": interest, "penalty": penalty,
            "total": plan.principal + interest + penalty}


def _intent(contract_no: str, period_no: int, today: dt.date, figures: dict[str, int], available: int,
            version: int, now: dt.datetime) -> StateItem:
    """The split of this period's collection today, decided once (a retry reads it back; kept 400 days)."""
    from_hpf = min(figures["total"], available)
    item = StateItem(f"offset#{contract_no}#{period_no:03d}", today.isoformat(), status="open",
                     ttl=now + dt.timedelta(days=400),
                     data={**{k: str(v) for k, v in figures.items()}, "from_hpf": str(from_hpf),
                           "from_bank": str(figures["total"] - from_hpf), "loan_version": str(version)})
    try:
        item.save(condition=StateItem.pk.does_not_exist())
        return item
    except PutError:
        return StateItem.get(item.pk, item.sk, consistent_read=True)


def _mark(intent: StateItem, status: str) -> None:
    intent.update(actions=[StateItem.status.set(status)])


def _collect(contract_no: str, today: dt.date, now: dt.datetime) -> str:
    try:
        loan = Loan.get(contract_no, consistent_read=True)
    except Loan.DoesNotExist:
        return "skipped"
    paid = int(loan.paid_periods or 0)
    if not loan.offset_signed or loan.status not in rules.OPEN_LOAN_STATUSES \
            or rules.remaining_months(int(loan.term_months), paid) < 1 or int(loan.balance or 0) <= 0:
        return "skipped"
    period_no = paid + 1
    due = rules.due_on(dt.date.fromisoformat(loan.disbursed_on), period_no, int(loan.repayment_day))
    if due > today or _recorded(contract_no, period_no):
        return "already"
    keep = policy.get().withdrawals.keep_while_loan_open
    account = _hpf_account(loan.id_number)
    available = max(0, int(account.balance or 0) - keep) if account is not None else 0
    intent = _intent(contract_no, period_no, today, _figures(loan, period_no, due, today), available,
                     int(loan.version or 0), now)
    if intent.status in ("declined", "refunded"):
        return "already"
    d = {k: int(v) for k, v in intent.data.as_dict().items()}
    reference = f"DK{contract_no}-{period_no:03d}-{today:%Y%m%d}"
    bank_serial = ""
    if d["from_bank"] > 0:
        try:
            answer = payments.debit(loan.repay_account, d["from_bank"], reference)
        except errors.ServiceUnavailable:
            return "pending"        # the bank did not answer: the next firing debits again (same reference)
        if not answer.ok:
            _overdue(contract_no, period_no, due, d, answer.reason or "银行拒绝交易", now)
            _mark(intent, "declined")
            return "overdue"
        bank_serial = answer.bank_serial or ""
    result = _post(contract_no, period_no, today, due, d, intent, account, bank_serial, now)
    if result in ("refund", "short"):
        if d["from_bank"] > 0:
            payments.refund(loan.repay_account, d["from_bank"], reference)
        _mark(intent, "refunded")
        if result == "short":
            _overdue(contract_no, period_no, due, d, "公积金账户余额已变动", now)
            return "overdue"
        return "skipped"
    return result


def _post(contract_no: str, period_no: int, today: dt.date, due: dt.date, d: dict[str, int], intent: StateItem,
          account: Account | None, bank_serial: str, now: dt.datetime) -> str:
    """Record the period as paid (HPF posting, repayment, loan) in one transaction; retried on races."""
    keep = policy.get().withdrawals.keep_while_loan_open
    serial = f"DC{contract_no}-{period_no:03d}"
    for _attempt in range(_ATTEMPTS):
        loan = Loan.get(contract_no, consistent_read=True)
        paid = int(loan.paid_periods or 0)
        if paid >= period_no or _recorded(contract_no, period_no):
            return "already"
        if str(int(loan.version or 0)) != intent.data.as_dict()["loan_version"]:
            fresh = _figures(loan, period_no, due, today) if loan.status in rules.OPEN_LOAN_STATUSES else {}
            if any(fresh.get(k) != d[k] for k in ("principal", "interest", "penalty")):
                return "refund"        # a prepayment or settlement changed what this period costs
        balance_after = int(loan.balance) - d["principal"]
        actions = [Loan.balance.set(balance_after), Loan.paid_periods.set(period_no),
                   Loan.version.set(int(loan.version or 0) + 1), Loan.updated_at.set(now),
                   Loan.arrears.remove(), Loan.overdue_since.remove()]
        if balance_after == 0 or period_no >= int(loan.term_months):
            actions += [Loan.status.set("settled"), Loan.offset_signed.set(False), Loan.offset_day.remove()]
        elif loan.status == "overdue":
            actions.append(Loan.status.set("normal"))       # arrears paid; a later period's decline marks it again
        repayment = Repayment(contract_no, period_no, date=today.isoformat(), amount=d["total"],
                              principal=d["principal"], interest=d["interest"], penalty=d["penalty"],
                              balance_after=balance_after, source="offset", serial_no=serial,
                              from_hpf=d["from_hpf"], from_bank=d["from_bank"])

        def move_loan(tx, loan=loan, paid=paid, actions=actions) -> None:
            tx.update(Loan(contract_no), actions=actions,
                      condition=(Loan.version == int(loan.version or 0)) & (Loan.paid_periods == paid))

        def record(tx, repayment=repayment) -> None:
            tx.save(repayment, condition=Repayment.period_no.does_not_exist())

        try:
            if d["from_hpf"] > 0:
                if account is None:
                    return "short"

                def covers(accounts, account=account) -> None:
                    fresh = accounts[account.account_no]
                    if fresh.status not in ("normal", "sealed") or int(fresh.balance or 0) - keep < d["from_hpf"]:
                        raise _Short("公积金账户余额已变动")

                result = ledger.post(
                    [ledger.Posting(account.account_no, serial, "W", d["from_hpf"], "offset", period=None,
                                    business_serial=contract_no, note=f"{contract_no} 第{period_no}期月对冲")],
                    now=now, actor="job:loan-offset-deduction",
                    extras=[ledger.Extra(move_loan, _Moved()), ledger.Extra(record, _Recorded())],
                    before_write=covers)
                if result.replayed:
                    return "already"
                balance_left = result.balances[account.account_no]
            else:
                with TransactWrite(connection=base.connection()) as tx:
                    move_loan(tx)
                    record(tx)
                balance_left = int(account.balance or 0) if account is not None else 0
        except _Short:
            return "short"
        except (_Moved, TransactWriteError):
            if _recorded(contract_no, period_no):
                return "already"
            continue
        except _Recorded:
            return "already"
        _tell_paid(loan, period_no, d, balance_left, bank_serial, serial, now)
        if d["from_bank"] == 0:
            return "full"
        return "partial" if d["from_hpf"] else "bank_only"
    if _recorded(contract_no, period_no):
        return "already"
    logger.warning("offset deduction gave up after retries", extra={"fields": {"contract": contract_no}})
    return "refund"


def _overdue(contract_no: str, period_no: int, due: dt.date, d: dict[str, int], reason: str,
             now: dt.datetime) -> None:
    """The installment was not collected: the loan shows it as arrears (逾期) and the borrower is told."""
    for _attempt in range(_ATTEMPTS):
        loan = Loan.get(contract_no, consistent_read=True)
        if int(loan.paid_periods or 0) >= period_no or loan.status not in rules.OPEN_LOAN_STATUSES:
            return
        arrears = d["principal"] + d["interest"] + _later_due(loan, period_no, now)
        try:
            loan.update(actions=[Loan.status.set("overdue"), Loan.arrears.set(arrears),
                                 Loan.overdue_since.set(loan.overdue_since or due.isoformat()),
                                 Loan.version.set(int(loan.version or 0) + 1), Loan.updated_at.set(now)],
                        condition=Loan.version == int(loan.version or 0))
        except UpdateError:
            continue            # a concurrent change: read again
        break
    else:
        return
    factor = policy.get().loans.repayment.penalty_factor
    card = masking.card(loan.repay_account)
    notify.citizen(loan.id_number, title="贷款逾期提醒",
                   body=f"您的公积金贷款 {contract_no} 第{period_no}期（应还日 {due.isoformat()}）应还 "
                        f"{money.format(arrears)} 元未能扣收：还款银行卡（{card}）{reason}。该期已逾期，自应还日起按"
                        f"日利率的 {factor} 倍计收罚息，请尽快存入足额款项，下一还款日将优先扣收逾期款项。",
                   kind="loan", now=now, key=f"DK{contract_no}-{period_no:03d}-{now.astimezone(clock.CHINA):%Y%m%d}",
                   serial_no=f"DC{contract_no}-{period_no:03d}")


def _later_due(loan: Loan, period_no: int, now: dt.datetime) -> int:
    """Principal and interest (plan figures) of the periods after ``period_no`` already due today: they are overdue
    too while ``period_no`` is (a run collects periods in order and stops at the first it cannot collect)."""
    today = now.astimezone(clock.CHINA).date()
    start, day = dt.date.fromisoformat(loan.disbursed_on), int(loan.repayment_day)
    left = rules.remaining_months(int(loan.term_months), period_no - 1)
    plan = rules.schedule(int(loan.balance), Decimal(loan.annual_rate), left, loan.method).periods
    return sum(p.payment for p in plan[1:] if rules.due_on(start, period_no + p.period_no - 1, day) <= today)


def _recorded(contract_no: str, period_no: int) -> bool:
    try:
        Repayment.get(contract_no, period_no, consistent_read=True)
    except Repayment.DoesNotExist:
        return False
    return True


def _tell_paid(loan: Loan, period_no: int, d: dict[str, int], balance_left: int, bank_serial: str, serial: str,
               now: dt.datetime) -> None:
    card = masking.card(loan.repay_account)
    head = f"您的公积金贷款 {loan.contract_no} 第{period_no}期已还款 {money.format(d['total'])} 元"
    if d["penalty"]:
        head += f"（含逾期罚息 {money.format(d['penalty'])} 元）"
    if d["from_bank"] == 0:
        body = f"{head}，已从公积金账户全额扣划（月对冲），公积金账户余额 {money.format(balance_left)} 元。"
    elif d["from_hpf"] > 0:
        body = (f"{head}：公积金账户余额不足，扣划 {money.format(d['from_hpf'])} 元，其余 "
                f"{money.format(d['from_bank'])} 元已从您的还款银行卡（{card}）扣收（银行流水 {bank_serial}）。")
    else:
        body = (f"{head}：公积金账户无可扣划余额，已从您的还款银行卡（{card}）扣收 "
                f"{money.format(d['from_bank'])} 元（银行流水 {bank_serial}）。")
    notify.citizen(loan.id_number, title="月对冲还款", body=body, kind="loan", now=now, key=serial, serial_no=serial)


# ---------------------------------------------------------------- 月对冲签约/解约


def set_offset(*, id_number: str, contract_no: str, signed: bool, now: dt.datetime) -> Loan:
    """Sign or cancel monthly offset: on each repayment day the installment is paid from the HPF balance."""
    cfg = policy.get().loans.offset
    loan = loan_of(id_number, contract_no)
    if bool(loan.offset_signed) == signed:
        return loan
    if signed:
        if loan.status not in rules.OPEN_LOAN_STATUSES:
            raise errors.NotEligible("贷款不在还款期，不能签订月对冲", details={"reason": "loan_status"})
        if int(loan.paid_periods or 0) < cfg.min_periods_paid:
            raise errors.NotEligible(f"须正常还款满 {cfg.min_periods_paid} 期后方可签订月对冲",
                                     details={"reason": "min_periods_paid"})
        if not [a for a in Account.person_index.query(id_number) if a.status in ("normal", "sealed")]:
            raise errors.NotEligible("您没有可用于对冲还款的公积金账户", details={"reason": "no_account"})
        actions = [Loan.offset_signed.set(True), Loan.offset_day.set(int(loan.repayment_day))]
    else:
        actions = [Loan.offset_signed.set(False), Loan.offset_day.remove()]
    title = "月对冲签约" if signed else "月对冲解约"
    serial = ledger_serial("YD", now)
    record = business.new_record(serial_no=serial, owner=id_number, kind=OFFSET, type="sign" if signed else "cancel",
                                 title=title, now=now, review=False, status="done",
                                 details={"contract_no": contract_no})
    record.decided_at = clock.iso(now)
    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.update(Loan(contract_no), actions=[*actions, Loan.version.set(int(loan.version or 0) + 1),
                                                  Loan.updated_at.set(now)],
                      condition=Loan.version == int(loan.version or 0))
            records.submit_in(tx, record)
    except TransactWriteError:
        fresh = loan_of(id_number, contract_no)
        if bool(fresh.offset_signed) == signed:
            return fresh
        raise errors.Conflict("贷款信息已变化，请刷新后重试") from None
    if signed:
        body = (f"您的公积金贷款 {contract_no} 已签订月对冲，每月 {int(loan.repayment_day)} 日"
                f"从公积金账户扣划当期还款，余额不足部分从还款银行卡扣收。")
    else:
        body = f"您的公积金贷款 {contract_no} 已解除月对冲，请按月向还款银行卡存入足额还款。"
    notify.citizen(id_number, title=f"{title}成功", body=body, kind="loan", now=now, key=serial, serial_no=serial)
    return loan_of(id_number, contract_no)
