"""Business records (业务明细) and the center's review (中心审核).

Every application a citizen, unit or developer makes is one :class:`BusinessRecord`. Kinds that need a
person at the center to look at them are *submitted for review*: they wait in the operators' queue
(``queue-index``) until an operator approves or rejects them with an opinion (审批意见).

What approval *does* belongs to the business area: it registers a :class:`Reviewer` for its kind
(``register("withdrawal", Reviewer(approve=..., reject=...))``) at import. The review routes in
:mod:`chalicelib.handlers.reviews` look the reviewer up, so a new reviewable kind needs no new route.

Deciding is done once: the record's status moves from ``submitted`` under a condition, so two
operators clicking at the same time cannot both approve.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock, errors
from chalicelib.store import business as records
from chalicelib.store.base import condition_failed
from chalicelib.store.business import BusinessRecord, submit  # noqa: F401  (business.submit: the repository's)


@dataclass(frozen=True)
class Reviewer:
    """What happens when an operator decides a record of one kind.

    ``approve(record, opinion, now)`` does the business (pay out, open the account, create the loan…)
    and returns the record's final status (``approved``, ``paid`` or ``done``); it may raise an
    :class:`~chalicelib.errors.ApiError` to refuse the approval (nothing is decided then).
    ``reject(record, opinion, now)`` undoes what submitting reserved, if anything (optional).
    ``notify`` tells the owner (optional; called after the decision is stored).
    """

    title: str
    approve: Callable[[BusinessRecord, str, datetime], str]
    reject: Callable[[BusinessRecord, str, datetime], None] | None = None
    notify: Callable[[BusinessRecord, datetime], None] | None = None


_REVIEWERS: dict[str, Reviewer] = {}
# Modules that register reviewers; imported lazily when a review route needs them.
REVIEWER_MODULES: list[str] = [
    "chalicelib.services.flexible",
    "chalicelib.services.withdrawals",
    "chalicelib.services.units",
    "chalicelib.services.developers",
]
CLAIM_SECONDS = 300     # how long a decision may run (bank payout included) before another operator may take over


def register(kind: str, reviewer: Reviewer) -> None:
    _REVIEWERS[kind] = reviewer


def reviewer_for(kind: str) -> Reviewer:
    if kind not in _REVIEWERS:
        for module in REVIEWER_MODULES:
            importlib.import_module(module)
    if kind not in _REVIEWERS:
        raise errors.NotFound("没有这一类待审业务")
    return _REVIEWERS[kind]


def kinds() -> list[str]:
    for module in REVIEWER_MODULES:
        importlib.import_module(module)
    return sorted(_REVIEWERS)


def new_record(*, serial_no: str, owner: str, kind: str, title: str, now: datetime, review: bool,
               type: str | None = None, amount: int | None = None, account_no: str | None = None,
               details: dict[str, Any] | None = None, status: str | None = None) -> BusinessRecord:
    """A record ready to save (alone, or inside a ledger transaction as an ``Extra``)."""
    submitted_at = clock.iso(now)
    return BusinessRecord(
        serial_no=serial_no, owner=owner, kind=kind, type=type, title=title,
        status=status or "submitted", submitted_at=submitted_at,
        submitted_key=BusinessRecord.keys(submitted_at, serial_no), amount=amount, account_no=account_no,
        details={k: str(v) for k, v in (details or {}).items() if v is not None} or None,
        queue=kind if review else None)


def get(serial_no: str) -> BusinessRecord:
    record = records.find(serial_no)
    if record is None:
        raise errors.NotFound("未找到该业务")
    return record


def decide(serial_no: str, *, approve: bool, opinion: str, operator: str, now: datetime) -> BusinessRecord:
    """An operator's decision: claim the record, run the kind's reviewer, then record status, opinion and time.

    The claim comes first (a conditional write), so two operators deciding at once cannot both run their
    side effects: without it an approval could pay out or create a loan while a concurrent rejection wins the
    status. A reviewer that refuses (raises) releases the claim; a claim left by a crashed process lapses after
    ``CLAIM_SECONDS`` and the next decision takes over (approvals resume: their postings are replay-safe)."""
    record = get(serial_no)
    if record.status != "submitted" or record.queue is None:
        raise errors.AlreadyDone("该业务已审核")
    reviewer = reviewer_for(record.kind)
    token = _claim(record, now)
    try:
        if approve:
            status = reviewer.approve(record, opinion, now)
        else:
            if reviewer.reject is not None:
                reviewer.reject(record, opinion, now)
            status = "rejected"
    except BaseException:
        records.release(serial_no, token)
        raise
    record = get(serial_no)
    try:
        record.update(actions=[BusinessRecord.status.set(status), BusinessRecord.opinion.set(opinion),
                               BusinessRecord.decided_at.set(clock.iso(now)),
                               BusinessRecord.decided_by.set(operator), BusinessRecord.queue.remove(),
                               BusinessRecord.claim.remove(), BusinessRecord.claim_until.remove()],
                      condition=(BusinessRecord.status == "submitted") & (BusinessRecord.claim == token))
    except UpdateError as exc:
        if condition_failed(exc):
            raise errors.AlreadyDone("该业务已审核") from None
        raise
    if reviewer.notify is not None:
        reviewer.notify(record, now)
    return record


def _claim(record: BusinessRecord, now: datetime) -> str:
    """Take the record for one decision; 409 ``IN_PROGRESS`` while another operator's decision runs."""
    import secrets

    token = secrets.token_hex(8)
    ts = int(now.timestamp())
    if records.claim(record, token, until=ts + CLAIM_SECONDS, now_ts=ts) is None:
        if get(record.serial_no).status != "submitted":
            raise errors.AlreadyDone("该业务已审核")
        raise errors.InProgress("另一位经办人正在审核该业务，请稍后刷新")
    return token


def set_status(serial_no: str, status: str, *, now: datetime, opinion: str | None = None) -> None:
    """Move a record on outside review (e.g. ``paid`` after an automatic payout)."""
    actions = [BusinessRecord.status.set(status), BusinessRecord.decided_at.set(clock.iso(now))]
    if opinion is not None:
        actions.append(BusinessRecord.opinion.set(opinion))
    # read first: the record is versioned, and an update of a bare BusinessRecord(serial) would be
    # conditioned on "no version yet" and always fail
    get(serial_no).update(actions=actions)
