"""Flexible-employment payments (灵活就业 汇缴 and 补缴) and the remittance window (汇缴时间).

The window is one state item (``window#remittance``) opened and closed by the scheduled functions
``open-remittance-window`` / ``close-remittance-window``. Requests read it through a short in-process
cache (``flexible.window_cache_seconds``) to answer quickly, but a payment is decided by the item
itself: the ledger transaction carries a condition check "open, and opened today", so a payment that
races the closing at 17:00 is refused whole, whatever the cache said.

A payment is the money-in saga of :mod:`chalicelib.services.payments`, keyed by its serial (derived from the
``Idempotency-Key``):

1. a business record ``submitted`` is saved (the serial is now taken);
2. the bank debits the card with the serial as reference (same reference, same answer);
3. one ledger transaction credits the month(s), moves ``paid_through``, marks the record ``done``,
   and checks the window.

A retry with the same key resumes where the first stopped. A declined debit leaves no ledger trace,
only the record ``cancelled`` with the bank's reason. A debit whose posting is then refused (the
window closed meanwhile, the month paid by a concurrent request) is refunded to the card.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

from chalicelib import clock, errors, fanout, jobs_fanout, log, masking, money, policy
from chalicelib.rules import flexible as flex_rules
from chalicelib.rules import remittance as rules
from chalicelib.services import business, cards, ledger, notify, payments
from chalicelib.services.ledger import Extra, Posting
from chalicelib.store import business as records
from chalicelib.store.accounts import Account
from chalicelib.store.base import condition_failed
from chalicelib.store.business import BusinessRecord
from chalicelib.store.cards import BankCard
from chalicelib.store.kv import StateItem

logger = log.get("remittance")
WINDOW_PK = "window#remittance"

# ---------------------------------------------------------------- the window


@dataclass(frozen=True)
class WindowState:
    status: str          # open | closed
    window_id: str | None


_cache: dict[str, tuple[float, WindowState]] = {}


def read_window(*, fresh: bool = False) -> WindowState:
    ttl = policy.get().flexible.window_cache_seconds
    hit = _cache.get(WINDOW_PK)
    if hit and not fresh and time.monotonic() - hit[0] < ttl:
        return hit[1]
    try:
        item = StateItem.get(WINDOW_PK, "-", consistent_read=True)
        state = WindowState(item.status or "closed", item.value)
    except StateItem.DoesNotExist:
        state = WindowState("closed", None)
    _cache[WINDOW_PK] = (time.monotonic(), state)
    return state


def reset_cache() -> None:
    _cache.clear()


def is_open(now: dt.datetime, *, fresh: bool = False) -> bool:
    """Open by the policy's hours AND by the state item (as this process last read it)."""
    if not rules.window_open(now, policy.get().flexible.remittance_window):
        return False
    state = read_window(fresh=fresh)
    return state.status == "open" and state.window_id == rules.window_id(now)


def _set_window(status: str, now: dt.datetime) -> bool:
    wid = rules.window_id(now) if status == "open" else None
    current = read_window(fresh=True)
    if current.status == status and (status == "closed" or current.window_id == wid):
        return False
    actions = [StateItem.status.set(status), StateItem.updated_at.set(clock.iso(now)), StateItem.version.add(1)]
    actions.append(StateItem.value.set(wid) if wid else StateItem.value.remove())
    StateItem(WINDOW_PK, "-").update(actions=actions)
    reset_cache()
    return True


def open_window(now: dt.datetime) -> dict:
    """``open-remittance-window``: open today's window if the policy's hours say it is open now."""
    if not rules.window_open(now, policy.get().flexible.remittance_window):
        return {"opened": False, "reason": "outside the policy window"}
    changed = _set_window("open", now)
    log.event(logger, "remittance window", action="open", changed=changed)
    return {"opened": changed, "window": rules.window_id(now)}


def close_window(now: dt.datetime) -> dict:
    """``close-remittance-window``: close the window unless the policy's hours say it is still open."""
    if rules.window_open(now, policy.get().flexible.remittance_window):
        return {"closed": False, "reason": "inside the policy window"}
    changed = _set_window("closed", now)
    log.event(logger, "remittance window", action="close", changed=changed)
    return {"closed": changed}


