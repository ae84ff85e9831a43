"""The jobs that fan out (issue 18), with 1, 2, 4 and 8 workers, on DynamoDB Local and on a latency-injected store.

**A worker** is what it is in AWS: one ``job_worker`` Lambda working one shard message at a time (SQS batch size
1). Locally the in-process queue's drain runs ``GJJ_JOB_WORKERS`` messages at once, so a run with ``W`` workers
sets ``GJJ_JOB_WORKERS=W`` and ``GJJ_JOB_SHARDS=W`` (``--shards-per-worker`` for more shards than workers). What a
worker does inside a page (its batches side by side, :func:`chalicelib.fanout.run_all`) keeps the threads it has
in AWS: ``GJJ_PAGE_THREADS`` (``--page-threads``, default 8, the production default of ``GJJ_JOB_WORKERS`` in the
Lambda, which the worker's pages use there). So "W workers" is W Lambdas, each as it runs in AWS.

**The stores**: DynamoDB Local as it is (answers on the loopback, bound by this machine's CPU, which it shares with
the workers), and the same with a fixed network delay before every request (:class:`bench.latency.Meter`, default
10 ms: a round trip to DynamoDB in a region is a few ms, a transaction more), which shows how the workers overlap
their waits as they would against DynamoDB.

For each job of :data:`chalicelib.jobs_fanout.REGISTRY` that ``bench.throughput`` can seed, for each store and
number of workers: fresh tables, ``n`` items seeded (``bench.throughput.SEEDS``), the job run once for its moment
(timed: items/s; DynamoDB calls, items written (plain and in transactions) and read, per item), every table's contents
fingerprinted, the job run again for the same moment, the tables fingerprinted again: the "second run" column
says ``unchanged`` or names the tables that changed. Then "redo": the run item deleted (what an operator does to
run a moment again) and the job run once more, fresh shards going over every item, whose own conditions must
leave every table but ``state`` as it was.

    python -m bench.fanout_scale [--quick] [--sizes 10000] [--jobs settle-annual-interest] [--workers 1,2,4,8]
                                 [--delay-ms 10] [--page-threads 8] [--shards-per-worker 1]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import sys
import time
from pathlib import Path

WORKERS = (1, 2, 4, 8)
DELAY_MS = 10.0
PAGE_THREADS = 8
ENV = ("GJJ_JOB_WORKERS", "GJJ_JOB_SHARDS", "GJJ_PAGE_THREADS")


def fingerprint() -> dict[str, tuple[int, str]]:
    """Every table's item count and a digest of its items (in any order), read with consistent scans."""
    from chalicelib.store import base

    client = base.connection().client
    out = {}
    for model in base.all_models():
        digests = []
        for page in client.get_paginator("scan").paginate(TableName=model.Meta.table_name, ConsistentRead=True):
            digests += [hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
                        for item in page["Items"]]
        out[model.Meta.logical_name] = (len(digests), hashlib.sha256("".join(sorted(digests)).encode()).hexdigest())
    return out


def changed_tables(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))



