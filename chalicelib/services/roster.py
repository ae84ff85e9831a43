"""Units' remittance rosters (汇缴清册), back-payments (补缴) and their payment.

A roster is computed, stored, then paid:

* **汇缴清册** (``remit``): one line per employee whose account is normal and whose first unpaid month is the
  roster's month, each share = base × ratio rounded as the policy says (:mod:`chalicelib.rules.deposits`).
  One roster per unit and month is active at a time (a claim item ``roster-claim#<unit>#<month>``); the month
  is the current one or up to ``web_halls.units.roster_months_back`` before it.
* **补缴** (``backpay``): the unit names employees and the month to pay up to; each line is one month from
  the employee's first unpaid month up to that month.

Paying (``pay``) is a saga keyed by the roster's serial, safe to run again after any failure:

1. the bank debits the roster's total from the unit's account with the roster serial as reference
   (:func:`chalicelib.services.payments.debit`; the bank answers the same for the same reference); the roster
   becomes ``paying``;
2. the lines, in their stored order, are cut into batches that fit one DynamoDB transaction
   (:func:`chalicelib.rules.deposits.batches`); each batch is ONE ledger posting that credits its lines
   (serial ``<roster>#<account>#<month>``, kind ``remit``/``backpay``, period = the month), moves each
   account's ``paid_through``, and advances the payment's progress item ``roster#<serial>``/``progress``
   from ``i`` to ``i + 1`` under a condition — so progress and credits commit together, a re-run starts at
   the first batch not committed, and a batch cannot be credited twice (its ledger serials exist);
3. a line whose month is no longer the account's next unpaid month when its batch is posted (paid meanwhile
   by another roster) is not credited; when every batch is done, what was not credited goes back to the
   unit's account (reference ``<serial>R``) and the roster is ``paid``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import clock, errors, log, money, policy
from chalicelib.rules import deposits
from chalicelib.rules import remittance as periods
from chalicelib.services import audit, business, ledger, notify, payments, remittance
from chalicelib.services.ledger import Extra, Posting
from chalicelib.services.units import employee_lines, owner, unit_of
from chalicelib.store import business as records
from chalicelib.store.accounts import Account
from chalicelib.store.base import condition_failed
from chalicelib.store.business import BusinessRecord
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.people import Person, Unit
from chalicelib.store.rosters import Roster, RosterLine

logger = log.get("roster")
REMIT, BACKPAY = "remit", "backpay"
TITLES = {REMIT: "单位汇缴", BACKPAY: "单位补缴"}
BUSINESS_KIND = {REMIT: "unit_remittance", BACKPAY: "unit_back_payment"}
PROGRESS = "progress"
BATCH_CAPACITY = ledger.MAX_ACTIONS - 2        # one transaction = accounts + postings + the audit + the progress item
_RETRIES = 6


# ---------------------------------------------------------------- reading


def roster_of(unit_no: str, roster_no: str) -> Roster:
    """A roster of this unit; 404 for any other."""
    try:
        roster = Roster.get(roster_no, consistent_read=True)
    except Roster.DoesNotExist:
        raise errors.NotFound("未找到该清册") from None
    if roster.unit_no != unit_no:
        raise errors.NotFound("未找到该清册")
    return roster


def rosters_page(unit_no: str, *, limit: int, cursor: str | None, scope: str):
    from chalicelib.http.pagination import page

    return page(Roster.unit_index.query, hash_key=unit_no, scan_index_forward=False, limit=limit, cursor=cursor,
                scope=scope)


def lines_page(unit_no: str, roster_no: str, *, limit: int, cursor: str | None, scope: str,
               ) -> tuple[list[tuple[RosterLine, str]], str | None]:
    """One page of a roster's lines with each employee's name (one Query and one BatchGet)."""
    from chalicelib.http.pagination import page

    roster_of(unit_no, roster_no)
    lines, next_cursor = page(RosterLine.query, hash_key=roster_no, limit=limit, cursor=cursor, scope=scope)
    ids = list(dict.fromkeys(line.id_number for line in lines))
    names = {p.id_number: p.name for p in Person.batch_get(ids)} if ids else {}
    return [(line, names.get(line.id_number, "")) for line in lines], next_cursor


def _existing(serial: str, unit_no: str) -> Roster | None:
    try:
        roster = Roster.get(serial, consistent_read=True)
    except Roster.DoesNotExist:
        return None
    if roster.unit_no != unit_no:
        raise errors.Conflict(records.SERIAL_CONFLICT)
    return roster


# ---------------------------------------------------------------- 汇缴清册


def _claim_key(unit_no: str, period: str) -> str:
    return f"roster-claim#{unit_no}#{period}"


def _claim(unit_no: str, period: str, serial: str, now: dt.datetime) -> None:
    """One active remittance roster per unit and month."""
    item = StateItem(_claim_key(unit_no, period), "-", status="active", value=serial, updated_at=clock.iso(now))
    try:
        item.save(condition=StateItem.pk.does_not_exist() | (StateItem.value == serial)
                  | (StateItem.status == "released"))
    except PutError as exc:
        if not condition_failed(exc):
            raise
        current = StateItem.get(_claim_key(unit_no, period), "-", consistent_read=True)
        raise errors.AlreadyDone(f"{period} 的汇缴清册已生成，如需重新生成请先作废原清册",
                                 details={"roster_no": current.value}) from None


def _release(unit_no: str, period: str, serial: str, now: dt.datetime) -> None:
    try:
        StateItem(_claim_key(unit_no, period), "-").update(
            actions=[StateItem.status.set("released"), StateItem.updated_at.set(clock.iso(now))],
            condition=StateItem.value == serial)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def check_roster_month(period: str, now: dt.datetime) -> None:
    current = periods.period_of(now)
    back = policy.get().web_halls.units.roster_months_back
    earliest = periods.shift(current, -back)
    if periods.months_between(period, current) == 0:
        raise errors.NotEligible(f"不能汇缴 {current} 之后的月份", details={"period": current})
    if periods.months_between(earliest, period) == 0:
        raise errors.NotEligible(f"汇缴清册只能是 {earliest} 至 {current} 的月份，更早的月份请办理补缴",
                                 details={"earliest": earliest, "latest": current})


def create_remittance(unit_no: str, *, serial: str, period: str, now: dt.datetime) -> Roster:
    """汇缴清册 of ``period``: every normal employee whose next unpaid month it is."""
    existing = _existing(serial, unit_no)
    if existing is not None:
        return existing
    unit_of(unit_no, active=True)
    check_roster_month(period, now)
    _claim(unit_no, period, serial, now)
    lines: list[RosterLine] = []
    skipped = 0
    for acct in Account.unit_index.query(unit_no):
        if acct.kind != "employee" or acct.status != "normal":
            continue
        if deposits.first_unpaid(acct.paid_through, acct.opened_on) == period:
            lines.append(_line(serial, acct, period))
        else:
            skipped += 1
    if not lines:
        _release(unit_no, period, serial, now)
        raise errors.NotEligible(f"{period} 没有需要汇缴的职工（已缴存、未到缴存月份或需先补缴）",
                                 details={"skipped": skipped})
    note = f"{skipped} 名职工不在本清册：已缴存该月、尚未到缴存月份或需先补缴" if skipped else None
    return _store(unit_no, serial, REMIT, lines, period=period, skipped=skipped, note=note, now=now)


def _line(serial: str, acct: Account, period: str) -> RosterLine:
    """One employee-month at the base and ratios in force for that month (a 补缴 of months before a July base
    adjustment pays them at the old base, issue 16 item 5); an account never adjusted uses its current ones."""
    dep = policy.get().deposit
    current = periods.MonthlyTerms(from_period=period, amount=int(acct.monthly_amount or 0), base=int(acct.base or 0),
                                   ratio_unit=acct.ratio_unit, ratio_person=acct.ratio_person)
    t = periods.terms_in_force(remittance.history_of(acct), period, current)
    base = int(t.base if t.base is not None else acct.base or 0)
    ratio_unit, ratio_person = t.ratio_unit or acct.ratio_unit or "0", t.ratio_person or acct.ratio_person or "0"
    c = deposits.contribution(base, Decimal(ratio_unit), Decimal(ratio_person), dep)
    return RosterLine(serial, RosterLine.key(acct.account_no, period), account_no=acct.account_no, period=period,
                      id_number=acct.id_number, base=base, ratio_unit=ratio_unit,
                      ratio_person=ratio_person, unit_share=c.unit_share, person_share=c.person_share,
                      amount=c.total)


def _store(unit_no: str, serial: str, kind: str, lines: list[RosterLine], *, period: str | None, skipped: int,
           note: str | None, now: dt.datetime) -> Roster:
    """Write the lines, then the roster (its existence says the lines are complete), then the record."""
    lines.sort(key=lambda line: line.line_key)
    stale = list(RosterLine.query(serial))          # an earlier attempt of this request that did not finish
    with RosterLine.batch_write() as batch:
        keep = {line.line_key for line in lines}
        for old in stale:
            if old.line_key not in keep:
                batch.delete(old)
        for line in lines:
            batch.save(line)
    created_at = clock.iso(now)
    unit_total = sum(int(line.unit_share) for line in lines)
    person_total = sum(int(line.person_share) for line in lines)
    months = sorted({line.period for line in lines})
    roster = Roster(serial, unit_no=unit_no, kind=kind, period=period, from_period=months[0], end_period=months[-1],
                    status="ready", employees=len({line.account_no for line in lines}), lines=len(lines),
                    unit_total=unit_total, person_total=person_total, total=unit_total + person_total,
                    skipped=skipped, note=note, created_at=created_at, created_key=Roster.key(created_at, serial))
    try:
        roster.save(condition=Roster.roster_no.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise
        return Roster.get(serial, consistent_read=True)
    span = period or f"{months[0]}-{months[-1]}"
    records.submit(business.new_record(
        serial_no=serial, owner=owner(unit_no), kind=BUSINESS_KIND[kind], title=TITLES[kind], now=now,
        review=False, amount=roster.total, details={"period": span, "employees": roster.employees,
                                                    "lines": roster.lines}))
    return roster


# ---------------------------------------------------------------- 补缴


def create_back_payment(unit_no: str, *, serial: str, lines: list[tuple[str, str]], now: dt.datetime) -> Roster:
    """补缴清册: for each (account, end month), every month from the account's first unpaid one to the end month."""
    existing = _existing(serial, unit_no)
    if existing is not None:
        return existing
    cfg = policy.get().web_halls.units
    current = periods.period_of(now)
    last_allowed = periods.shift(current, -1)
    problems: dict[str, str] = {}
    out: list[RosterLine] = []
    for i, acct, end_period in employee_lines(unit_no, lines, doing="补缴", problems=problems):
        if acct.status not in ("normal", "sealed"):
            problems[f"lines.{i}.account_no"] = "职工账户状态不能补缴"
            continue
        if periods.months_between(end_period, last_allowed) == 0:
            problems[f"lines.{i}.end_period"] = f"补缴只能补至上月（{last_allowed}），当月请生成汇缴清册"
            continue
        first = deposits.first_unpaid(acct.paid_through, acct.opened_on)
        months = periods.periods(first, end_period)
        if not months:
            problems[f"lines.{i}.end_period"] = f"该职工已缴存至 {acct.paid_through}，无需补缴"
            continue
        if len(months) > cfg.back_payment_max_months:
            problems[f"lines.{i}.end_period"] = (f"一次最多补缴 {cfg.back_payment_max_months} 个月"
                                                 f"（从 {first} 起）")
            continue
        if not int(acct.base or 0):
            problems[f"lines.{i}.account_no"] = "该职工缴存基数未设定"
            continue
        out += [_line(serial, acct, month) for month in months]
    if problems:
        raise errors.ValidationFailed(f"{len(problems)} 行有误，请修改后重新提交", details={"fields": problems})
    return _store(unit_no, serial, BACKPAY, out, period=None, skipped=0, note=None, now=now)