def window_view(now: dt.datetime) -> dict:
    opens, closes = rules.window_bounds(now, policy.get().flexible.remittance_window)
    return {"open": is_open(now), "opens_at": clock.iso(opens), "closes_at": clock.iso(closes)}


def _window_check(now: dt.datetime) -> Extra:
    wid = rules.window_id(now)

    def apply(tx) -> None:
        tx.condition_check(StateItem, WINDOW_PK, "-",
                           condition=(StateItem.status == "open") & (StateItem.value == wid))

    return Extra(apply, errors.WindowClosed(_closed_message()))


def _closed_message() -> str:
    w = policy.get().flexible.remittance_window
    return f"当前不在办理时间内（每月 {w.first_day}-{w.last_day} 日 {w.opens_at:%H:%M}-{w.closes_at:%H:%M}）"


def _require_open(now: dt.datetime) -> None:
    if not is_open(now):
        raise errors.WindowClosed(_closed_message(), details=window_view(now))


# ---------------------------------------------------------------- the account


def flexible_account(id_number: str) -> Account:
    """The person's flexible account (the newest one not closed), else 422."""
    found = [a for a in Account.person_index.query(id_number) if a.kind == "flexible" and a.status != "closed"]
    if not found:
        raise errors.NotEligible("您没有灵活就业缴存账户")
    return sorted(found, key=lambda a: a.opened_on)[-1]


def history_of(acct: Account) -> tuple[rules.MonthlyTerms, ...]:
    """The account's amount/base history as the rules read it (oldest first; empty when never changed)."""
    return tuple(rules.MonthlyTerms(from_period=t.from_period, amount=int(t.amount), base=_int(t.base),
                                    ratio_unit=t.ratio_unit, ratio_person=t.ratio_person)
                 for t in (acct.terms_history or []))


def _int(value) -> int | None:
    return None if value is None else int(value)


def due_of(acct: Account, now: dt.datetime) -> rules.Due:
    """What the account can pay now: the rule POST /v1/flexible/remittances applies, as a quote."""
    return rules.remittance_due(now=now, status=acct.status, paid_through=acct.paid_through, opened_on=acct.opened_on,
                                monthly_amount=int(acct.monthly_amount or 0), rules=policy.get().flexible.back_payment,
                                history=history_of(acct))


def remittance_view(id_number: str, now: dt.datetime) -> dict:
    acct = flexible_account(id_number)
    due = due_of(acct, now)
    return {"period": due.period, "amount": due.amount, "window": window_view(now),
            "paid_through": acct.paid_through, "account_status": acct.status, "due": due.state,
            "message": due.message, "from_period": due.from_period, "back_payment": due.back_payment}


# ---------------------------------------------------------------- payments in


@dataclass(frozen=True)
class Payment:
    serial_no: str
    kind: str
    periods: tuple[str, ...]
    amount: int
    balance: int
    paid_through: str
    status: str
    paid_at: str


def _payment_of(record: BusinessRecord) -> Payment:
    from chalicelib.store.ledger import LedgerEntry

    d = record.details.as_dict() if record.details else {}
    periods = tuple(d.get("periods", "").split(","))
    last = record.serial_no if len(periods) == 1 else f"{record.serial_no}-{periods[-1]}"
    try:
        balance = int(LedgerEntry.get(last, consistent_read=True).balance_after)
    except LedgerEntry.DoesNotExist:
        balance = 0
    return Payment(serial_no=record.serial_no, kind=record.kind, periods=periods, amount=int(record.amount or 0),
                   balance=balance, paid_through=d.get("end_period", ""), status=record.status,
                   paid_at=record.decided_at or record.submitted_at)


def remit(*, id_number: str, period: str, card_id: str, serial: str, now: dt.datetime, actor: str,
          source: str | None = None) -> Payment:
    """汇缴: pay this month's amount for ``period`` from a bound card."""
    return _pay(kind="remittance", id_number=id_number, card_id=card_id, serial=serial, now=now, actor=actor,
                source=source, plan=lambda acct: _remit_plan(acct, period, now))


