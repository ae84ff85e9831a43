"""The ``dispatch-sms`` job (短信发送): sends the queued notification SMS (payment, withdrawal, review decision,
reminders) through :mod:`chalicelib.adapters.sms`, every minute.

The queue is the sparse ``due-index`` of ``sms-outbox`` (``queue = "pending"``, ``due_at`` epoch seconds),
read in pages of ``policy.sms_dispatch.batch_size``. For each SMS that is due:

1. **claim** it with a conditional update (still pending and still at the ``due_at`` just read) that counts
   the attempt and moves ``due_at`` a lease ahead: of two runs at the same moment only one wins an SMS, the
   other skips it, so nothing is sent twice;
2. **send** it;
3. **sent**: ``status = sent``, ``sent_at``, and ``queue`` removed (it leaves the index);
   **failed**: ``due_at`` pushed back by exponential back-off (``backoff_base_seconds`` doubling, capped at
   ``backoff_max_seconds``); after ``max_attempts`` it is **given up** (``status = given_up``, ``queue``
   removed) with an audit event.

If a run dies between claim and send, the lease expires and a later run sends it (at least once; the
claim makes a duplicate possible only after such a crash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock, log, policy
from chalicelib.adapters import sms
from chalicelib.services import audit
from chalicelib.store.messages import OutboundSms

logger = log.get("sms-dispatch")
PENDING = "pending"


def dispatch(now: datetime, sender: Any = None) -> dict[str, int]:
    """Send every queued SMS due at ``now`` (up to ``max_per_run``); a summary for the log."""

    rules = policy.get().sms_dispatch
    sender = sender or sms.sender()
    stamp = int(now.timestamp())
    summary = {"sent": 0, "failed": 0, "given_up": 0, "skipped": 0}
    last_key = None
    handled = 0
    while handled < rules.max_per_run:
        results = OutboundSms.due_index.query(PENDING, OutboundSms.due_at <= stamp, limit=rules.batch_size,
                                              page_size=rules.batch_size, last_evaluated_key=last_key)
        items = list(results)
        for item in items:
            if handled >= rules.max_per_run:
                break
            handled += 1
            summary[_handle(item, now, stamp, sender, rules)] += 1
        last_key = results.last_evaluated_key
        if not last_key or not items:
            break
    if any(summary.values()):
        log.event(logger, "sms dispatch", **summary)
    return summary


def _handle(item: OutboundSms, now: datetime, stamp: int, sender: Any, rules: Any) -> str:
    attempts = int(item.attempts or 0) + 1
    try:
        item.update(actions=[OutboundSms.attempts.set(attempts),
                             OutboundSms.due_at.set(stamp + rules.lease_seconds)],
                    condition=(OutboundSms.queue == PENDING) & (OutboundSms.due_at == item.due_at))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return "skipped"            # another run claimed it, or it is done
        raise
    try:
        sender.send(item.phone, item.text)
    except Exception as exc:  # noqa: BLE001  (a bad SMS must not stop the batch; the reason is kept)
        return _failed(item, attempts, str(exc) or type(exc).__name__, now, stamp, rules)
    item.update(actions=[OutboundSms.status.set("sent"), OutboundSms.sent_at.set(clock.iso(now)),
                         OutboundSms.queue.remove(), OutboundSms.last_error.remove()])
    return "sent"


def _failed(item: OutboundSms, attempts: int, reason: str, now: datetime, stamp: int, rules: Any) -> str:
    reason = reason[:200]
    if attempts >= rules.max_attempts:
        item.update(actions=[OutboundSms.status.set("given_up"), OutboundSms.queue.remove(),
                             OutboundSms.last_error.set(reason)])
        audit.record("sms.given_up", role="system", who="dispatch-sms", result=audit.ERROR, now=now,
                     details={"sms_id": item.sms_id, "phone": item.phone, "attempts": attempts, "error": reason})
        return "given_up"
    item.update(actions=[OutboundSms.due_at.set(stamp + rules.backoff(attempts)),
                         OutboundSms.last_error.set(reason)])
    logger.warning("sms send failed", extra={"fields": {"sms_id": item.sms_id, "attempts": attempts}})
    return "failed"
