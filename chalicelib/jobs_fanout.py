"""Jobs that fan out across workers (issue 18): a coordinator, shards, workers, continuations.

A per-item job is split into ``GJJ_JOB_SHARDS`` shards, each a key range of an index read in key order (for
``settle-annual-interest`` the accounts' ``book-index``, for ``loan-offset-deduction`` the day's loans in the
``offset-index``), or, for a job with no index to read in order (``reprice-loans``: open loans), a segment of a
parallel Scan (:attr:`FanoutJob.scan`; its checkpoint is the last key the Scan evaluated). The scheduled function is
the **coordinator** (:func:`start`): it writes the run item and one item per shard in the ``state`` table and sends
one message per shard to the jobs queue (:mod:`chalicelib.adapters.queue`). A **worker** (:func:`work`; in AWS the
``job_worker`` Lambda, SQS batch size 1) takes a shard's message and works through its range page by page; each
page's writes are conditioned and batched by the job, and the job records the page in the shard's checkpoint
(:func:`checkpoint`, forward only). Between pages the worker looks at its Lambda's time
(:func:`chalicelib.fanout.out_of_time`); when it is nearly up it sends its own **continuation** (the same shard, the
next hop) and returns, instead of waiting for the next firing. When a shard's range is exhausted the shard is marked
done once (conditioned), and the run item counts it; the shard that makes the count reach the number of shards marks
the run done.

State items (``state`` table), all under the run's ``pk`` (``job#<job>#<run>``):

* ``sk = "-"``: the run: ``status`` running | done, ``count`` shards done, ``data`` {``shards``, ``context``
  (what every shard must agree on: the year, the rate)}, ``value`` the furthest key any shard has finished (for
  the operator; with one shard, where the run stands).
* ``sk = "shard#<gen>#0003"``: a shard of the run item of generation ``gen`` (``data.gen``, drawn when the run
  item is written: an operator who deletes a run item to run it again gets fresh shards): ``status`` new | queued |
  running | failed | done, ``data`` {``lo`` (exclusive),
  ``hi`` (inclusive), ``lease`` (epoch seconds until which a worker may still be on it), ``count_<outcome>`` how
  many of its items ended so (a job whose pages report :attr:`Page.counts`)}, ``value`` the last key finished,
  ``count`` items written, ``total`` an amount in fen.

Running the coordinator again for the same run starts nothing new: a done run answers at once, and a shard is sent
again only when no worker can still be on it: it failed (its worker raised, and the queue's retries may also bring
it back), or its lease ran out (a worker killed without a word; the lease is longer than a worker Lambda may live).
Locally nothing outlives the in-process drain, so every unfinished shard is sent again. Two workers on one shard at
once (a redelivery and a resend) are safe, only wasteful: every write is conditioned, the checkpoint only moves
forward and a shard is counted done once.

A job may cut its own shards instead (``Plan.bounds``, with the plan handed to :func:`start`): ``gjj import``'s shards
are line ranges of its file (:mod:`chalicelib.importer_fanout`), the same coordinator, worker and checkpoints.

Locally (``gjj jobs run``, ``make run``, the tests) :func:`start` drains the local queue in this process with
``GJJ_JOB_WORKERS`` threads: the same coordinator and worker code. A worker that raises leaves its message in the
local dead-letter file and its shard ``failed``; the error is raised to the caller as a failed Lambda reports it.
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib import clock, fanout, log, settings
from chalicelib.adapters import queue as work_queue
from chalicelib.store.kv import StateItem

logger = log.get("fanout")
SAMPLE_KEYS = 8192          # at most this many keys held to cut the shards (see _evenly)
LEASE_SECONDS = 16 * 60     # a worker Lambda lives 15 minutes at most; a shard quiet longer has no worker


@dataclass(frozen=True)
class Shard:
    run: str                 # the run item's pk
    gen: str                 # the run item's generation (shards of a deleted and restarted run are not its)
    index: int
    lo: str | None           # exclusive (None: from the first key)
    hi: str | None           # inclusive (None: to the last key)
    cursor: str | None       # the last key finished (None: none yet)
    segment: int | None = None     # a parallel-scan shard: Segment / TotalSegments (lo and hi unused)
    segments: int | None = None

    @property
    def after(self) -> str | None:
        """The key the next page starts after."""
        return self.cursor if self.cursor is not None else self.lo

    def within(self, keys: list[str]) -> tuple[list[str], bool]:
        """``keys`` (in order, all after :attr:`after`) cut at :attr:`hi`; True when the cut reached it."""
        if self.hi is None:
            return keys, False
        inside = [k for k in keys if k <= self.hi]
        return inside, len(inside) < len(keys)


@dataclass(frozen=True)
class Page:
    last: str | None         # the last key of the page (None: nothing was left)
    count: int = 0
    amount: int = 0
    more: bool = True        # False: the shard's range is exhausted with this page
    counts: dict[str, int] = field(default_factory=dict)   # the page's items by outcome (given to checkpoint too)


@dataclass(frozen=True)
class Plan:
    run: str                                  # the run's pk: one run per moment the job settles (a year, a day)
    context: dict[str, Any] = field(default_factory=dict)   # JSON: what every shard must agree on
    # the shards' (lo, hi) ranges as the job cut them itself (the import's line ranges); None: the coordinator cuts
    # ``keys`` into ``shards`` ranges. Read only when the run item is first written.
    bounds: tuple[tuple[str | None, str | None], ...] | None = None


@dataclass(frozen=True)
class FanoutJob:
    name: str
    plan: Callable[[datetime], Plan]
    keys: Callable[[dict[str, Any]], Iterable[str]]          # every key in order (only read to split, shards > 1)
    page: Callable[[dict[str, Any], Shard, datetime], Page]  # the next page of a shard, written and checkpointed
    # once, when the run is done, with the run's totals: posted, amount, counts (outcome -> items, every shard)
    finished: Callable[[dict[str, Any], dict[str, Any], datetime], None]
    # the firing's answer; totals (None: the workers run elsewhere) are this firing's: posted, amount, pages, counts
    summary: Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]] = lambda context, totals: {}
    scan: bool = False       # shards are parallel-scan segments of a table, not key ranges of an index


# name -> "module:attribute" of its FanoutJob (imported on first use, like jobs.Job.load)
REGISTRY: dict[str, str] = {
    "settle-annual-interest": "chalicelib.services.interest:FANOUT",
    "send-appointment-reminders": "chalicelib.services.appointments:FANOUT",
    "send-remittance-reminders": "chalicelib.services.remittance:FANOUT",
    "loan-offset-deduction": "chalicelib.services.loan_offset:FANOUT",
    "reprice-loans": "chalicelib.services.loan_repricing:FANOUT",
    "import": "chalicelib.importer_fanout:FANOUT",
}


def get(name: str) -> FanoutJob:
    module, _, attr = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def shard_sk(gen: str, index: int) -> str:
    return f"shard#{gen}#{index:04d}"


RUN_SK = "-"
COUNT_PREFIX = "count_"      # a shard's per-outcome counts: data["count_<outcome>"]


def tally(outcomes: Iterable[str]) -> dict[str, int]:
    """A page's items by outcome (for :func:`checkpoint`'s ``counts``), outcomes that did not occur left out."""
    out: dict[str, int] = {}
    for outcome in outcomes:
        out[outcome] = out.get(outcome, 0) + 1
    return out


def by_outcome(totals: dict[str, Any], outcomes: Iterable[str]) -> dict[str, int]:
    """Every one of ``outcomes`` with its count in ``totals`` (a run's or a firing's; 0 when none)."""
    counts = totals.get("counts", {})
    return {k: int(counts.get(k, 0)) for k in outcomes}


def _no_totals() -> dict[str, Any]:
    return {"posted": 0, "amount": 0, "pages": 0, "counts": {}}


def status(job: FanoutJob, now: datetime) -> dict[str, Any]:
    """Where the run for ``now`` stands, for an operator (``gjj jobs status``): the run item and each shard of its
    generation: status, items written, the checkpoint, the lease, per-outcome counts. Read only; ``None`` for the
    run when the coordinator has not fired for that moment yet."""
    plan = job.plan(now)
    try:
        run = StateItem.get(plan.run, RUN_SK, consistent_read=True)
    except StateItem.DoesNotExist:
        return {"job": job.name, "run": plan.run, "status": None, "note": "no run for this moment yet"}
    data = _data(run)
    shards = []
    for shard in StateItem.query(plan.run, StateItem.sk.startswith(f"shard#{data['gen']}#"), consistent_read=True):
        sd = _data(shard)
        shards.append({"shard": _index(shard), "status": shard.status, "items": int(shard.count or 0),
                       "checkpoint": shard.value, "updated_at": shard.updated_at,
                       "lease_until": int(sd.get("lease", 0)) or None,
                       "counts": {k[len(COUNT_PREFIX):]: int(v) for k, v in sd.items() if k.startswith(COUNT_PREFIX)}})
    return {"job": job.name, "run": plan.run, "status": run.status, "shards_done": int(run.count or 0),
            "shards": int(data["shards"]), "furthest": run.value, "updated_at": run.updated_at,
            "items": sum(s["items"] for s in shards), "by_shard": shards}


# ----------------------------------------------------------------------------------------------- coordinator

def start(job: FanoutJob, now: datetime, queue: work_queue.WorkQueue | None = None,
          shards: int | None = None, *, plan: Plan | None = None, workers: int | None = None) -> dict[str, Any]:
    """The coordinator: create the run (once), send the shards no worker is on; locally, drain the queue (with
    ``workers`` threads; default ``GJJ_JOB_WORKERS``). ``plan``: the run as the caller planned it (the import's,
    from its file) instead of ``job.plan(now)``."""
    q = queue if queue is not None else work_queue.get()
    local = isinstance(q, work_queue.LocalQueue)
    plan = plan if plan is not None else job.plan(now)
    run = _run_item(job, plan, now, shards or settings.get().job_shards)
    if run.status == "done":
        return {**job.summary(plan.context, _no_totals()), "done": True, "posted": 0,
                "note": "already done"}
    gen = _data(run)["gen"]
    _ensure_shards(plan.run, gen, _data(run)["bounds"], now, job.scan)
    sent = 0
    shards_now = list(StateItem.query(plan.run, StateItem.sk.startswith(f"shard#{gen}#"), consistent_read=True))
    if all(shard.status == "done" for shard in shards_now):   # the last worker died before finishing the run
        _finish_run(job, plan.run, gen, _data(run)["context"], now)
        return {**job.summary(plan.context, _no_totals()), "done": True}
    for shard in shards_now:
        if _orphaned(shard, local) and _claim(shard, "queued"):
            q.send(_message(job.name, plan.run, gen, _index(shard), now, hop=0))
            sent += 1
    if not local:
        log.event(logger, "fan-out started", job=job.name, run=plan.run, sent=sent)
        return {**job.summary(plan.context, None), "done": False, "sent": sent}
    totals = _drain(q, workers)
    done = StateItem.get(plan.run, RUN_SK, consistent_read=True).status == "done"
    return {**job.summary(plan.context, totals), "done": done}


def _run_item(job: FanoutJob, plan: Plan, now: datetime, shards: int) -> StateItem:
    try:
        return StateItem.get(plan.run, RUN_SK, consistent_read=True)
    except StateItem.DoesNotExist:
        pass
    if plan.bounds is not None:
        bounds: list = [tuple(b) for b in plan.bounds]
    elif job.scan:
        bounds = [(i, shards) for i in range(shards)]
    else:
        bounds = _split(_evenly(job.keys(plan.context), SAMPLE_KEYS), shards) if shards > 1 else [(None, None)]
    item = StateItem(plan.run, RUN_SK, status="running", count=0, updated_at=clock.iso(now),
                     data={"gen": uuid.uuid4().hex[:8], "shards": len(bounds), "bounds": [list(b) for b in bounds],
                           "context": plan.context, "job": job.name})
    try:
        item.save(condition=StateItem.pk.does_not_exist())
    except PutError as exc:   # a twin coordinator wrote it first: its bounds are the ones
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return StateItem.get(plan.run, RUN_SK, consistent_read=True)
    return item


def _ensure_shards(run: str, gen: str, bounds: list, now: datetime, scan: bool = False) -> None:
    """The run's shard items, from the bounds on the run item (a coordinator that died between the two writes,
    or a twin, finds them written once)."""
    for i, (lo, hi) in enumerate(bounds):
        where = {"segment": int(lo), "segments": int(hi)} if scan else {"lo": lo, "hi": hi}
        try:
            StateItem(run, shard_sk(gen, i), status="new", count=0, total=0, data={**where, "lease": 0},
                      updated_at=clock.iso(now)).save(condition=StateItem.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise


def _evenly(keys: Iterable[str], limit: int) -> list[str]:
    """An evenly spaced sample of ``keys`` (in order) of at most ``limit`` keys, read in one pass: every key while
    they fit, then every second, fourth … (the stride doubles each time the sample outgrows ``limit``). The shards
    are cut from it, so the coordinator never holds every key: 10 M account numbers are about 700 MB as Python
    strings, more than its Lambda has; the sample is a few hundred KB, and each shard gets its share of the keys
    give or take one stride."""
    sample: list[str] = []
    stride = 1
    for i, key in enumerate(keys):
        if i % stride == 0:
            sample.append(key)
            if len(sample) > limit:
                sample = sample[::2]
                stride *= 2
    return sample


def _split(keys: list[str], shards: int) -> list[tuple[str | None, str | None]]:
    """``shards`` consecutive key ranges (lo exclusive, hi inclusive) with as even a number of keys as may be; the
    first starts before every key and the last has no end, so keys written later fall in one of them."""
    cuts = [keys[len(keys) * i // shards - 1] if len(keys) * i // shards > 0 else None for i in range(1, shards)]
    edges: list[str | None] = [None, *cuts, None]
    out = []
    for i in range(shards):
        lo, hi = edges[i], edges[i + 1]
        if i < shards - 1 and hi is None:        # fewer keys than shards: an empty range below the first key
            hi = ""
        out.append((lo, hi))
    return out


def _orphaned(shard: StateItem, local: bool) -> bool:
    if shard.status == "done":
        return False
    if local or shard.status in ("new", "failed"):
        return True
    return int(_data(shard).get("lease", 0)) < int(time.time())     # whole epoch seconds, as the lease is written


def _claim(shard: StateItem, status: str) -> bool:
    """Move a shard to ``status`` with a fresh lease, unless someone changed it since we read it."""
    try:
        shard.update(actions=[StateItem.status.set(status), StateItem.version.add(1),
                              StateItem.data["lease"].set(int(time.time()) + LEASE_SECONDS)],
                     condition=StateItem.version == shard.version)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _data(item: StateItem) -> dict[str, Any]:
    return item.data.as_dict() if item.data is not None else {}


def _index(shard: StateItem) -> int:
    return int(shard.sk.rsplit("#", 1)[1])


def _message(job: str, run: str, gen: str, index: int, now: datetime, hop: int) -> dict[str, Any]:
    return {"job": job, "run": run, "gen": gen, "shard": index, "now": clock.iso(now), "hop": hop}


def _add_counts(into: dict[str, int], counts: dict[str, int]) -> None:
    for outcome, n in counts.items():
        into[outcome] = into.get(outcome, 0) + int(n)


def _drain(q: work_queue.LocalQueue, workers: int | None = None) -> dict[str, Any]:
    """Run the local queue to its end (or to the deadline); the totals of this drain's workers."""
    totals = _no_totals()
    lock = threading.Lock()

    def handler(body: dict[str, Any]) -> None:
        got = work(body, queue=q)
        with lock:
            for k in ("posted", "amount", "pages"):
                totals[k] += got.get(k, 0)
            _add_counts(totals["counts"], got.get("counts", {}))

    q.drain(handler, workers=workers, until=lambda: fanout.out_of_time())
    if len(q):          # stopped for time: the next firing sends the unfinished shards again
        q.clear()
        raise fanout.OutOfTime()
    return totals