def back_pay(*, id_number: str, end_period: str, card_id: str, serial: str, now: dt.datetime, actor: str,
             source: str | None = None) -> Payment:
    """补缴: pay every unpaid month up to ``end_period``."""
    return _pay(kind="back_payment", id_number=id_number, card_id=card_id, serial=serial, now=now, actor=actor,
                source=source, plan=lambda acct: _backpay_plan(acct, end_period, now))


def quote(id_number: str, end_period: str, now: dt.datetime) -> rules.BackPaymentQuote:
    acct = flexible_account(id_number)
    flex_rules.check_depositing(acct.kind, acct.status)
    return _backpay_plan(acct, end_period, now)


def _remit_plan(acct: Account, period: str, now: dt.datetime) -> rules.BackPaymentQuote:
    rules.check_remittance(period=period, now=now, paid_through=acct.paid_through, opened_on=acct.opened_on)
    amount = rules.amounts_for((period,), history_of(acct), int(acct.monthly_amount or 0))[0]
    if amount <= 0:
        raise errors.NotEligible("月缴存额未设定，请到网点办理")
    return rules.BackPaymentQuote(from_period=period, end_period=period, months=1, amount=amount, periods=(period,),
                                  amounts=(amount,))


def _backpay_plan(acct: Account, end_period: str, now: dt.datetime) -> rules.BackPaymentQuote:
    return rules.quote_back_payment(end_period=end_period, now=now, paid_through=acct.paid_through,
                                    opened_on=acct.opened_on, monthly_amount=int(acct.monthly_amount or 0),
                                    rules=policy.get().flexible.back_payment, history=history_of(acct))


TITLES = {"remittance": "汇缴", "back_payment": "补缴"}
LEDGER_KIND = {"remittance": "remit", "back_payment": "backpay"}


