"""The ``Idempotency-Key`` contract (CONTRACT section 2; reliability-research 3.1).

* missing → 400 ``IDEMPOTENCY_KEY_MISSING``; malformed → 400 ``VALIDATION_FAILED``
* same key, same request → the first response again (status and body), business errors included
* same key, another request → 422 ``IDEMPOTENCY_KEY_REUSED``
* while the first is still running → 409 ``IN_PROGRESS``
* a 5xx answer (503 "bank unavailable") is not stored: the outcome is unknown and a retry with the same
  key must run again (it resumes the same business serial, which the bank and the ledger recognise)
* records are kept ``policy.idempotency.keep_hours`` (≥ 24 h)

The key is claimed with a conditional put *before* the handler runs and its outcome stored after, in
a write separate from the business transaction: a refusal stays the answer for that key even if a
retry would now succeed. An unexpected crash releases the claim; the business layer's own serial
(derived from the key) still keeps the money from moving twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, PutError

from chalicelib import errors
from chalicelib.store.idempotency import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,64}$")

Outcome = tuple[int, dict | list | None, dict[str, str]]


def validate_key(value: str | None) -> str:
    if value is None or value == "":
        raise errors.IdempotencyKeyMissing()
    if not _KEY_RE.match(value):
        raise errors.ValidationFailed.field(HEADER, "须为1至64个可打印字符")
    return value


def request_hash(method: str, path: str, body: bytes | None, query: dict | None) -> str:
    digest = hashlib.sha256()
    digest.update(method.encode() + b" " + path.encode() + b"\n")
    digest.update(json.dumps(query or {}, sort_keys=True).encode() + b"\n")
    if body:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            canonical = body
        digest.update(canonical)
    return digest.hexdigest()


def run(*, scope: str, key: str, req_hash: str, now: datetime, call: Callable[[], Outcome]) -> tuple[Outcome, bool]:
    """Run ``call`` at most once for (scope, key); returns (outcome, replayed)."""
    from chalicelib import policy  # here, not at the top: off every cold start's path (see http.auth._security)

    cfg = policy.get().idempotency
    ts = int(now.timestamp())
    record_key = f"{scope}#{key}"
    record = IdempotencyRecord(
        key=record_key,
        status="in_progress",
        request_hash=req_hash,
        in_progress_until=ts + cfg.in_progress_seconds,
        expires_at=ts + cfg.keep_hours * 3600,
        ttl=datetime.fromtimestamp(ts + cfg.keep_hours * 3600 + 86400, tz=UTC),
    )
    claimable = (
        IdempotencyRecord.key.does_not_exist()
        | (IdempotencyRecord.expires_at < ts)
        | ((IdempotencyRecord.status == "in_progress") & (IdempotencyRecord.in_progress_until < ts))
    )
    try:
        record.save(condition=claimable)
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        try:
            existing = IdempotencyRecord.get(record_key, consistent_read=True)
        except IdempotencyRecord.DoesNotExist:
            # the holder released its claim between our put and this read: it is still settling
            raise errors.InProgress() from None
        if existing.request_hash != req_hash:
            raise errors.IdempotencyKeyReused() from None
        if existing.status != "complete":
            raise errors.InProgress() from None
        body = json.loads(existing.response_body) if existing.response_body else None
        headers = json.loads(existing.response_headers) if existing.response_headers else {}
        return (int(existing.response_status), body, headers), True

    try:
        status, body, headers = call()
    except BaseException:
        _release(record)
        raise
    if status >= 500:
        # "Try again later" (e.g. the bank did not answer): the outcome is unknown, so it is not the key's
        # final answer; a retry with the same key runs again and resumes the same business serial.
        _release(record)
        return (status, body, headers), False
    record.update(actions=[
        IdempotencyRecord.status.set("complete"),
        IdempotencyRecord.response_status.set(status),
        IdempotencyRecord.response_body.set(json.dumps(body, ensure_ascii=False) if body is not None else None),
        IdempotencyRecord.response_headers.set(json.dumps(headers) if headers else None),
        IdempotencyRecord.in_progress_until.remove(),
    ])
    return (status, body, headers), False


def _release(record: IdempotencyRecord) -> None:
    try:
        record.delete(condition=IdempotencyRecord.status == "in_progress")
    except DeleteError:
        pass


def serial_from_key(scope: str, key: str, prefix: str) -> str:
    """A deterministic business serial for a request: the same key always names the same business."""
    digest = hashlib.sha256(f"{scope}#{key}".encode()).hexdigest()[:16].upper()
    return f"{prefix}{digest}"


def request_serial(req, prefix: str, name: str = "") -> str:
    """The business serial of an idempotent request: its ``Idempotency-Key`` within (caller, route[, name])."""
    return serial_from_key(req.scope(name), req.idempotency_key, prefix)
