"""bench.latency.Meter: the latency-injected store of the fan-out benchmark (issue 18) adds its delay to every
DynamoDB call, overlaps it across threads as network waits overlap, and counts calls and items as they were made.
Every expected figure is counted or timed here, independently of the meter."""

from __future__ import annotations

import threading
import time

from pynamodb.transactions import TransactWrite

from bench.latency import Meter
from chalicelib.store import base
from chalicelib.store.kv import StateItem

DELAY_MS = 40


def _gets(n: int) -> None:
    for i in range(n):
        try:
            StateItem.get(f"bench#{i}", "-")
        except StateItem.DoesNotExist:
            pass


def test_each_call_waits_the_delay(aws):
    calls = 6
    _gets(calls)                                  # warm: the client and its connection exist
    with Meter(delay_ms=DELAY_MS) as meter:
        started = time.perf_counter()
        _gets(calls)
        delayed = time.perf_counter() - started
    assert meter.calls == calls and meter.sent == calls and meter.by_operation == {"GetItem": calls}
    # one after another, the six waits add up: at least 6 × 40 ms (a lower bound only: a loaded machine may add
    # any amount to a timing, so no upper bound and no comparison with an undelayed run)
    assert delayed >= calls * DELAY_MS / 1000
    assert meter.slept_s >= calls * DELAY_MS / 1000


def test_the_delay_is_gone_once_the_meter_is_left(aws):
    long_ms = 2_000          # five calls still delayed would take 10 s; undelayed they take milliseconds
    with Meter(delay_ms=long_ms) as meter:
        _gets(1)
    started = time.perf_counter()
    _gets(5)
    after = time.perf_counter() - started
    assert meter.calls == 1
    assert after < 5 * long_ms / 1000 / 2


def test_threads_overlap_their_waits(aws):
    threads, each, delay_ms = 4, 3, 200     # long waits, so a loaded machine's overhead stays small beside them
    _gets(1)
    with Meter(delay_ms=delay_ms) as meter:
        workers = [threading.Thread(target=_gets, args=(each,)) for _ in range(threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
    assert meter.calls == threads * each
    # each thread waits its own three delays; the four threads wait side by side, not 12 delays in a row
    assert elapsed >= each * delay_ms / 1000
    assert elapsed < threads * each * delay_ms / 1000 * 0.75
    assert meter.slept_s >= threads * each * delay_ms / 1000


def test_items_written_and_read_are_counted_by_kind(aws):
    with Meter() as meter:
        with StateItem.batch_write() as batch:
            for i in range(3):
                batch.save(StateItem(f"bench#w{i}", "-", status="new"))
        with TransactWrite(connection=base.connection()) as tx:
            tx.save(StateItem("bench#t0", "-", status="new"))
            tx.update(StateItem("bench#w0", "-"), actions=[StateItem.count.set(1)])
            tx.condition_check(StateItem, "bench#w1", "-", condition=StateItem.status == "new")
        StateItem("bench#p", "-").save()
        got = list(StateItem.batch_get([("bench#w0", "-"), ("bench#w1", "-"), ("bench#nothing", "-")]))
        found = list(StateItem.query("bench#w2"))
    assert len(got) == 2 and len(found) == 1
    assert meter.written == 3 + 1                 # the batch's three, the plain put
    assert meter.written_tx == 2                  # the transaction's put and update; its condition check writes nothing
    assert meter.read == 3                        # the batch get asked for three keys
    assert meter.returned == 1                    # the query answered one item
    assert meter.by_operation == {"BatchWriteItem": 1, "TransactWriteItems": 1, "PutItem": 1, "BatchGetItem": 1,
                                  "Query": 1}
