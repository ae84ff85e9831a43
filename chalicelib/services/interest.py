"""Annual interest settlement (年终结息): the ``settle-annual-interest`` job (30 June, ``deposit.interest_settlement``),
and the closing interest (销户结息) paid with an account's closing payout.

The formula is day-count interest (积数计息, :mod:`chalicelib.rules.interest`, which gives the sources and the
conventions): 《住房公积金管理条例》第二十一条 makes money earn from the day it is deposited, so the year's interest is
``积数 × the deposit rate / 360``, HALF_UP to the fen, where the 积数 is the balance carried into the HPF year × 360
plus each posting of the year × the (30/360) days it stays until 30 June (withdrawals negative). A balance that
stayed all year earns balance × rate; 99,000.00 withdrawn on 29 June of a 100,000.00 year earns 1,491.75, not
15.00. The rate is the one in force on the settlement day (``rates.deposit``).

The 积数 is on the account (``Account.interest_accruals``), kept by the ledger in the same transaction as every
balance change and by the importer, so the settlement reads accounts only. An account with no 积数 for the year did
not move in it: it earns on the balance it carried out of the year (``year_openings`` of the next year when that
has begun, else its balance). Only an account that moved during the year before the 积数 was kept (a
``year_openings`` entry for the year but no 积数) has its year read from the ledger. A closed, empty account gets
nothing (its interest was paid at closing); a year the center's imported records settled (an interest record dated
the settlement day, marked ``settled`` by the importer) is left alone; sealed and frozen accounts earn like normal
ones.

One posting per account per year, dated the settlement day and counted in the next year's carried balance: the
serial is ``INT<year><account_no>``, so the ledger cannot take it twice.

Fanned out across workers (:mod:`chalicelib.jobs_fanout`, issue 18): the scheduled function is the coordinator of
the year's run (``job#settle-annual-interest#<year>``, ``state`` table), which cuts the ``book-index`` (keys only,
account-number order) into ``GJJ_JOB_SHARDS`` key ranges and queues one message per shard; each worker settles its
range :data:`PAGE` accounts at a time. The page's serials are looked up first (BatchGet) and what is already on the
ledger is not posted again; the rest is posted :data:`BATCH` accounts to a transaction. After each page the last
account number is the shard's checkpoint (forward only); a worker killed part-way, or one that sent its continuation
for time, goes on after it. When every shard is done the run item is marked ``done`` and a further run for that year
does nothing. Locally (``gjj jobs run``) the same coordinator and workers run through the in-process queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from chalicelib import clock, errors, fanout, jobs_fanout, log, money, policy
from chalicelib.rules import balances as year_balances
from chalicelib.rules import interest as interest_rules
from chalicelib.rules import loans as loan_rules
from chalicelib.rules import periods
from chalicelib.services import ledger, notify
from chalicelib.store.accounts import BOOK, Account
from chalicelib.store.ledger import DEPOSIT, LedgerEntry

logger = log.get("interest")
PAGE = 200                                    # accounts read per Query and per progress step
BATCH = ledger.accounts_per_transaction()     # accounts posted per transaction (49)
JOB = "settle-annual-interest"
_ATTEMPTS = 5


def settlement_day(today: dt.date) -> dt.date:
    """The settlement day this run settles: the latest 30 June (policy) on or before ``today``."""
    cfg = policy.get().deposit.interest_settlement
    day = dt.date(today.year, cfg["month"], cfg["day"])
    return day if day <= today else dt.date(today.year - 1, cfg["month"], cfg["day"])


def interest_on(balance_fen: int, annual_rate: Decimal) -> int:
    """A whole year's interest on ``balance_fen`` (present from 1 July to 30 June) at ``annual_rate`` percent."""
    return interest_rules.interest(balance_fen * interest_rules.DAYS_PER_YEAR, annual_rate)


def serial_for(year: int, account_no: str) -> str:
    return f"INT{year}{account_no}"


def progress_key(year: int) -> tuple[str, str]:
    """The year's run item (``state`` table): ``status`` running | done, ``value`` the furthest account settled."""
    return f"job#{JOB}#{year}", jobs_fanout.RUN_SK