# ----------------------------------------------------------------------------------------------- worker

def work(body: dict[str, Any], queue: work_queue.WorkQueue | None = None) -> dict[str, Any]:
    """One message: work the shard from its checkpoint until its range ends or time is nearly up."""
    q = queue if queue is not None else work_queue.get()
    job = get(body["job"])
    run_pk, gen, index, hop = str(body["run"]), str(body["gen"]), int(body["shard"]), int(body.get("hop", 0))
    now = clock.parse(body["now"])
    try:
        item = StateItem.get(run_pk, shard_sk(gen, index), consistent_read=True)
        run = StateItem.get(run_pk, RUN_SK, consistent_read=True)
    except StateItem.DoesNotExist:
        item = run = None
    if item is None or run is None or _data(run).get("gen") != gen:
        return {**_no_totals(), "note": "no such run (deleted or restarted)"}
    if item.status == "done":
        return {**_no_totals(), "note": "shard already done"}
    context = _data(run)["context"]
    _claim(item, "running")
    data = _data(item)
    shard = Shard(run_pk, gen, index, data.get("lo"), data.get("hi"), item.value,
                  _int_or_none(data.get("segment")), _int_or_none(data.get("segments")))
    posted = amount = pages = 0
    counts: dict[str, int] = {}
    try:
        while True:
            with fanout.deadline(None):          # a page once begun is finished: its writes are one step
                page = job.page(context, shard, now)
            if page.last is not None:
                posted, amount, pages = posted + page.count, amount + page.amount, pages + 1
                _add_counts(counts, page.counts)
                shard = Shard(run_pk, gen, index, shard.lo, shard.hi, page.last, shard.segment, shard.segments)
            if page.last is None or not page.more:
                break
            if fanout.out_of_time():
                q.send(_message(job.name, run_pk, gen, index, now, hop=hop + 1))
                log.event(logger, "shard continues", job=job.name, run=run_pk, shard=index, hop=hop + 1)
                return {"posted": posted, "amount": amount, "pages": pages, "counts": counts, "continued": True}
    except Exception:
        _mark_failed(run_pk, shard_sk(gen, index))
        raise
    _shard_done(job, run_pk, gen, index, context, now)
    return {"posted": posted, "amount": amount, "pages": pages, "counts": counts}


