"""Watch and break DynamoDB calls through botocore's event hooks (reliability-research 4.3).

:class:`DynamoWatch` registers on the process's one PynamoDB client (``chalicelib.store.base.connection()``)
and on any boto3 DynamoDB client handed to it. It records every call's operation name and, when asked,
makes exactly one chosen call fail in one of three ways. The call is named by operation and occurrence,
``at=("TransactWriteItems", 0)`` for the first transaction, so that a target stays the same call when an
in-process cache saves a read on a later run:

* ``throttle``: the call never reaches DynamoDB and answers ``ProvisionedThroughputExceededException``
  (reads) or ``ThrottlingException`` (transactions), as when botocore's retries are used up;
* ``conflict``: a write that DynamoDB refuses because of a concurrent transaction: ``TransactWriteItems``
  answers ``TransactionCanceledException`` with a ``TransactionConflict`` reason, a single-item write
  answers ``TransactionConflictException``; nothing is written;
* ``lost``: the call DOES reach DynamoDB and is applied, then the answer is lost on the way back
  (``ReadTimeoutError``): the caller cannot know the write happened.

    with DynamoWatch(fault="lost", at=("PutItem", 1)) as watch:
        client.http.post(...)
    watch.calls        # ["GetItem", "PutItem", ...]
    watch.injected     # "PutItem" (the call that was broken) or None when the request made fewer calls
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ReadTimeoutError

FAULTS = ("throttle", "conflict", "lost")
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class _Http:
    """The little of an HTTP response botocore looks at when a before-call hook answers instead."""

    def __init__(self, status_code: int):
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""
        self.text = ""
        self.raw = None


def _error(code: str, message: str, **extra: Any) -> tuple[_Http, dict[str, Any]]:
    parsed = {"Error": {"Code": code, "Message": message},
              "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}, **extra}
    return _Http(400), parsed


def refusal(fault: str, operation: str, params: dict[str, Any]) -> tuple[_Http, dict[str, Any]] | None:
    """The answer DynamoDB would give instead of applying ``operation`` (None: this fault does not apply)."""
    if fault == "throttle":
        if operation.startswith("Transact"):
            return _error("ThrottlingException", "Rate of requests exceeds the allowed throughput.")
        return _error("ProvisionedThroughputExceededException",
                      "The level of configured provisioned throughput for the table was exceeded.")
    if fault == "conflict":
        if operation == "TransactWriteItems":
            items = params.get("TransactItems", [])
            reasons = [{"Code": "None"} for _ in items]
            if reasons:
                reasons[-1] = {"Code": "TransactionConflict",
                               "Message": "Transaction is ongoing for the item"}
            return _error("TransactionCanceledException",
                          "Transaction cancelled, please refer cancellation reasons for specific reasons "
                          f"[{', '.join(r['Code'] for r in reasons)}]", CancellationReasons=reasons)
        if operation in WRITES:
            return _error("TransactionConflictException", "Operation was rejected because there is an ongoing "
                                                          "transaction for the item.")
        return None
    raise ValueError(f"unknown fault {fault!r}")


def _api_params(request_dict: Any) -> dict[str, Any]:
    body = request_dict.get("body") if isinstance(request_dict, dict) else None
    if isinstance(body, bytes | str) and body:
        try:
            return json.loads(body)
        except ValueError:
            return {}
    return body if isinstance(body, dict) else {}


@dataclass
class DynamoWatch:
    """Record the DynamoDB calls made while active; optionally break the ``at``-th one (see module doc)."""

    fault: str | None = None
    at: tuple[str, int] | None = None
    clients: list[Any] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    injected: str | None = None
    _lost_pending: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")

    # ------------------------------------------------------------------ hooks

    def _before(self, model=None, params=None, **_: Any):
        operation = model.name
        with self._lock:
            occurrence = self.calls.count(operation)
            self.calls.append(operation)
            if self.fault is None or (operation, occurrence) != self.at:
                return None
            if self.fault == "lost":
                self.injected = operation
                self._lost_pending = True
                return None
            answer = refusal(self.fault, operation, _api_params(params))
            if answer is not None:
                self.injected = operation
            return answer

    def _after(self, model=None, http_response=None, **_: Any) -> None:
        with self._lock:
            if not self._lost_pending:
                return
            self._lost_pending = False
        raise ReadTimeoutError(endpoint_url=f"dynamodb ({model.name}: applied, answer lost)")

    # ------------------------------------------------------------------ context

    def _targets(self) -> list[Any]:
        from chalicelib.store import base

        return [base.connection().client, *self.clients]

    def __enter__(self) -> DynamoWatch:
        self._registered = self._targets()
        for client in self._registered:
            client.meta.events.register_first("before-call.dynamodb", self._before, unique_id=f"watch-b{id(self)}")
            client.meta.events.register_first("after-call.dynamodb", self._after, unique_id=f"watch-a{id(self)}")
        return self

    def __exit__(self, *exc: Any) -> None:
        for client in self._registered:
            client.meta.events.unregister("before-call.dynamodb", unique_id=f"watch-b{id(self)}")
            client.meta.events.unregister("after-call.dynamodb", unique_id=f"watch-a{id(self)}")

    @property
    def count(self) -> int:
        return len(self.calls)

    def targets(self, fault: str) -> list[tuple[str, int]]:
        """Every call of this (clean) run that ``fault`` applies to, as ``(operation, occurrence)``."""
        seen: dict[str, int] = {}
        out = []
        for operation in self.calls:
            occurrence = seen.get(operation, 0)
            seen[operation] = occurrence + 1
            if fault == "throttle" or operation in WRITES:
                out.append((operation, occurrence))
        return out