def settle_annual_interest(now: dt.datetime) -> dict:
    """The scheduled function: the coordinator of the year's run (locally it also drains the shards' queue)."""
    return jobs_fanout.start(FANOUT, now)


def _plan(now: dt.datetime) -> jobs_fanout.Plan:
    day = settlement_day(now.astimezone(clock.CHINA).date())
    rate = loan_rules.deposit_rate_for(policy.get().rates, day)
    return jobs_fanout.Plan(progress_key(day.year)[0], {"day": day.isoformat(), "rate": str(rate)})


def _keys(context: dict) -> Iterator[str]:
    """Every account number in order (keys only), streamed once by the coordinator, which keeps an even sample of
    them to cut the shards (:func:`chalicelib.jobs_fanout._evenly`)."""
    return (k.account_no for k in Account.book_index.query(BOOK))


def _page(context: dict, shard: jobs_fanout.Shard, now: dt.datetime) -> jobs_fanout.Page:
    """The next :data:`PAGE` accounts of the shard's range from the ``book-index``, settled and checkpointed."""
    day, rate = dt.date.fromisoformat(context["day"]), Decimal(context["rate"])
    after = shard.after
    condition = Account.account_no > after if after is not None else None
    read = [k.account_no for k in Account.book_index.query(BOOK, condition, limit=PAGE)]
    keys, reached_end = shard.within(read)
    if not keys:
        return jobs_fanout.Page(None, more=False)
    n, total = _settle_page(keys, day, rate, now)
    _advance(shard, keys[-1], n, total, now)
    return jobs_fanout.Page(keys[-1], n, total, more=not reached_end and len(read) == PAGE)


def _finished(context: dict, totals: dict, now: dt.datetime) -> None:
    log.event(logger, "interest settled", year=context["day"][:4], rate=context["rate"], posted=totals["posted"],
              amount=totals["amount"])


def _summary(context: dict, totals: dict | None) -> dict:
    out: dict = {"year": int(context["day"][:4]), "rate": context["rate"]}
    if totals is not None:
        out.update(posted=totals["posted"], amount=money.format(totals["amount"]), pages=totals["pages"])
    return out


def _advance(shard: jobs_fanout.Shard, cursor: str, posted: int, amount: int, now: dt.datetime) -> None:
    """Record a finished page (the cursor only moves forward; a slower twin run cannot move it back)."""
    jobs_fanout.checkpoint(shard, cursor, posted, amount, now)


FANOUT = jobs_fanout.FanoutJob(JOB, plan=_plan, keys=_keys, page=_page, finished=_finished, summary=_summary)


class _Changed(errors.Conflict):
    pass


def _settle_page(keys: list[str], day: dt.date, rate: Decimal, now: dt.datetime) -> tuple[int, int]:
    """The page's batches side by side (their accounts are disjoint); the page is done when all of them are."""
    batches = [keys[start:start + BATCH] for start in range(0, len(keys), BATCH)]
    done = fanout.run_all(lambda batch: _settle_batch(batch, day, rate, now), batches)
    return sum(n for n, _ in done), sum(amount for _, amount in done)


def _settle_batch(keys: list[str], day: dt.date, rate: Decimal, now: dt.datetime) -> tuple[int, int]:
    year = day.year
    for _attempt in range(_ATTEMPTS):
        serials = [serial_for(year, k) for k in keys]
        done = {e.account_no for e in LedgerEntry.batch_get(serials, consistent_read=True)}
        todo = [k for k in keys if k not in done]
        if not todo:
            return 0, 0
        accounts = {a.account_no: a for a in Account.batch_get(todo, consistent_read=True)}
        present = [accounts[no] for no in todo if no in accounts]
        postings, seen = [], {}
        for acct, earned in zip(present, fanout.run_all(lambda a: _interest_of(a, day, rate), present), strict=True):
            no = acct.account_no
            if earned > 0:
                postings.append(ledger.Posting(no, serial_for(year, no), DEPOSIT, earned, "interest",
                                               period=periods.period_of(day),
                                               note=f"{year}年度结息，年利率 {rate}%",
                                               value_date=day.isoformat(), carried=True))
                seen[no] = int(acct.version or 0)
        if not postings:
            return 0, 0

        def unchanged(fresh: dict[str, Account], seen=seen) -> None:
            if any(int(fresh[no].version or 0) != v for no, v in seen.items()):
                raise _Changed()

        try:
            result = ledger.post(postings, now=now, actor=f"job:{JOB}", before_write=unchanged)
        except errors.Conflict:
            continue    # an account moved, or a twin run posted part of this batch: look again
        if not result.replayed:
            notify.citizens([notify.Notice(
                accounts[p.account_no].id_number, title="年度结息", key=p.serial_no,
                body=f"您的住房公积金账户 {day.isoformat()} 结息 {money.format(p.amount)} 元，"
                     f"账户余额 {money.format(result.balances[p.account_no])} 元。") for p in postings],
                kind="interest", now=now)
        return len(postings), sum(p.amount for p in postings)
    raise ledger.Race(f"结息批次多次冲突：{keys[0]}…")


