"""A short load run: 50 concurrent users on mixed operations against `make run` itself, no errors, no restart.

The same driver as `make load` (``bench.load.against_shipped``), for a few seconds, against the server that
``scripts/run-local.sh`` starts (on free ports, with a data directory of this test's own; ``tests.support.shipped``),
while its clock and SMS files are being written. `make load` runs it for longer.
"""

from __future__ import annotations

import os
import uuid

import pytest

from bench import load
from tests.support import shipped

pytestmark = [pytest.mark.ddblocal, pytest.mark.xdist_group("shipped-load")]

SECONDS = float(os.environ.get("GJJ_LOAD_TEST_SECONDS", "4"))


@pytest.fixture
def served(tmp_path, monkeypatch):
    """run-local.sh started, this process's table models, clock and token secret pointed at its data."""
    if not shipped.installed():
        pytest.skip("DynamoDB Local is not installed (make test installs it into .local/)")
    running = shipped.start(tmp_path / "shipped", extra_env={"GJJ_TOKEN_SECRET": uuid.uuid4().hex * 2})
    from chalicelib import settings
    from chalicelib.services import remittance
    from chalicelib.store import base

    try:
        for name, value in running.environment().items():
            monkeypatch.setenv(name, value)
        yield running
    finally:
        running.stop()
        monkeypatch.undo()
        settings.reset()
        remittance.reset_cache()
        base.configure()


def test_fifty_users_on_mixed_operations_get_no_errors_while_the_local_files_change(served):
    # GIVEN `make run`'s script serving, and fifty depositors of their own (flexible account, card, session)
    # WHEN they all loop over reads, logins, seal/unseal and a remittance each for a few seconds, while the clock
    # file is rewritten and SMS lines appended
    outcome = load.against_shipped(served, 50, SECONDS)
    summary = outcome.summary
    load.print_summary(summary)
    # THEN nothing failed (no connection error, no unexpected status, each paying user's month credited once),
    # the mix ran, and the server is the same process as before
    assert summary["errors"] == 0, f"{summary['first_errors']}\n{served.logs()[-5000:]}"
    assert len(summary["per_operation"]) >= 6          # reads, CPU, writes and payments all ran
    assert summary["requests"] >= 50
    assert outcome.file_writes >= 5
    assert outcome.pid_before is not None and outcome.pid_after == outcome.pid_before
