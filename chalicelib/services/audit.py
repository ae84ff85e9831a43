"""Audit trail (审计记录): one record per authentication event or money movement.

Kept in its own table, apart from business data. Who, what, when, result and source IP; every
identifier is masked (ID numbers, phones and cards through :func:`chalicelib.masking.scrub`), and
secrets (passwords, codes, tokens) never reach this module. Other areas reuse :func:`record` for
money movements (``event="payment.remittance"``, ``details={"serial_no": ..., "amount": "2126.00"}``), or
:func:`build` for an event written inside the caller's own transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from chalicelib import clock, log, masking
from chalicelib.store.audit import AuditEvent

logger = log.get("audit")

OK, REFUSED, ERROR = "ok", "refused", "error"
_SECRET_WORDS = ("password", "sms_code", "code", "token", "captcha_answer", "secret", "face_image")


def actor_key(role: str, identifier: str | None) -> str:
    """``depositor:140105********1234``; unknown callers are ``<role>:anonymous``."""
    return f"{role}:{masking.scrub(identifier) if identifier else 'anonymous'}"


def _clean(details: dict[str, Any] | None) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in (details or {}).items():
        if value is None or any(word in key.lower() for word in _SECRET_WORDS):
            continue
        clean[str(key)] = masking.scrub(str(value))[:200]
    return clean


def build(event: str, *, role: str, who: str | None, result: str, now: datetime | None = None,
          source: str | None = None, details: dict[str, Any] | None = None):
    """An unsaved audit event, masked, for a caller that writes it inside its own transaction
    (``tx.save(audit.build(...))``)."""

    now = now or clock.now()
    local = now.astimezone(clock.CHINA)
    return AuditEvent(actor=actor_key(role, who), event_key=f"{local.isoformat()}#{secrets.token_hex(4)}",
                      day=local.strftime("%Y-%m-%d"), event=event, result=result, source=source or None,
                      at=clock.iso(now), details=_clean(details) or None)


def record(event: str, *, role: str, who: str | None, result: str, now: datetime | None = None,
           source: str | None = None, details: dict[str, Any] | None = None):
    """Write one audit event and return it. ``who`` is the principal (masked here); ``result`` is
    ``ok``, ``refused`` or ``error``. Never raises for a failed write: the failure is logged instead,
    so an audit outage cannot turn a refusal into a 500 (the request log still carries the event)."""
    item = build(event, role=role, who=who, result=result, now=now, source=source, details=details)
    try:
        item.save()
    except Exception:  # noqa: BLE001
        logger.exception("audit write failed", extra={"fields": {"event": event, "result": result}})
    log.event(logger, "audit", audit_event=event, result=result, actor=item.actor, source=source or "")
    if event.startswith("auth.login"):          # business metric: logins by method (password, sms...) and result
        log.metric("Logins", method=event.rsplit(".", 1)[-1], role=role, result=result)
    return item


def events_of(role: str, who: str) -> list:
    """The audit events of one principal, oldest first (operators' tools and tests)."""

    return list(AuditEvent.query(actor_key(role, who)))
