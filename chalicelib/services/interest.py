"""Annual interest settlement (年终结息): the ``settle-annual-interest`` job (30 June, ``deposit.interest_settlement``).

The formula is the one of the center's own records (``demo/center-records.jsonl``: 38630.40 × 1.50% = 579.46):
``interest = balance at the end of the settlement day × the deposit rate in force that day`` (``rates.deposit``,
percent a year), rounded HALF_UP to the fen. The balance at the end of the day is the account's balance less what
was posted on later days (a run resumed on a later day). Accounts with nothing to earn (zero balance, or less
than one fen of interest) get nothing; sealed and frozen accounts earn like normal ones. Only accounts that
changed after the settlement day, or were imported and never moved since (no ``updated_at``), need a Query of
their entries from the settlement day on; the others' balance is the balance of that day.

One posting per account per year: the serial is ``INT<year><account_no>``, so the ledger cannot take it twice. An
account whose year was already settled by the center's imported records (an ``interest`` entry dated on the
settlement day) is left alone.

Work in pages, resumable: the accounts are read in account-number order from the ``book-index`` (one Query a page,
keys only, :data:`PAGE` at a time). The page's serials are looked up first (BatchGet) and what is already on the
ledger is not posted again; the rest is posted :data:`BATCH` accounts to a transaction. After each page the last
account number is written to the progress item ``job#settle-annual-interest#<year>`` (``state`` table). A run
killed part-way resumes after that account; the progress item marked ``done`` makes a further run for that year
do nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from pynamodb.exceptions import UpdateError

from chalicelib import clock, errors, fanout, log, money, policy
from chalicelib.rules import loans as loan_rules
from chalicelib.services import ledger, notify
from chalicelib.store.accounts import BOOK, Account
from chalicelib.store.kv import StateItem
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
    """A year's interest on ``balance_fen`` at ``annual_rate`` percent, HALF_UP to the fen."""
    if balance_fen <= 0:
        return 0
    return int((Decimal(balance_fen) * Decimal(annual_rate) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def serial_for(year: int, account_no: str) -> str:
    return f"INT{year}{account_no}"


def progress_key(year: int) -> tuple[str, str]:
    return f"job#{JOB}#{year}", "-"


def settle_annual_interest(now: dt.datetime) -> dict:
    today = now.astimezone(clock.CHINA).date()
    day = settlement_day(today)
    year = day.year
    rate = loan_rules.deposit_rate_for(policy.get().rates, day)
    pk, sk = progress_key(year)
    try:
        progress = StateItem.get(pk, sk, consistent_read=True)
    except StateItem.DoesNotExist:
        progress = StateItem(pk, sk, status="running", count=0, updated_at=clock.iso(now))
        progress.save()
    if progress.status == "done":
        return {"year": year, "done": True, "posted": 0, "note": "already settled"}
    cursor = progress.value or None
    posted = amount = pages = 0
    while True:
        fanout.check_time()     # between pages: the progress item already says where the next run goes on
        condition = Account.account_no > cursor if cursor else None
        keys = [k.account_no for k in Account.book_index.query(BOOK, condition, limit=PAGE)]
        if not keys:
            break
        n, total = _settle_page(keys, day, rate, now)
        posted, amount, pages = posted + n, amount + total, pages + 1
        cursor = keys[-1]
        _advance(pk, sk, cursor, n, total, now)
        if len(keys) < PAGE:
            break
    StateItem(pk, sk).update(actions=[StateItem.status.set("done"), StateItem.updated_at.set(clock.iso(now))])
    log.event(logger, "interest settled", year=year, rate=str(rate), posted=posted, amount=amount, pages=pages)
    return {"year": year, "done": True, "rate": str(rate), "posted": posted, "amount": money.format(amount),
            "pages": pages}


def _advance(pk: str, sk: str, cursor: str, posted: int, amount: int, now: dt.datetime) -> None:
    """Record a finished page (the cursor only moves forward; a slower twin run cannot move it back)."""
    try:
        StateItem(pk, sk).update(
            actions=[StateItem.value.set(cursor), StateItem.count.add(posted),
                     StateItem.updated_at.set(clock.iso(now))],
            condition=StateItem.value.does_not_exist() | (StateItem.value < cursor))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


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
                                               period=f"{day.year:04d}{day.month:02d}",
                                               note=f"{year}年度结息，年利率 {rate}%"))
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
    balance = int(acct.balance or 0)
    if acct.status == "closed" and balance == 0:
        return 0
    if acct.updated_at is not None and acct.updated_at.astimezone(clock.CHINA).date() <= day:
        # moved through the ledger, last on or before the settlement day: nothing was posted after it, and the
        # center's imported records (written without ``updated_at``) cannot have settled this year since
        return interest_on(balance, rate)
    later = 0
    ours = serial_for(day.year, acct.account_no)
    for entry in LedgerEntry.flow_index.query(acct.account_no, LedgerEntry.flow_key >= day.isoformat()):
        if entry.date == day.isoformat() and entry.kind == "interest" and entry.serial_no != ours:
            return 0            # settled by the imported records
        if entry.date > day.isoformat():
            later += int(entry.amount) if entry.direction == DEPOSIT else -int(entry.amount)
    return interest_on(balance - later, rate)
