"""The ledger (账务): the only way a balance changes.

:func:`post` writes, in ONE DynamoDB transaction,

* each account's new balance, conditioned on the version it was read at (so no concurrent change is
  lost) and on the balance covering what leaves it (so it never goes negative); at an account's first posting
  of an HPF year also the balance carried into that year (上期余额, :mod:`chalicelib.rules.balances`); and the
  year's interest 积数 (``interest_accruals``, :mod:`chalicelib.rules.interest`), so the 30 June settlement and
  a closing's 销户结息 read it from the account instead of the ledger;
* one immutable :class:`~chalicelib.store.ledger.LedgerEntry` per posting, put with
  ``attribute_not_exists(serial_no)`` (so the same posting can never apply twice, even when a Lambda is
  retried after its first attempt wrote and lost the answer);
* an audit event (审计) for the movement, in the audit table;
* whatever the caller adds (:class:`Extra`): a business record, a status change, a condition check on the
  remittance window, each with the refusal to raise when its condition fails.

A repeated posting (every serial already on the ledger) is not an error: :func:`post` answers
``PostResult(replayed=True)`` with the entries first written. A race on an account's version is retried
with fresh reads. The serials are the caller's business keys: derive them from the ``Idempotency-Key``
(``idempotency.serial_from_key``) or from the thing being paid (``<roster>#<account>``).

Payments in (汇缴): debit the bank first with the serial as reference (the bank answers the same for the
same reference), then post; a retry posts at most once. Payments out (提取): post the withdrawal first
(the money is then reserved), then pay out; if the bank refuses, :func:`post` a reversal (``kind="reversal"``).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, masking
from chalicelib.store import base
from chalicelib.store.accounts import Account
from chalicelib.store.audit import AuditEvent
from chalicelib.store.ledger import DEPOSIT, WITHDRAWAL, LedgerEntry

MAX_ACTIONS = 100          # DynamoDB's limit of items in one transaction
_RETRIES = 6


@dataclass(frozen=True)
class Posting:
    """One balance change: ``amount`` fen (> 0) into (``D``) or out of (``W``) ``account_no``."""

    account_no: str
    serial_no: str
    direction: str
    amount: int
    kind: str                      # remit | backpay | interest | transfer_in | withdrawal | offset | reversal ...
    period: str | None = None      # YYYYMM for deposits
    type: str | None = None        # withdrawal type
    counterparty: str | None = None
    business_serial: str | None = None
    note: str | None = None
    reverses: str | None = None    # a reversal: the serial of the withdrawal it puts back (marked "reversed")
    value_date: str | None = None  # YYYY-MM-DD the entry is dated when not today (年终结息: the settlement day)
    carried: bool = False          # 年终结息: belongs to the next year's carried balance, not to its own date's 积数
    settles: int = 0               # 销户结息: the 积数 (fen·days) this interest pays out of the year

    def __post_init__(self) -> None:
        if self.direction not in (DEPOSIT, WITHDRAWAL):
            raise ValueError(f"direction must be D or W, not {self.direction!r}")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise ValueError(f"amount must be a positive integer of fen, not {self.amount!r}")

    @property
    def delta(self) -> int:
        return self.amount if self.direction == DEPOSIT else -self.amount


@dataclass
class Extra:
    """Another item of the posting's transaction (``apply(tx)`` adds exactly one action).

    ``refusal`` is what the caller gets when that item's condition fails (e.g. ``WindowClosed``).
    """

    apply: Callable[[TransactWrite], None]
    refusal: Exception | None = None


@dataclass
class PostResult:
    entries: list[LedgerEntry]
    balances: dict[str, int] = field(default_factory=dict)   # account_no -> balance after
    replayed: bool = False


class Race(Exception):
    """An account changed between read and write more times than we retry (very busy account)."""


def serial(prefix: str, now: datetime) -> str:
    """A new business serial (业务流水号): prefix, China-time timestamp, random tail."""
    return f"{prefix}{now.astimezone(clock.CHINA).strftime('%Y%m%d%H%M%S')}{secrets.token_hex(4).upper()}"


def accounts_per_transaction(extras: int = 0) -> int:
    """How many single-posting accounts fit in one transaction next to ``extras`` items and the audit."""
    return (MAX_ACTIONS - 1 - extras) // 2


def post(postings: Sequence[Posting], *, now: datetime, actor: str = "system", source: str | None = None,
         updates: dict[str, list[Any]] | None = None, extras: Sequence[Extra] = (),
         before_write: Callable[[dict[str, Account]], None] | None = None,
         read: dict[str, Account] | None = None) -> PostResult:
    """Apply ``postings`` atomically (see the module doc). ``updates`` adds PynamoDB update actions to an
    account's write (``[Account.status.set("closed")]``); ``before_write(accounts)`` may refuse on the
    freshly read accounts (status checks) by raising an :class:`~chalicelib.errors.ApiError`.

    ``read``: the accounts as the caller has just read them (issue 18: one read of an account per request). The
    first attempt plans on them instead of reading the accounts again; its transaction is conditioned on their
    versions like any attempt's, so a copy that is not current cancels it (nothing written) and the next attempt
    reads afresh; a refusal (``before_write``, ``_plan``) judged on such a copy is judged again on a fresh read."""
    if not postings:
        raise ValueError("nothing to post")
    serials = [p.serial_no for p in postings]
    if len(set(serials)) != len(serials):
        raise ValueError("two postings share a serial")
    account_nos = list(dict.fromkeys(p.account_no for p in postings))
    for extra_account in updates or {}:
        if extra_account not in account_nos:
            raise ValueError(f"update for {extra_account} without a posting")
    reversed_serials = [p.reverses for p in postings if p.reverses]
    if len(account_nos) + len(postings) + len(reversed_serials) + len(extras) + 1 > MAX_ACTIONS:
        raise ValueError("too many items for one transaction; split the postings")

    hinted = read is not None and all(no in read for no in account_nos)
    for _attempt in range(_RETRIES + (1 if hinted else 0)):
        first = hinted and _attempt == 0
        accounts = {no: read[no] for no in account_nos} if first else _read_accounts(account_nos)
        try:
            if before_write is not None:
                before_write(accounts)
            entries, balances = _plan(postings, accounts, now)
        except errors.ApiError:
            if first:
                continue        # judged on the caller's copy: judge again on a fresh read
            # A retry of a posting that went through finds the account already changed by it.
            replay = _replay(serials)
            if replay is not None:
                return replay
            raise
        tx = _LabelledTransaction()
        try:
            with tx:
                for i, account_no in enumerate(account_nos):
                    acct = accounts[account_no]
                    delta = sum(p.delta for p in postings if p.account_no == account_no)
                    condition = Account.version == acct.version
                    if delta < 0:
                        condition &= Account.balance >= -delta
                    actions = [Account.balance.set(balances[account_no]), Account.version.set(acct.version + 1),
                               Account.updated_at.set(now), *_year_opening(acct, postings, entries),
                               *_accrual(acct, postings, entries), *(updates or {}).get(account_no, [])]
                    tx.label = ("account", i)
                    tx.update(Account(account_no), actions=actions, condition=condition)
                for i, entry in enumerate(entries):
                    tx.label = ("entry", i)
                    tx.save(entry, condition=LedgerEntry.serial_no.does_not_exist())
                for i, p in enumerate(postings):
                    if p.reverses:
                        # the withdrawal being put back: it exists, on this account, for this amount, and is
                        # reversed once (every withdrawal ends either paid or reversed, never both, never twice)
                        tx.label = ("reverses", i)
                        tx.update(LedgerEntry(p.reverses), actions=[LedgerEntry.status.set("reversed")],
                                  condition=LedgerEntry.serial_no.exists() & (LedgerEntry.status != "reversed")
                                  & (LedgerEntry.account_no == p.account_no) & (LedgerEntry.amount == p.amount))
                tx.label = ("audit", 0)
                tx.save(_audit(postings, balances, now, actor, source))
                for i, extra in enumerate(extras):
                    tx.label = ("extra", i)
                    extra.apply(tx)
        except TransactWriteError as exc:
            failed = _failed_label(exc, tx.labels())
            if failed is None:
                if _conflicted(exc):
                    # another transaction held one of our items (real DynamoDB, under contention): nothing was
                    # written; read again and retry after a short, jittered pause
                    time.sleep(random.uniform(0.01, 0.05) * (_attempt + 1))
                    continue
                raise
            kind, index = failed
            if kind == "reverses":
                replay = _replay(serials)
                if replay is not None:
                    return replay
                raise errors.Conflict("这笔支取不存在或已退回") from None
            if kind == "entry":
                replay = _replay(serials)
                if replay is not None:
                    return replay
                raise errors.Conflict("这笔业务的一部分已入账，请联系公积金中心核对") from None
            if kind == "extra":
                replay = _replay(serials)
                if replay is not None:
                    return replay
                refusal = extras[index].refusal
                if refusal is None:
                    raise
                raise refusal from None
            continue    # an account moved under us: read again and retry
        _count_movement(postings)
        return PostResult(entries=entries, balances=balances)
    raise Race("账户正忙，请稍后重试")


def _year_opening(acct: Account, postings: Sequence[Posting], entries: list[LedgerEntry]) -> list[Any]:
    """Record 上期余额 (the balance carried into the HPF year) at the account's first posting of a year. An annual
    interest posting (``carried``) that lands after the next year began adds itself to that year's 上期余额."""
    from chalicelib import policy
    from chalicelib.rules import balances as year_balances

    settlement = policy.get().deposit.interest_settlement
    known = year_balances.plain(acct.year_openings)
    merged = {k: dict(v) for k, v in known.items()}
    for p, e in zip(postings, entries, strict=True):
        if e.account_no != acct.account_no:
            continue
        year = year_balances.hpf_year(e.date, settlement)
        if p.carried:
            following = merged.get(str(year + 1))
            carried_out = int(following["fen"]) if following is not None else int(e.balance_before)
            if following is not None:
                following["fen"] = carried_out + p.amount
            if str(year) not in merged:
                # quiet all year: it carried into ``year`` what it carried out of it (before this interest)
                merged = year_balances.merge(merged, year, e.flow_key, carried_out)
            continue
        if str(year) not in merged:
            merged = year_balances.merge(merged, year, e.flow_key, int(e.balance_before))
    return [] if merged == known else [Account.year_openings.set(merged)]