def _pay(*, kind: str, id_number: str, card_id: str, serial: str, now: dt.datetime, actor: str,
         source: str | None, plan) -> Payment:
    # the record of a retry and the card asked for, in one round trip (issue 18); the card is judged where it was
    record, (asked_card,) = records.find_own_with(serial, id_number, None, (BankCard, id_number, card_id))
    if record is not None:
        if record.status == "done":
            return _payment_of(record)
        if record.status == "cancelled":
            raise payments.declined_again(record)
        details = record.details.as_dict()
        acct = Account.get(record.account_no, consistent_read=True)
        months = tuple(details["periods"].split(","))
        amounts = (tuple(int(a) for a in details["amounts"].split(",")) if details.get("amounts")
                   else tuple(_split(int(record.amount), len(months))))     # a record written before item 5
        q = rules.BackPaymentQuote(from_period=details["from_period"], end_period=details["end_period"],
                                   months=int(details["months"]), amount=int(record.amount), periods=months,
                                   amounts=amounts)
        card = cards.card_of(id_number, details["card_id"])
        expected_paid_through = details.get("paid_through_before") or None
    else:
        acct = flexible_account(id_number)
        flex_rules.check_depositing(acct.kind, acct.status)
        _require_open(now)
        q = plan(acct)
        card = cards.bound(asked_card)
        expected_paid_through = acct.paid_through
        record = business.new_record(
            serial_no=serial, owner=id_number, kind=kind, title=TITLES[kind], now=now, review=False,
            amount=q.amount, account_no=acct.account_no,
            details={"from_period": q.from_period, "end_period": q.end_period, "months": q.months,
                     "periods": ",".join(q.periods), "amounts": ",".join(str(a) for a in q.amounts),
                     "card_id": card.card_id, "card": masking.card(card.card_no),
                     "paid_through_before": acct.paid_through or ""})
        record = records.submit(record)
        if record.status != "submitted":     # a concurrent twin finished first
            return _pay(kind=kind, id_number=id_number, card_id=card_id, serial=serial, now=now, actor=actor,
                        source=source, plan=plan)

    def declined(reason: str) -> errors.ApiError:
        notify.citizen(id_number, title=f"{TITLES[kind]}未成功", body=f"您的{TITLES[kind]}扣款未成功：{reason}",
                       kind="payment", now=now, key=serial, serial_no=serial)
        return errors.PaymentDeclined(f"扣款未成功：{reason}", details={"serial_no": serial, "status": "cancelled"})

    what = TITLES[kind]
    span = q.end_period if q.months == 1 else f"{q.from_period}-{q.end_period}"

    def told(balance: int) -> str:
        return (f"您已{what} {span} 共 {q.months} 个月，金额 {money.format(q.amount)} 元，"
                f"账户余额 {money.format(balance)} 元。")

    planned: dict[str, int] = {}

    def still_due(accounts: dict[str, Account]) -> None:
        fresh = accounts[acct.account_no]
        flex_rules.check_depositing(fresh.kind, fresh.status)
        if (fresh.paid_through or None) != expected_paid_through:
            raise errors.AlreadyDone(f"{q.end_period} 已缴存，无需重复缴存")
        planned["balance"] = int(fresh.balance or 0) + sum(int(a) for a in q.amounts)   # what this attempt posts

    def post(bank_serial: str) -> ledger.PostResult:
        ledger_kind = LEDGER_KIND[kind]
        suffix = len(q.periods) > 1
        postings = [Posting(acct.account_no, f"{serial}-{p}" if suffix else serial, "D", int(acct_amount),
                            ledger_kind, period=p, counterparty=bank_serial, business_serial=serial)
                    for p, acct_amount in zip(q.periods, q.amounts, strict=True)]
        done = Extra(lambda tx: records.finish_in(tx, record, "done", f"扣款成功，银行流水 {bank_serial}",
                                                  clock.iso(now)), errors.AlreadyDone())
        # the depositor's message goes with the money (issue 18: no write of its own; written once, if posted)
        message = Extra(lambda tx: notify.message_in(tx, id_number, title=f"{what}成功", body=told(planned["balance"]),
                                                     kind="payment", now=now, serial_no=serial))
        try:
            return ledger.post(postings, now=now, actor=actor, source=source,
                               updates={acct.account_no: [Account.paid_through.set(q.end_period)]},
                               extras=[_window_check(now), done, message], before_write=still_due,
                               read={acct.account_no: acct})
        except ledger.Race:
            raise payments.Refused("账户正忙", errors.Conflict("账户正忙，扣款已退回，请稍后重试")) from None

    result = payments.money_in(serial=serial, payer=card.card_no, amount=q.amount, now=now, post=post,
                               declined=declined)
    balance = result.balances[acct.account_no]
    if not result.replayed:
        notify.sms(id_number, body=told(balance), kind="payment", now=now, key=serial)
    return Payment(serial_no=serial, kind=kind, periods=q.periods, amount=q.amount, balance=balance,
                   paid_through=q.end_period, status="done", paid_at=clock.iso(now))


def _split(total: int, parts: int) -> list[int]:
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


# ---------------------------------------------------------------- reminders


REMIND_JOB = "send-remittance-reminders"
REMIND_PAGE = 200        # remit-index entries evaluated per Scan request and per checkpoint
_SEGMENT_END = "end"     # the checkpoint of a scan segment read to its end


def send_reminders(now: dt.datetime) -> dict:
    """``send-remittance-reminders`` (the 20th): flexible depositors not yet paid for this period.

    Fanned out (:mod:`chalicelib.jobs_fanout`, issue 18): the scheduled function is the coordinator of the period's
    run (``job#send-remittance-reminders#<period>``, ``state`` table). The sparse ``remit-index`` (flexible, normal
    accounts, by ``paid_through``) has many accounts per month, so its keys cannot be cut into ranges: each of the
    ``GJJ_JOB_SHARDS`` shards is a parallel-scan segment of the index itself, filtered to ``paid_through`` before
    the period. A worker reads its segment one Scan request (:data:`REMIND_PAGE` entries) at a time, reminds the
    page's depositors and checkpoints DynamoDB's LastEvaluatedKey (as JSON: the account number and the index keys,
    nothing about the person). Each person is reminded once a period (a marker item put under a condition), so a
    page done twice sends nothing more. When every segment is done the period's run is ``done`` and the later
    firings of the day answer "already done" instead of reading every unpaid account again.
    """
    out = jobs_fanout.start(FANOUT, now)
    if out.get("note") == "already done":      # the answer a done period has always given
        return {"period": out["period"], "reminded": 0, "note": "already done"}
    return out


