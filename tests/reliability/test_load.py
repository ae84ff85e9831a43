"""A short load run: 50 concurrent users on mixed operations against the API over HTTP on loopback, no errors.

The same driver as `make load` (``bench.load``), for a few seconds, against the in-process server of this
tier (``live``); `make load` runs it for longer against the API as its own process.
"""

from __future__ import annotations

import os

import pytest

from bench import load

pytestmark = pytest.mark.ddblocal

SECONDS = float(os.environ.get("GJJ_LOAD_TEST_SECONDS", "4"))


def test_fifty_users_on_mixed_operations_get_no_errors(live):
    # GIVEN fifty depositors of their own (flexible account, card, session)
    users = load.seed_users(50)
    # WHEN they all loop over reads, logins, seal/unseal and a remittance each for a few seconds
    result = load.run_load(live.url, users, load.mix(live.world.values, load.seed_login()), SECONDS)
    summary = result.summary()
    load.print_summary(summary)
    # THEN nothing failed, the mix ran, and each paying user's month was credited once
    assert summary["errors"] == 0, summary["first_errors"]
    assert len(summary["per_operation"]) >= 6          # reads, CPU, writes and payments all ran
    assert summary["requests"] >= 50
    assert load.ledger_mismatches(users) == []