def _accrual(acct: Account, postings: Sequence[Posting], entries: list[LedgerEntry]) -> list[Any]:
    """The interest 积数 of the account's HPF year(s) after these postings (rules.interest.accrue)."""
    from chalicelib import policy
    from chalicelib.rules import interest as interest_rules

    movements = [interest_rules.Movement(e.date, p.delta, carried=p.carried, settles=p.settles)
                 for p, e in zip(postings, entries, strict=True) if e.account_no == acct.account_no]
    if not movements:
        return []
    known = interest_rules.plain(acct.interest_accruals)
    merged = interest_rules.accrue(known, int(acct.balance or 0), movements,
                                   policy.get().deposit.interest_settlement)
    return [] if merged == known else [Account.interest_accruals.set(merged)]


def _read_accounts(account_nos: list[str]) -> dict[str, Account]:
    found = {a.account_no: a for a in Account.batch_get(account_nos, consistent_read=True)}
    missing = [no for no in account_nos if no not in found]
    if missing:
        raise errors.NotFound("未找到公积金账户")
    return found


def _plan(postings: Sequence[Posting], accounts: dict[str, Account], now: datetime):
    today = now.astimezone(clock.CHINA).date().isoformat()
    running = {no: int(acct.balance or 0) for no, acct in accounts.items()}
    entries: list[LedgerEntry] = []
    for p in postings:
        before = running[p.account_no]
        after = before + p.delta
        if after < 0:
            raise errors.InsufficientBalance()
        running[p.account_no] = after
        day = p.value_date or today
        entries.append(LedgerEntry(
            serial_no=p.serial_no, account_no=p.account_no, direction=p.direction, kind=p.kind, type=p.type,
            period=p.period, date=day, amount=p.amount, balance_before=before, balance_after=after,
            counterparty=p.counterparty, business_serial=p.business_serial, note=p.note, created_at=now,
            **LedgerEntry.keys_for(p.account_no, p.direction, day, p.serial_no)))
    return entries, running