def checkpoint(shard: Shard, cursor: str, count: int, amount: int, now: datetime,
               counts: dict[str, int] | None = None) -> None:
    """Record a finished page of shard ``index``: its last key (only forward: a slower twin cannot move it back),
    what it wrote, its items by outcome (``counts``, added to the shard's ``data.count_<outcome>``), and the run's
    furthest key. A scan segment's keys come in no order: its cursor is set as it is (a twin may set it back, which
    costs a page done again, every item being conditioned)."""
    stamp = clock.iso(now)
    added = [StateItem.data[f"{COUNT_PREFIX}{outcome}"].set((StateItem.data[f"{COUNT_PREFIX}{outcome}"] | 0) + n)
             for outcome, n in sorted((counts or {}).items()) if n]
    if shard.segment is not None:
        StateItem(shard.run, shard_sk(shard.gen, shard.index)).update(actions=[
            StateItem.value.set(cursor), StateItem.count.add(count), StateItem.total.add(amount),
            StateItem.updated_at.set(stamp), StateItem.data["lease"].set(int(time.time()) + LEASE_SECONDS), *added])
        return
    _forward(StateItem(shard.run, shard_sk(shard.gen, shard.index)), cursor,
             [StateItem.count.add(count), StateItem.total.add(amount), StateItem.updated_at.set(stamp),
              StateItem.data["lease"].set(int(time.time()) + LEASE_SECONDS), *added])
    _forward(StateItem(shard.run, RUN_SK), cursor, [StateItem.updated_at.set(stamp)])


