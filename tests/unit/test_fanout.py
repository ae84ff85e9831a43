"""chalicelib.fanout: the jobs' per-item work, a few items at a time."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from chalicelib import fanout, settings

who = contextvars.ContextVar("who", default=None)


def test_every_item_is_done_once():
    # GIVEN 200 items WHEN each is squared on 8 threads THEN every result comes back exactly once
    assert sorted(fanout.each(lambda x: x * x, range(200), workers=8)) == [x * x for x in range(200)]


def test_items_really_overlap_and_never_exceed_the_workers():
    running, peak, lock = 0, 0, threading.Lock()

    def slow(_):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    started = time.perf_counter()
    list(fanout.each(slow, range(40), workers=4))
    elapsed = time.perf_counter() - started
    assert peak == 4
    assert elapsed < 40 * 0.02 / 2          # one at a time would take 0.8 s


def test_the_source_is_read_lazily():
    # GIVEN an endless source (a paged Query is read as the work goes) WHEN the caller stops after 5 results
    # THEN only a bounded number of items was ever taken from it
    taken = 0

    def endless():
        nonlocal taken
        while True:
            taken += 1
            yield taken

    results = fanout.each(lambda x: x, endless(), workers=3)
    first = [next(results) for _ in range(5)]
    results.close()
    assert len(first) == 5
    assert taken <= 5 + 2 * 3


def test_the_first_failure_stops_the_run_and_is_raised():
    started = []

    def work(x):
        started.append(x)
        if x == 3:
            raise ValueError("item 3")
        time.sleep(0.005)
        return x

    with pytest.raises(ValueError, match="item 3"):
        list(fanout.each(work, range(1000), workers=2))
    assert len(started) < 1000


def test_workers_see_the_callers_context():
    # the log's correlation id is a context variable: a worker's log lines must carry the job's
    token = who.set("job-42")
    try:
        assert set(fanout.each(lambda _: who.get(), range(20), workers=4)) == {"job-42"}
    finally:
        who.reset(token)


def test_one_worker_runs_in_order_on_the_calling_thread():
    me = threading.get_ident()
    assert list(fanout.each(lambda x: (x, threading.get_ident() == me), range(5), workers=1)) == \
        [(x, True) for x in range(5)]


def test_run_all_keeps_the_list_order():
    def jitter(x):
        time.sleep((7 - x) * 0.002)
        return x * 10

    assert fanout.run_all(jitter, list(range(8)), workers=8) == [x * 10 for x in range(8)]


def test_the_worker_count_comes_from_the_stage(monkeypatch):
    monkeypatch.setenv("GJJ_JOB_WORKERS", "3")
    settings.reset()
    try:
        assert settings.get().job_workers == 3
        monkeypatch.setenv("GJJ_JOB_WORKERS", "0")
        settings.reset()
        with pytest.raises(RuntimeError, match="GJJ_JOB_WORKERS"):
            settings.get()
    finally:
        monkeypatch.delenv("GJJ_JOB_WORKERS")
        settings.reset()


def test_past_its_deadline_a_run_starts_nothing_and_says_so():
    started = []
    with fanout.deadline(0), pytest.raises(fanout.OutOfTime):
        list(fanout.each(started.append, range(10), workers=4))
    assert started == []


@pytest.mark.parametrize("workers", [1, 4])
def test_a_deadline_that_passes_midway_lets_the_running_items_finish_and_starts_no_more(workers):
    finished = []

    def slow(x):
        time.sleep(0.01)
        finished.append(x)
        return x

    results = []
    with fanout.deadline(100), pytest.raises(fanout.OutOfTime):
        for r in fanout.each(slow, range(1000), workers=workers):
            results.append(r)
    assert 0 < len(finished) < 1000
    assert sorted(results) == sorted(finished)      # nothing started was left unfinished or unreported


def test_without_a_deadline_nothing_is_out_of_time():
    assert not fanout.out_of_time()
    with fanout.deadline(None):
        assert not fanout.out_of_time()
        fanout.check_time()


def test_an_item_once_started_is_not_cut_short_by_the_deadline():
    # GIVEN an item that fans out work of its own WHEN the deadline passes while it runs
    def item(x):
        time.sleep(0.05)
        return sum(fanout.each(lambda y: y, range(100), workers=4))

    with fanout.deadline(20):
        # THEN its own work is done whole (the one item was started in time; there was no other to refuse)
        assert list(fanout.each(item, [1], workers=2)) == [sum(range(100))]