def _interest_of(acct: Account, day: dt.date, rate: Decimal) -> int:
    """The year's interest of one account (0 when none, or when the center's records already settled it)."""
    if acct.status == "closed" and int(acct.balance or 0) == 0:
        return 0
    jishu = year_jishu(acct, day)
    return 0 if jishu is None else interest_rules.interest(jishu, rate)


def year_jishu(acct: Account, through: dt.date) -> int | None:
    """The 积数 of the HPF year ``through`` is in, as it stands (None: the imported records settled the year)."""
    settlement = policy.get().deposit.interest_settlement
    year = year_balances.hpf_year(through, settlement)
    known = interest_rules.plain(acct.interest_accruals).get(str(year))
    if known is not None:
        return None if known.get("settled") else int(known.get("jishu", 0))
    openings = year_balances.plain(acct.year_openings)
    if str(year) in openings:
        return _jishu_from_ledger(acct, year, settlement)
    following = openings.get(str(year + 1))
    carried = int(following["fen"]) if following is not None else int(acct.balance or 0)
    return carried * interest_rules.DAYS_PER_YEAR


def _jishu_from_ledger(acct: Account, year: int, settlement) -> int | None:
    """An account that moved in ``year`` before the 积数 was kept on accounts: the year from its entries."""
    end = interest_rules.year_end(year, settlement).isoformat()
    start = (interest_rules.year_end(year - 1, settlement) + dt.timedelta(days=1)).isoformat()
    ours = serial_for(int(end[:4]), acct.account_no)
    entries = list(LedgerEntry.flow_index.query(acct.account_no, LedgerEntry.flow_key >= start))
    in_year = [e for e in entries if e.date <= end]
    moves = []
    for e in in_year:
        settles_year = e.kind == "interest" and e.date == end
        if settles_year and e.serial_no != ours:
            return None            # settled by the imported records
        delta = int(e.amount) if e.direction == DEPOSIT else -int(e.amount)
        moves.append(interest_rules.Movement(e.date, delta, carried=settles_year))
    carried = int(in_year[0].balance_before) if in_year else int(acct.balance or 0)
    return interest_rules.year_jishu(carried, moves, year, settlement)


def closing_interest(acct: Account, serial_no: str, today: dt.date) -> ledger.Posting | None:
    """销户结息: the interest an account closing ``today`` has earned this HPF year up to the day before (the
    closing day earns nothing, the money leaves that day), as a posting to go in the closing's transaction, in
    front of the withdrawal of the whole balance plus this interest. Its ``settles`` takes the paid 积数 off the
    year, so the closed account's year ends at 0. None when there is nothing to pay."""
    settlement = policy.get().deposit.interest_settlement
    jishu = year_jishu(acct, today)
    if jishu is None:
        return None
    accrued = interest_rules.accrued_before(jishu, int(acct.balance or 0), today, settlement)
    rate = loan_rules.deposit_rate_for(policy.get().rates, today)
    amount = interest_rules.interest(accrued, rate)
    if amount <= 0:
        return None
    return ledger.Posting(acct.account_no, f"{serial_no}I", DEPOSIT, amount, "interest",
                          period=periods.period_of(today), business_serial=serial_no,
                          note=f"销户结息，年利率 {rate}%", settles=accrued)