# ---------------------------------------------------------------- 作废


def cancel(unit_no: str, roster_no: str, *, now: dt.datetime, reason: str = "单位作废") -> Roster:
    """Void a roster that is not being paid (the month can then get a new roster)."""
    roster = roster_of(unit_no, roster_no)
    if roster.status == "cancelled":
        return roster
    if roster.status != "ready":
        raise errors.AlreadyDone("清册已付款，不能作废")
    _cancel(roster, reason, now)
    return Roster.get(roster_no, consistent_read=True)


def _cancel(roster: Roster, reason: str, now: dt.datetime) -> None:
    try:
        roster.update(actions=[Roster.status.set("cancelled"), Roster.reason.set(reason)],
                      condition=Roster.status == "ready")
    except UpdateError as exc:
        if condition_failed(exc):
            raise errors.Conflict("清册状态刚刚改变，请刷新后查看") from None
        raise
    if roster.kind == REMIT and roster.period:
        _release(roster.unit_no, roster.period, roster.roster_no, now)
    business.set_status(roster.roster_no, "cancelled", now=now, opinion=reason)


# ---------------------------------------------------------------- payment


class _Stale(errors.ApiError):
    """The accounts of a batch changed between the due check and the posting: check again."""


class _ProgressMoved(errors.ApiError):
    """Another run of this payment committed the batch first."""