def _forward(item: StateItem, cursor: str, actions: list) -> None:
    try:
        item.update(actions=[StateItem.value.set(cursor), *actions],
                    condition=StateItem.value.does_not_exist() | (StateItem.value < cursor))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _mark_failed(run: str, sk: str) -> None:
    try:
        StateItem(run, sk).update(actions=[StateItem.status.set("failed")],
                                               condition=StateItem.status != "done")
    except Exception:    # the error being raised matters more; the lease covers a shard left "running"
        logger.warning("could not mark a shard failed", extra={"fields": {"run": run, "shard": sk}})


def _shard_done(job: FanoutJob, run: str, gen: str, index: int, context: dict[str, Any], now: datetime) -> None:
    """Mark the shard done and count it on the run in one transaction (once: a twin worker's attempt fails its
    condition); the shard that brings the count to the number of shards finishes the run."""
    from pynamodb.transactions import TransactWrite

    from chalicelib.store import base

    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.update(StateItem(run, shard_sk(gen, index)), actions=[StateItem.status.set("done")],
                      condition=StateItem.status != "done")
            tx.update(StateItem(run, RUN_SK), actions=[StateItem.count.add(1)])
    except TransactWriteError as exc:
        if _cancelled_by_condition(exc):
            return                                # a twin worker finished it and counted it
        raise
    counted = StateItem.get(run, RUN_SK, consistent_read=True)
    if int(counted.count or 0) >= int(_data(counted)["shards"]):
        _finish_run(job, run, gen, context, now)


def _cancelled_by_condition(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return exc.cause_response_code == "TransactionCanceledException" and any(
        r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def _finish_run(job: FanoutJob, run: str, gen: str, context: dict[str, Any], now: datetime) -> None:
    """Mark the run done (once) and tell the job its totals."""
    try:
        StateItem(run, RUN_SK).update(actions=[StateItem.status.set("done"), StateItem.updated_at.set(clock.iso(now))],
                                      condition=StateItem.status != "done")
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return
        raise
    totals: dict[str, Any] = {"posted": 0, "amount": 0, "counts": {}}
    for shard in StateItem.query(run, StateItem.sk.startswith(f"shard#{gen}#"), consistent_read=True):
        totals["posted"] += int(shard.count or 0)
        totals["amount"] += int(shard.total or 0)
        _add_counts(totals["counts"], {k[len(COUNT_PREFIX):]: int(v) for k, v in _data(shard).items()
                                       if k.startswith(COUNT_PREFIX)})
    job.finished(context, totals, now)
    log.event(logger, "fan-out done", job=job.name, run=run, posted=totals["posted"], amount=totals["amount"],
              **{f"{COUNT_PREFIX}{k}": v for k, v in sorted(totals["counts"].items())})