def _remind_plan(now: dt.datetime) -> jobs_fanout.Plan:
    period = rules.period_of(now)
    return jobs_fanout.Plan(f"job#{REMIND_JOB}#{period}", {"period": period})


def _remind_page(context: dict, shard: jobs_fanout.Shard, now: dt.datetime) -> jobs_fanout.Page:
    """One Scan request of the shard's segment of the ``remit-index`` after its checkpoint, reminded and
    checkpointed. A page may hold no one due (the filter is applied after the read) and still move on."""
    if shard.cursor == _SEGMENT_END:
        return jobs_fanout.Page(None, more=False)
    period = context["period"]
    start = json.loads(shard.cursor) if shard.cursor else None
    found = Account.remit_index.scan((Account.remit_group == "flexible") & (Account.paid_through < period),
                                     segment=shard.segment, total_segments=shard.segments, page_size=REMIND_PAGE,
                                     last_evaluated_key=start)
    raw = next(found.page_iter)                 # exactly one Scan request: its LastEvaluatedKey is the checkpoint
    accounts = [Account.from_raw_data(item) for item in raw.get("Items", [])]
    after = raw.get("LastEvaluatedKey")
    if after is None and not accounts:
        return jobs_fanout.Page(None, more=False)
    reminded = sum(fanout.each(lambda acct: _remind(acct, period, now), accounts))
    cursor = json.dumps(after, sort_keys=True) if after is not None else _SEGMENT_END
    jobs_fanout.checkpoint(shard, cursor, reminded, 0, now)
    return jobs_fanout.Page(cursor, reminded, 0, more=after is not None)


def _remind_finished(context: dict, totals: dict, now: dt.datetime) -> None:
    log.event(logger, "remittance reminders", period=context["period"], reminded=totals["posted"])


def _remind_summary(context: dict, totals: dict | None) -> dict:
    out: dict = {"period": context["period"]}
    if totals is not None:
        out["reminded"] = totals["posted"]
    return out


FANOUT = jobs_fanout.FanoutJob(REMIND_JOB, plan=_remind_plan, keys=lambda context: [], page=_remind_page,
                               finished=_remind_finished, summary=_remind_summary, scan=True)


def _remind(acct: Account, period: str, now: dt.datetime) -> bool:
    """Remind one unpaid flexible depositor; False when not due one or reminded already this period.

    The reminder says what the quote of ``GET /v1/flexible/remittance`` says (``due_of``): this month's
    汇缴, or the back-payment to make first when earlier months are unpaid."""
    if acct.status != "normal" or acct.kind != "flexible":
        return False
    due = due_of(acct, now)
    if due.state not in ("remit", "back_payment_first"):
        return False
    marker = StateItem(f"reminded#remittance#{period}", acct.account_no, status="sent", updated_at=clock.iso(now))
    try:
        marker.save(condition=StateItem.pk.does_not_exist())
    except Exception as exc:  # noqa: BLE001
        if condition_failed(exc):
            return False
        raise
    w = policy.get().flexible.remittance_window
    by = f"本月 {w.last_day} 日 {w.closes_at:%H:%M} 前"
    if due.state == "remit":
        body = f"您 {period} 的住房公积金尚未缴存（{money.format(due.amount)} 元），请于{by}办理汇缴。"
    elif due.back_payment is not None:
        q = due.back_payment
        body = (f"您 {due.from_period} 起的住房公积金尚未缴存，请于{by}先办理补缴 {q.from_period}-{q.end_period}"
                f" 共 {q.months} 个月 {money.format(q.amount)} 元，再汇缴 {period}。")
    else:
        body = f"您 {due.from_period} 起的住房公积金尚未缴存，{period} 须先补缴往月，请到网点办理。"
    notify.citizen(acct.id_number, title="汇缴提醒", body=body,
                   kind="reminder", now=now, key=f"{period}#{acct.account_no}")
    return True