def _progress_key(roster_no: str) -> str:
    return f"roster#{roster_no}"


def progress(roster_no: str) -> int:
    item = _progress_item(roster_no)
    return int(item.count or 0) if item is not None else 0


def _progress_item(roster_no: str) -> StateItem | None:
    try:
        return StateItem.get(_progress_key(roster_no), PROGRESS, consistent_read=True)
    except StateItem.DoesNotExist:
        return None


def posting_serial(roster_no: str, account_no: str, period: str) -> str:
    return f"{roster_no}#{account_no}#{period}"


def pay(unit_no: str, roster_no: str, *, bank_account: str | None, now: dt.datetime, actor: str,
        source: str | None = None) -> Roster:
    """Pay a roster: debit the unit once, credit every line once, in batches; resumes after any failure.

    The debit is always from the unit's registered account (``Unit.bank_account``, changed only through a reviewed
    unit change); ``bank_account``, when given, must be that account."""
    roster = roster_of(unit_no, roster_no)
    if roster.status == "paid":
        _after_paid(roster, None, now)       # a retry after a failure past "paid" finishes what follows it
        return roster
    if roster.status == "cancelled":
        raise errors.NotEligible(f"该清册已作废：{roster.reason or ''}", details={"status": roster.status})
    if roster.status == "ready":
        roster = _debit(roster, bank_account, now)
    _start_progress(roster_no, now)
    lines = list(RosterLine.query(roster_no, consistent_read=True))
    chunks = deposits.batches(lines, lambda line: line.account_no, BATCH_CAPACITY)
    item = _progress_item(roster_no)
    done = int(item.count or 0) if item is not None else 0
    while done < len(chunks):
        _credit_batch(roster, done, chunks[done], now=now, actor=actor, source=source)
        item = _progress_item(roster_no)
        after = int(item.count or 0) if item is not None else 0
        if after <= done:     # pragma: no cover - _credit_batch returns only once the batch is committed
            raise RuntimeError(f"roster {roster_no}: batch {done} did not advance")
        done = after
    return _finish(roster, lines, now, item)


