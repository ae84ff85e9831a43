"""Per-item work of the scheduled jobs, a few items at a time.

The jobs' work is I/O: each item waits on a handful of DynamoDB round trips, one after the other. Run one item at
a time, 100,000 reminders take longer than a Lambda may run (15 minutes); with a few threads the waits overlap.
The shared PynamoDB connection (one botocore client, ``max_pool_connections=50``) is thread-safe, and every item's
writes are conditioned (versions, ``does_not_exist``) as they must be anyway for a job that may run twice.

:func:`each` reads its items lazily from the caller's iterator (a paged Query) in the calling thread, keeps at most
``2 × workers`` in flight, copies the caller's context into each item (the log's correlation id), and stops at the
first item that raises: items not yet started are not started, running ones finish, and the error is raised.
``GJJ_JOB_WORKERS`` sets the number of threads (``1``: one item at a time, in order).
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from chalicelib import settings

T = TypeVar("T")
R = TypeVar("R")


def each(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``fn(item)`` for every item, up to ``workers`` at once; results in the order they finish."""
    workers = workers if workers is not None else settings.get().job_workers
    source = iter(items)
    if workers <= 1:
        for item in source:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gjj-job") as pool:
        pending: set[Future] = set()

        def start(item: T) -> None:
            pending.add(pool.submit(contextvars.copy_context().run, fn, item))

        try:
            for item in itertools.islice(source, 2 * workers):
                start(item)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    result = future.result()
                    for item in itertools.islice(source, 1):
                        start(item)
                    yield result
        finally:
            for future in pending:
                future.cancel()


def run_all(fn: Callable[[T], R], items: list[T], workers: int | None = None) -> list[R]:
    """``fn`` over a list, concurrently as :func:`each`, results in the list's order."""
    indexed = list(enumerate(items))
    out: dict[int, R] = dict(each(lambda pair: (pair[0], fn(pair[1])), indexed, workers))
    return [out[i] for i in range(len(items))]
