"""GJJ_PAGE_THREADS: the threads one worker runs its items on (fanout.each), apart from GJJ_JOB_WORKERS, which
locally is also the number of shard workers the in-process queue runs at once (issue 18's benchmark varies the
workers while each keeps its threads). Unset, it is GJJ_JOB_WORKERS, as before the setting existed."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib import fanout, settings


def _most_at_once(n_items: int) -> int:
    """Run ``n_items`` items through fanout.each with the stage's threads; the most seen running together."""
    running = peak = 0
    lock = threading.Lock()

    def item(_):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    list(fanout.each(item, range(n_items)))
    return peak


@pytest.fixture
def stage(monkeypatch):
    def set_env(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        settings.reset()

    yield set_env
    settings.reset()


def test_page_threads_set_apart_from_the_workers(stage):
    stage(GJJ_JOB_WORKERS="2", GJJ_PAGE_THREADS="5")
    assert settings.get().job_workers == 2
    assert _most_at_once(20) == 5


def test_unset_page_threads_follow_the_workers_as_before(stage):
    stage(GJJ_JOB_WORKERS="3", GJJ_PAGE_THREADS=None)
    assert settings.get().page_threads == 3
    assert _most_at_once(20) == 3


def test_page_threads_must_be_a_whole_number_of_at_least_one(stage):
    stage(GJJ_PAGE_THREADS="0")
    with pytest.raises(RuntimeError, match="GJJ_PAGE_THREADS"):
        settings.get()
