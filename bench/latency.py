"""A DynamoDB meter and a latency-injected store, as botocore event hooks on the shared PynamoDB client.

DynamoDB Local answers on the loopback in well under a millisecond; DynamoDB in a region answers in a few
milliseconds. A job whose items wait on round trips one after another is bound by that wait, and the fan-out's
workers (and each worker's threads) exist to overlap it. :class:`Meter` with ``delay_ms`` sleeps that long in the
calling thread before every request is sent (``before-send.dynamodb``: once per HTTP request, retries included),
then lets the request go to DynamoDB Local: the answers are real, only later. The sleep releases the GIL, so
threads waiting on "the network" overlap as they would against DynamoDB.

It also counts, per operation, the calls (``before-call.dynamodb``: once per API call) and the capacity units
DynamoDB Local reports (``after-call.dynamodb``: PynamoDB asks for ``ReturnConsumedCapacity=TOTAL`` on every item
operation), split into read and write units by the kind of operation.

    with Meter(delay_ms=10) as meter:
        jobs.run("settle-annual-interest", now)
    meter.calls, meter.by_operation, meter.write_units, meter.slept_s
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class Meter:
    """Count (and with ``delay_ms``, delay) every DynamoDB call made through ``clients`` while active (default:
    the process's shared PynamoDB client, :func:`chalicelib.store.base.connection`)."""

    def __init__(self, delay_ms: float = 0, clients: list[Any] | None = None):
        if delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        self.delay_ms = delay_ms
        self._clients = clients
        self._lock = threading.Lock()
        self.by_operation: Counter[str] = Counter()
        self.sent = 0                 # HTTP requests (a retried call is sent more than once)
        self.read_units = 0.0
        self.write_units = 0.0
        self.slept_s = 0.0            # the sleeps summed over every thread
        self.seconds: Counter[str] = Counter()     # per operation: call to answer, summed over every thread
        self.units: Counter[str] = Counter()       # per operation: capacity units reported
        self.written = 0              # items written by plain writes (PutItem, UpdateItem, DeleteItem, batch)
        self.written_tx = 0           # items written in transactions (TransactWriteItems: twice the units)
        self.read = 0                 # items asked for by key (GetItem, BatchGetItem, TransactGetItems)
        self.returned = 0             # items a Query or Scan answered with
        self._tag = f"gjj-meter-{id(self)}"

    @property
    def calls(self) -> int:
        return sum(self.by_operation.values())

    # ------------------------------------------------------------------ hooks

    def _before_call(self, model=None, context=None, **_: Any) -> None:
        if context is not None:
            context[self._tag] = time.perf_counter()
        with self._lock:
            self.by_operation[model.name] += 1

    def _parameters(self, model=None, params=None, **_: Any) -> None:
        """The items a call writes or reads by key, from its parameters (before they are serialized)."""
        params = params or {}
        name = model.name
        written = written_tx = read = 0
        if name in ("PutItem", "UpdateItem", "DeleteItem"):
            written = 1
        elif name == "BatchWriteItem":
            written = sum(len(v) for v in params.get("RequestItems", {}).values())
        elif name == "TransactWriteItems":
            written_tx = sum(1 for t in params.get("TransactItems", []) if "ConditionCheck" not in t)
        elif name == "GetItem":
            read = 1
        elif name == "BatchGetItem":
            read = sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())
        elif name == "TransactGetItems":
            read = len(params.get("TransactItems", []))
        with self._lock:
            self.written += written
            self.written_tx += written_tx
            self.read += read

    def _before_send(self, request=None, **_: Any) -> None:
        with self._lock:
            self.sent += 1
        if self.delay_ms:
            started = time.perf_counter()
            time.sleep(self.delay_ms / 1000)
            with self._lock:
                self.slept_s += time.perf_counter() - started
        return None           # no answer of ours: the request goes on to the endpoint

    def _after_call(self, model=None, parsed=None, context=None, **_: Any) -> None:
        started = (context or {}).get(self._tag)
        consumed = (parsed or {}).get("ConsumedCapacity") or []
        entries = consumed if isinstance(consumed, list) else [consumed]
        units = sum(float(e.get("CapacityUnits", 0) or 0) for e in entries)
        with self._lock:
            if started is not None:
                self.seconds[model.name] += time.perf_counter() - started
            self.units[model.name] += units
            self.returned += int((parsed or {}).get("Count", 0) or 0) if model.name in ("Query", "Scan") else 0
            if model.name in WRITES:
                self.write_units += units
            else:
                self.read_units += units

    # ------------------------------------------------------------------ context

    def __enter__(self) -> Meter:
        if self._clients is None:
            from chalicelib.store import base

            self._clients = [base.connection().client]
        for client in self._clients:
            events = client.meta.events
            # first: a mock answering at before-send (moto) must not answer before the delay is spent
            events.register_first("before-parameter-build.dynamodb", self._parameters, unique_id=f"{self._tag}-p")
            events.register_first("before-call.dynamodb", self._before_call, unique_id=f"{self._tag}-c")
            events.register_first("before-send.dynamodb", self._before_send, unique_id=f"{self._tag}-s")
            events.register_last("after-call.dynamodb", self._after_call, unique_id=f"{self._tag}-a")
        return self

    def __exit__(self, *exc: Any) -> None:
        for client in self._clients or ():
            events = client.meta.events
            events.unregister("before-parameter-build.dynamodb", unique_id=f"{self._tag}-p")
            events.unregister("before-call.dynamodb", unique_id=f"{self._tag}-c")
            events.unregister("before-send.dynamodb", unique_id=f"{self._tag}-s")
            events.unregister("after-call.dynamodb", unique_id=f"{self._tag}-a")

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "sent": self.sent, "written": self.written, "written_tx": self.written_tx,
                "read": self.read, "returned": self.returned, "by_operation": dict(sorted(self.by_operation.items())),
                "read_units": round(self.read_units, 1), "write_units": round(self.write_units, 1),
                "slept_s": round(self.slept_s, 2),
                "ms_per_call": {op: round(1000 * self.seconds[op] / n, 2)
                                for op, n in sorted(self.by_operation.items())},
                "units": {op: round(u, 1) for op, u in sorted(self.units.items())}}
