"""Forgetting the run items of jobs that fan out, between tests that share one set of tables.

A fanned-out job (chalicelib/jobs_fanout.py) runs once per moment: its run item (``job#<job>#<moment>``) stays done,
so in a module whose tests share tables (tests/support/moto_module.py) the second test to run the job for the same
day would find the day done and do nothing. Each test there starts from no run, as it would on a fresh table.
"""

from __future__ import annotations


def forget(*prefixes: str) -> int:
    """Delete every ``state`` item whose pk starts with one of ``prefixes``; the number deleted."""
    from chalicelib.store.kv import StateItem

    gone = 0
    for item in StateItem.scan():
        if item.pk.startswith(prefixes):
            item.delete()
            gone += 1
    return gone