def _debit(roster: Roster, bank_account: str | None, now: dt.datetime) -> Roster:
    unit = unit_of(roster.unit_no, active=True)
    account = unit.bank_account
    if not account:
        raise errors.NotEligible("单位未登记缴存银行账户，请先办理单位信息变更登记缴存银行账户",
                                 details={"fields": {"bank_account": "单位未登记"}})
    if bank_account and bank_account != account:     # only the registered account; changed by a reviewed change
        raise errors.NotEligible("付款账号须为单位登记的缴存银行账户；更换账户请办理单位信息变更",
                                 details={"fields": {"bank_account": "不是单位登记的账户"}})
    answer = payments.debit(account, int(roster.total), roster.roster_no, busy="银行系统暂时无法响应，请稍后重试付款")
    if not answer.ok:
        _cancel(roster, f"扣款未成功：{answer.reason or '银行拒绝交易'}", now)
        raise errors.PaymentDeclined(f"扣款未成功：{answer.reason or '银行拒绝交易'}，清册已作废，请重新生成",
                                     details={"roster_no": roster.roster_no})
    try:
        roster.update(actions=[Roster.status.set("paying"), Roster.bank_account.set(account),
                               Roster.bank_serial.set(answer.bank_serial or "")],
                      condition=Roster.status == "ready")
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        roster = Roster.get(roster.roster_no, consistent_read=True)     # a concurrent run moved it on
        if roster.status == "cancelled":
            raise errors.NotEligible("该清册已作废") from None
    audit.record("unit.roster.debit", role="unit", who=roster.unit_no, result=audit.OK, now=now,
                 details={"roster_no": roster.roster_no, "amount": money.format(int(roster.total)),
                          "account": account})
    return roster