@contextlib.contextmanager
def _quiet():
    """The jobs' log lines and metrics (written, and timed, as in a Lambda) kept off the bench's own output."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def measure(name: str, n: int, workers: int, delay_ms: float = 0, page_threads: int = PAGE_THREADS,
            shards: int | None = None) -> dict:
    """One run of job ``name`` over ``n`` seeded items with ``workers`` concurrent shard workers, on fresh tables
    (under ``GJJ_DDB_ENDPOINT``), and its second run."""
    from bench import throughput
    from bench.latency import Meter
    from chalicelib import jobs
    from chalicelib.adapters import queue as work_queue
    from chalicelib.services import remittance
    from tests.support import ddblocal

    shards = shards or workers
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update({"GJJ_JOB_WORKERS": str(workers), "GJJ_JOB_SHARDS": str(shards),
                       "GJJ_PAGE_THREADS": str(page_threads)})
    now = dt.datetime.fromisoformat(throughput.MOMENTS[name])
    row: dict = {"job": name, "items": n, "workers": workers, "shards": shards, "page_threads": page_threads,
                 "delay_ms": delay_ms}
    try:
        throughput._fresh_tables("fan")       # also re-reads the settings above
        ddblocal.no_ttl_sweeps()
        work_queue.reset()
        remittance.reset_cache()
        started = time.perf_counter()
        throughput._write(throughput.SEEDS[name](n, now))
        row["seed_s"] = round(time.perf_counter() - started, 2)
        with Meter(delay_ms) as meter, _quiet():
            cpu, started = time.process_time(), time.perf_counter()
            summary = jobs.run(name, now)
            first, cpu = time.perf_counter() - started, time.process_time() - cpu
        before = fingerprint()
        with Meter(delay_ms) as again, _quiet():
            started = time.perf_counter()
            second_summary = jobs.run(name, now)
            second = time.perf_counter() - started
        after = fingerprint()
        # an operator deletes the done run item to run the moment again: fresh shards go over every item, and each
        # item's own conditions must leave it as it is
        from chalicelib import jobs_fanout
        from chalicelib.store.kv import StateItem

        StateItem(jobs_fanout.get(name).plan(now).run, jobs_fanout.RUN_SK).delete()
        with Meter(delay_ms) as redo, _quiet():
            started = time.perf_counter()
            redo_summary = jobs.run(name, now)
            redone = time.perf_counter() - started
        redone_changed = [t for t in changed_tables(after, fingerprint()) if t != "state"]
    finally:
        try:
            throughput._drop_tables()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    done = throughput._processed(summary, n)
    changed = changed_tables(before, after)
    row.update(first_s=round(first, 2), done=done, finished=bool(summary.get("done", True)),
               items_per_s=round(done / first) if done and first else None,
               cpu_ms_per_item=round(1000 * cpu / done, 3) if done else None,
               calls=meter.calls, calls_per_item=round(meter.calls / done, 2) if done else None,
               written_per_item=_per(meter.written, done), written_tx_per_item=_per(meter.written_tx, done),
               read_per_item=_per(meter.read + meter.returned, done),
               meter=meter.as_dict(),
               second_s=round(second, 2), second_calls=again.calls,
               second_run="unchanged" if not changed else "changed: " + ", ".join(changed),
               redo_s=round(redone, 2), redo_calls=redo.calls,
               redo="unchanged" if not redone_changed else "changed: " + ", ".join(redone_changed),
               summary=throughput._short(summary), second_summary=throughput._short(second_summary),
               redo_summary=throughput._short(redo_summary))
    return row


def _per(count: float, done: int) -> float | None:
    return round(count / done, 2) if done else None


def fanout_jobs() -> list[str]:
    from bench import throughput
    from chalicelib import jobs_fanout

    return [name for name in jobs_fanout.REGISTRY if name in throughput.SEEDS and throughput.SEEDS[name]]


def run(quick: bool = False, sizes: list[int] | None = None, only_jobs: list[str] | None = None,
        workers: tuple[int, ...] = WORKERS, delay_ms: float = DELAY_MS, page_threads: int = PAGE_THREADS,
        shards_per_worker: int = 1) -> dict:
    sizes = sizes or ([1_000] if quick else [10_000])
    from bench import throughput

    server = throughput.local_server("gjj-fanout-")
    if server is None:
        return {"error": "DynamoDB Local is not installed: run `make dynamodb-local` first"}
    result: dict = {"sizes": sizes, "workers": list(workers), "delay_ms": delay_ms, "page_threads": page_threads,
                    "runs": []}
    try:
        os.environ["GJJ_DDB_ENDPOINT"] = server.endpoint
        for name in only_jobs or fanout_jobs():
            print(f"  {name}: warming up (not reported) ...", flush=True)
            measure(name, min(500, min(sizes)), 1, 0.0, page_threads)    # DynamoDB Local's JVM compiles its paths
            for n in sizes:
                for w in workers:
                    for delay in sorted({0.0, delay_ms}):     # side by side: both see the machine as it is now
                        store = f"+{delay:g} ms" if delay else "local"
                        print(f"  {name}: {n} items, {w} worker(s), {store} ...", flush=True)
                        result["runs"].append(measure(name, n, w, delay, page_threads, w * shards_per_worker))
    finally:
        server.stop()
        os.environ.pop("GJJ_DDB_ENDPOINT", None)
    _speedups(result["runs"])
    return result


def _speedups(rows: list[dict]) -> None:
    """Each run's items/s over the 1-worker run of the same job, size and store; on the latency store, the waits
    it added, per item, in units of the delay: the round trips one after another on the run's critical path
    (``(seconds with the delay - seconds without) / delay / items``; with W workers overlapping, about 1/W of a
    worker's)."""
    base = {(r["job"], r["items"], r["delay_ms"]): r["items_per_s"] for r in rows if r["workers"] == 1}
    local = {(r["job"], r["items"], r["workers"]): r["first_s"] for r in rows if not r["delay_ms"]}
    for r in rows:
        one = base.get((r["job"], r["items"], r["delay_ms"]))
        r["speedup"] = round(r["items_per_s"] / one, 2) if one and r["items_per_s"] else None
        plain = local.get((r["job"], r["items"], r["workers"]))
        r["serial_waits_per_item"] = (round((r["first_s"] - plain) / (r["delay_ms"] / 1000) / r["done"], 3)
                                      if r["delay_ms"] and plain is not None and r["done"] else None)


def markdown(r: dict) -> list[str]:
    if "error" in r:
        return [r["error"]]
    lines = [f"Fan-out jobs with W workers (W shards; each worker {r['page_threads']} threads for its page, as in the "
             f"`job_worker` Lambda), on DynamoDB Local and with +{r['delay_ms']:g} ms before every DynamoDB request; "
             "DynamoDB calls and items written / read per item of the first run; second run = the same moment "
             "again (the run item is done: nothing to do), every table compared; redo = the run item deleted and the "
             "moment run again, fresh shards over every item (every table but `state` compared). CPU ms/item: this "
             "process only (the workers' Python; DynamoDB Local is another process); waits/item: on the latency "
             "store, (its time - the local time) / delay / items, the delayed round trips one after another per "
             "item:", "",
             "| job | items | store | workers | first run s | items/s | × 1 worker | CPU ms/item | waits/item | "
             "calls/item | items written/item (in transactions) | items read/item | second run s | second run | "
             "redo s | redo |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: "
             "| --- |"]
    for row in r["runs"]:
        store = f"+{row['delay_ms']:g} ms" if row["delay_ms"] else "local"
        rate = f"{row['items_per_s']:,}" if row["items_per_s"] else "—"
        note = "" if row["finished"] else " (not finished)"
        lines.append(f"| `{row['job']}` | {row['items']:,} | {store} | {row['workers']} | {row['first_s']}{note} | "
                     f"{rate} | {row['speedup'] or '—'} | {row['cpu_ms_per_item']} | "
                     f"{row['serial_waits_per_item'] or '—'} | "
                     f"{row['calls_per_item']} | {row['written_per_item']} "
                     f"({row['written_tx_per_item']}) | {row['read_per_item']} | {row['second_s']} | "
                     f"{row['second_run']} | {row['redo_s']} | {row['redo']} |")
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 items")
    parser.add_argument("--sizes", help="items per run, e.g. 10000 or 100000 (default 10000; --quick 1000)")
    parser.add_argument("--jobs", help="comma-separated fan-out jobs (default: every one bench.throughput seeds)")
    parser.add_argument("--workers", default=",".join(map(str, WORKERS)))
    parser.add_argument("--delay-ms", type=float, default=DELAY_MS)
    parser.add_argument("--page-threads", type=int, default=PAGE_THREADS)
    parser.add_argument("--shards-per-worker", type=int, default=1)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    result = run(quick=args.quick, sizes=[int(x) for x in args.sizes.split(",")] if args.sizes else None,
                 only_jobs=args.jobs.split(",") if args.jobs else None,
                 workers=tuple(int(x) for x in args.workers.split(",")), delay_ms=args.delay_ms,
                 page_threads=args.page_threads, shards_per_worker=args.shards_per_worker)
    print("\n".join(markdown(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return result


if __name__ == "__main__":
    main()