class _LabelledTransaction(TransactWrite):
    """A TransactWrite that remembers which of our items each action is. PynamoDB sends condition
    checks, deletes, puts and updates in that order, so cancellation reasons follow that order too."""

    def __init__(self) -> None:
        super().__init__(connection=base.connection())
        self.label: tuple[str, int] = ("?", 0)
        self._labels: dict[str, list[tuple[str, int]]] = {"check": [], "delete": [], "put": [], "update": []}

    def condition_check(self, *args, **kwargs):
        self._labels["check"].append(self.label)
        return super().condition_check(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._labels["delete"].append(self.label)
        return super().delete(*args, **kwargs)

    def save(self, *args, **kwargs):
        self._labels["put"].append(self.label)
        return super().save(*args, **kwargs)

    def update(self, *args, **kwargs):
        self._labels["update"].append(self.label)
        return super().update(*args, **kwargs)

    def labels(self) -> list[tuple[str, int]]:
        return [*self._labels["check"], *self._labels["delete"], *self._labels["put"], *self._labels["update"]]


def _failed_label(exc: TransactWriteError, labels: list[tuple[str, int]]) -> tuple[str, int] | None:
    if exc.cause_response_code != "TransactionCanceledException":
        return None
    reasons = exc.cancellation_reasons or []
    failed = [label for label, reason in zip(labels, reasons, strict=False)
              if reason is not None and reason.code == "ConditionalCheckFailed"]
    if not failed:
        return None
    # An entry that exists means a replay, whatever else failed with it.
    for label in failed:
        if label[0] == "entry":
            return label
    for label in failed:
        if label[0] == "extra":
            return label
    return failed[0]


def _conflicted(exc: TransactWriteError) -> bool:
    """Cancelled only because another transaction was using an item (``TransactionConflict``)."""
    if exc.cause_response_code != "TransactionCanceledException":
        return False
    codes = {reason.code for reason in (exc.cancellation_reasons or []) if reason is not None and reason.code}
    return bool(codes) and codes <= {"TransactionConflict", "None"}


def mark_paid(serial_no: str) -> bool:
    """The bank paid a posted withdrawal out: its entry's status moves ``posted`` → ``paid`` (display only; the
    money moved at posting). False when it is not ``posted`` (already paid, reversed, or unknown)."""
    from pynamodb.exceptions import UpdateError

    try:
        LedgerEntry(serial_no).update(actions=[LedgerEntry.status.set("paid")],
                                      condition=LedgerEntry.status == "posted")
    except UpdateError as exc:
        if base.condition_failed(exc):
            return False
        raise
    return True


def _replay(serials: list[str]) -> PostResult | None:
    """The entries of an earlier identical posting, or None when it never happened."""
    found = {e.serial_no: e for e in LedgerEntry.batch_get(serials, consistent_read=True)}
    if not found:
        return None
    if len(found) != len(serials):
        raise errors.Conflict("这笔业务的一部分已入账，请联系公积金中心核对")
    entries = [found[s] for s in serials]
    balances: dict[str, int] = {}
    for e in entries:
        balances[e.account_no] = int(e.balance_after)
    return PostResult(entries=entries, balances=balances, replayed=True)


METRIC_OF_KIND = {"reversal": "Reversals", "interest": "Interest"}


def _count_movement(postings: Sequence[Posting]) -> None:
    """Business metrics (CloudWatch EMF), once per posted transaction, never on a replay: ``Payments`` (money
    in: remittances, back-payments...), ``Withdrawals`` (money out), ``Reversals``, ``Interest``; dimension
    ``kind`` (and ``type`` for withdrawals); one metric per kind of posting in the transaction (a closing posts
    its 销户结息 and its withdrawal together). A metric failure never touches the money path."""
    from chalicelib import log

    groups: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for p in postings:
        name = METRIC_OF_KIND.get(p.kind) or ("Payments" if p.direction == DEPOSIT else "Withdrawals")
        dims = {"kind": p.kind}
        if p.direction == WITHDRAWAL and p.type:
            dims["type"] = p.type
        key = (name, tuple(dims.items()))
        groups[key] = groups.get(key, 0) + 1
    try:
        for (name, dims), count in groups.items():
            log.metric(name, count, **dict(dims))
    except Exception:  # noqa: BLE001
        pass


def _audit(postings: Sequence[Posting], balances: dict[str, int], now: datetime, actor: str,
           source: str | None) -> AuditEvent:
    first = postings[0]
    details = {
        "serials": ",".join(p.serial_no for p in postings[:20]) + ("…" if len(postings) > 20 else ""),
        "postings": str(len(postings)),
        "accounts": str(len(balances)),
        "total_in": str(sum(p.amount for p in postings if p.direction == DEPOSIT)),
        "total_out": str(sum(p.amount for p in postings if p.direction == WITHDRAWAL)),
    }
    stamp = now.astimezone(clock.CHINA)
    return AuditEvent(actor=masking.scrub(actor), event_key=f"{stamp.isoformat()}#{secrets.token_hex(4)}",
                      day=stamp.date().isoformat(), event=f"money.{first.kind}", result="ok", source=source,
                      at=clock.iso(now), details=details)