def _start_progress(roster_no: str, now: dt.datetime) -> None:
    try:
        StateItem(_progress_key(roster_no), PROGRESS, count=0, status="paying", updated_at=clock.iso(now),
                  data={"skipped_lines": 0, "skipped_amount": 0}).save(condition=StateItem.pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def _due_lines(chunk: list[RosterLine], accounts: dict[str, Account]) -> list[RosterLine]:
    """The lines of ``chunk`` whose months continue their accounts' paid months without a gap."""
    due: list[RosterLine] = []
    by_account: dict[str, list[RosterLine]] = {}
    for line in chunk:
        by_account.setdefault(line.account_no, []).append(line)
    for account_no, lines in by_account.items():
        acct = accounts.get(account_no)
        if acct is None or acct.status == "closed":
            continue
        run = deposits.due_run(deposits.first_unpaid(acct.paid_through, acct.opened_on), [x.period for x in lines])
        due += lines[:len(run)]
    return due


def _advance_actions(index: int, skipped: list[RosterLine], now: dt.datetime) -> list:
    """Batch ``index`` done; the lines of it not credited (and their money, to go back) are counted."""
    actions = [StateItem.count.set(index + 1), StateItem.updated_at.set(clock.iso(now))]
    if skipped:
        actions += [StateItem.data["skipped_lines"].add(len(skipped)),
                    StateItem.data["skipped_amount"].add(sum(int(line.amount) for line in skipped))]
    return actions


def _advance(roster_no: str, index: int, skipped: list[RosterLine], now: dt.datetime) -> Extra:
    def apply(tx) -> None:
        tx.update(StateItem(_progress_key(roster_no), PROGRESS), actions=_advance_actions(index, skipped, now),
                  condition=StateItem.count == index)

    return Extra(apply, _ProgressMoved())


def _credit_batch(roster: Roster, index: int, chunk: list[RosterLine], *, now: dt.datetime, actor: str,
                  source: str | None) -> None:
    """Credit batch ``index`` (one ledger transaction, progress included); returns once it is committed.

    The first attempt expects every line of the batch to be due (the usual case) and lets the ledger's own
    read of the accounts confirm it; when some line is not, the accounts are read and the due lines posted."""
    roster_no = roster.roster_no
    account_nos = list(dict.fromkeys(line.account_no for line in chunk))
    for attempt in range(_RETRIES):
        if attempt == 0:
            due = list(chunk)
        else:
            accounts = {a.account_no: a for a in Account.batch_get(account_nos, consistent_read=True)}
            due = _due_lines(chunk, accounts)
        expected = [line.line_key for line in due]
        due_keys = set(expected)
        skipped = [line for line in chunk if line.line_key not in due_keys]
        if not due:      # nothing of this batch is due any more: only the progress moves
            try:
                StateItem(_progress_key(roster_no), PROGRESS).update(actions=_advance_actions(index, skipped, now),
                                                                     condition=StateItem.count == index)
            except UpdateError as exc:
                if not condition_failed(exc):
                    raise
            return
        last: dict[str, str] = {}
        for line in due:
            last[line.account_no] = line.period
        postings = [Posting(line.account_no, posting_serial(roster_no, line.account_no, line.period), "D",
                            int(line.amount), roster.kind, period=line.period, counterparty=roster.bank_serial,
                            business_serial=roster_no, note=TITLES[roster.kind]) for line in due]

        def still_due(fresh: dict[str, Account], expected: list[str] = expected) -> None:
            if [line.line_key for line in _due_lines(chunk, fresh)] != expected:
                raise _Stale()

        try:
            ledger.post(postings, now=now, actor=actor, source=source,
                        updates={no: [Account.paid_through.set(period)] for no, period in last.items()},
                        extras=[_advance(roster_no, index, skipped, now)], before_write=still_due)
            return
        except _Stale:
            continue
        except _ProgressMoved:
            return
        except ledger.Race:
            continue
        except errors.NotFound:     # an account of the batch is gone: the next attempt posts what is there
            if attempt:
                raise
            continue
    raise errors.Conflict("职工账户正忙，请稍后重试付款（已入账的职工不会重复入账）")


def _tell_employees(roster: Roster) -> None:
    """Each credited employee's message (and SMS when subscribed, 短信签约): what the unit paid in for which
    months. Told once the whole roster is paid, from what the ledger holds (a line no longer due was not
    credited), under ids derived from the roster: a retry that tells again overwrites the same messages and queues
    no second SMS, and a batch whose answer was lost is told like the others."""
    lines = list(RosterLine.query(roster.roster_no))
    serials = [posting_serial(roster.roster_no, line.account_no, line.period) for line in lines]
    posted: set[str] = set()
    for start in range(0, len(serials), 100):
        posted.update(e.serial_no for e in LedgerEntry.batch_get(serials[start:start + 100]))
    months: dict[str, list[str]] = {}
    amounts: dict[str, int] = {}
    who: dict[str, str] = {}
    for line, serial in zip(lines, serials, strict=True):
        if serial in posted:
            months.setdefault(line.account_no, []).append(line.period)
            amounts[line.account_no] = amounts.get(line.account_no, 0) + int(line.amount)
            who[line.account_no] = line.id_number
    notify.citizens([notify.Notice(
        who[no], title=f"{TITLES[roster.kind]}入账", key=f"{roster.roster_no}#{no}", serial_no=roster.roster_no,
        body=f"您的单位已为您缴存 {_span(sorted(ps))} 住房公积金 {money.format(amounts[no])} 元。")
        for no, ps in months.items()], kind="deposit", now=clock.parse(roster.paid_at), stable=True)


def _span(months: list[str]) -> str:
    first, last = months[0], months[-1]
    return f"{first[:4]}年{first[4:]}月" if first == last else f"{first[:4]}年{first[4:]}月至{last[:4]}年{last[4:]}月"


def _finish(roster: Roster, lines: list[RosterLine], now: dt.datetime, item: StateItem | None = None) -> Roster:
    """Every batch is done: what was not credited goes back to the unit, and the roster is paid. ``item``: the
    progress item as read (consistently) after the last batch (issue 18: not read again)."""
    if item is None:
        item = StateItem.get(_progress_key(roster.roster_no), PROGRESS, consistent_read=True)
    data = item.data
    skipped = data.as_dict() if data else {}
    refund = int(skipped.get("skipped_amount", 0))
    credited = len(lines) - int(skipped.get("skipped_lines", 0))
    credited_amount = int(roster.total) - refund
    if refund > 0:
        answer = payments.payout(roster.bank_account, refund, f"{roster.roster_no}R",
                                 busy="银行系统暂时无法响应，请稍后重试（已入账的职工不会重复入账）")
        if not answer.ok:
            logger.error("roster refund declined", extra={"fields": {"roster": roster.roster_no}})
    try:
        roster.update(actions=[Roster.status.set("paid"), Roster.paid_at.set(clock.iso(now)),
                               Roster.credited.set(credited), Roster.credited_amount.set(credited_amount),
                               Roster.refunded_amount.set(refund)],
                      condition=Roster.status == "paying")
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return Roster.get(roster.roster_no, consistent_read=True)       # finished by a concurrent run
    # the update's answer (ALL_NEW) is the roster as it now is: no read after it (issue 18)
    _after_paid(roster, len(lines), now)
    return roster


def _after_paid(roster: Roster, line_count: int | None, now: dt.datetime) -> None:
    """What follows a roster's "paid": the unit's paid-through month, the business record, the audit. Each
    step is conditional, so a retry after a failure here finishes them (and repeats none)."""
    try:
        record = business.get(roster.roster_no)
        if record.status != "submitted":
            return
    except errors.NotFound:
        record = None
    if roster.kind == REMIT and roster.period:
        try:
            Unit(roster.unit_no).update(actions=[Unit.paid_through.set(roster.period)],
                                        condition=Unit.paid_through.does_not_exist()
                                        | (Unit.paid_through < roster.period))
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
    credited, credited_amount = int(roster.credited or 0), int(roster.credited_amount or 0)
    refund = int(roster.refunded_amount or 0)
    opinion = f"已入账 {credited} 笔，金额 {money.format(credited_amount)} 元"
    if refund:
        if line_count is None:
            line_count = sum(1 for _ in RosterLine.query(roster.roster_no))
        opinion += f"；{line_count - credited} 笔已由其他业务缴存，{money.format(refund)} 元已退回单位账户"
    _tell_employees(roster)
    _set_record(roster.roster_no, "done", now, opinion, record)
    audit.record("unit.roster.paid", role="unit", who=roster.unit_no, result=audit.OK, now=now,
                 details={"roster_no": roster.roster_no, "credited": credited,
                          "amount": money.format(credited_amount), "refunded": money.format(refund)})


def _set_record(serial: str, status: str, now: dt.datetime, opinion: str,
                record: BusinessRecord | None = None) -> None:
    """The roster's business record to ``status``. ``record``: as this request read it (issue 18: not read
    again); its update is conditioned on its version, and one that moved since is read again and updated."""
    if record is not None:
        try:
            record.update(actions=[BusinessRecord.status.set(status), BusinessRecord.decided_at.set(clock.iso(now)),
                                   BusinessRecord.opinion.set(opinion)])
            return
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
    try:
        business.set_status(serial, status, now=now, opinion=opinion)
    except errors.NotFound:
        logger.error("roster without a business record", extra={"fields": {"roster": serial}})

