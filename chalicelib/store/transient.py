"""Which DynamoDB failures are transient (暂时性故障): worth the same request again a moment later.

Throttling once botocore's own retries are used up, a write that collided with a concurrent transaction,
DynamoDB's internal errors, and a call whose answer never came back (timeouts, dropped connections: the
write may or may not have been applied). The API answers these with 503 ``SERVICE_UNAVAILABLE`` and
``Retry-After``, never a 500, and stores no idempotent outcome for them, so the client's retry with the
same ``Idempotency-Key`` runs again and resumes the same business serial (which the ledger and the bank
recognise).
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

TRANSIENT_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "TransactionConflictException", "TransactionInProgressException", "InternalServerError",
    "ServiceUnavailable", "LimitExceededException",
})
TRANSIENT_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_NETWORK = (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)


def _chain(exc: BaseException):
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [getattr(current, "cause", None), current.__cause__, current.__context__]


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a DynamoDB failure that a retry can get past."""
    for current in _chain(exc):
        if isinstance(current, _NETWORK):
            return True
        if isinstance(current, ClientError):
            code = current.response.get("Error", {}).get("Code", "")
            if code in TRANSIENT_CODES:
                return True
            if code == "TransactionCanceledException":
                reasons = {r.get("Code") for r in current.response.get("CancellationReasons", []) or []}
                if reasons & TRANSIENT_REASONS and "ConditionalCheckFailed" not in reasons:
                    return True
    return False
