"""Per-item work of the scheduled jobs, a few items at a time.

The jobs' work is I/O: each item waits on a handful of DynamoDB round trips, one after the other. Run one item at
a time, 100,000 reminders take longer than a Lambda may run (15 minutes); with a few threads the waits overlap.
The shared PynamoDB connection (one botocore client, ``max_pool_connections=50``) is thread-safe, and every item's
writes are conditioned (versions, ``does_not_exist``) as they must be anyway for a job that may run twice.

:func:`each` reads its items lazily from the caller's iterator (a paged Query) in the calling thread, keeps at most
``2 × workers`` in flight, copies the caller's context into each item (the log's correlation id), and stops at the
first item that raises: items not yet started are not started, running ones finish, and the error is raised.
``GJJ_PAGE_THREADS`` sets the number of threads (``1``: one item at a time, in order); unset, it is
``GJJ_JOB_WORKERS``. Locally ``GJJ_JOB_WORKERS`` is also the number of shard workers the in-process queue runs at
once (:mod:`chalicelib.adapters.queue`), so ``GJJ_PAGE_THREADS`` lets a benchmark vary the workers (as many
``job_worker`` Lambdas) while each worker keeps the threads it has in AWS.

A job has a deadline (:func:`deadline`, set by its Lambda from the time it has left): once it has passed, no new
item is started, the running ones finish and :class:`OutOfTime` is raised. The job's schedule fires again
(:mod:`chalicelib.jobs`), and since every item is done once whatever the number of runs, the next run goes on
where this one stopped.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from chalicelib import settings

T = TypeVar("T")
R = TypeVar("R")

_deadline: contextvars.ContextVar[int | None] = contextvars.ContextVar("gjj_job_deadline", default=None)


class OutOfTime(Exception):
    """The job's time is up; the items not started are left to its next run."""


@contextlib.contextmanager
def deadline(budget_ms: int | None):
    """Within this block, :func:`each` starts no item once ``budget_ms`` milliseconds have passed (``None``: no
    limit)."""
    token = _deadline.set(None if budget_ms is None else time.monotonic_ns() + budget_ms * 1_000_000)
    try:
        yield
    finally:
        _deadline.reset(token)


def out_of_time() -> bool:
    until = _deadline.get()
    return until is not None and time.monotonic_ns() >= until


def check_time() -> None:
    """Raise :class:`OutOfTime` when the deadline has passed (between pages of a job's own loop)."""
    if out_of_time():
        raise OutOfTime()


_END = object()


def each(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``fn(item)`` for every item, up to ``workers`` at once; results in the order they finish."""
    workers = workers if workers is not None else settings.get().page_threads
    source = iter(items)
    if workers <= 1:
        for item in source:
            check_time()
            yield _started(fn, item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gjj-job") as pool:
        pending: set[Future] = set()

        stopped = False

        def top_up(n: int) -> None:
            nonlocal stopped
            for _ in range(n):
                if stopped:
                    return
                item = next(source, _END)
                if item is _END:
                    return
                if out_of_time():
                    stopped = True
                    return
                pending.add(pool.submit(contextvars.copy_context().run, _started, fn, item))

        try:
            top_up(2 * workers)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    result = future.result()
                    top_up(1)
                    yield result
        finally:
            for future in pending:
                future.cancel()
        if stopped:
            raise OutOfTime()


def _started(fn: Callable[[T], R], item: T) -> R:
    """An item once started runs to its end: work it fans out itself is not cut short by the deadline."""
    token = _deadline.set(None)
    try:
        return fn(item)
    finally:
        _deadline.reset(token)


def run_all(fn: Callable[[T], R], items: list[T], workers: int | None = None) -> list[R]:
    """``fn`` over a list, concurrently as :func:`each`, results in the list's order."""
    indexed = list(enumerate(items))
    out: dict[int, R] = dict(each(lambda pair: (pair[0], fn(pair[1])), indexed, workers))
    return [out[i] for i in range(len(items))]
