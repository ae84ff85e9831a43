"""Test fixtures. moto is imported before anything creates a botocore client (engineering-research §4)."""

from __future__ import annotations

import os

# Environment first: no real AWS, ever.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "GJJ_STAGE": "local",
    "GJJ_TABLE_PREFIX": "test-",
    "GJJ_TOKEN_SECRET": "test-secret-0123456789-0123456789-0123456789",
})
os.environ.pop("GJJ_DDB_ENDPOINT", None)

import moto  # noqa: E402,F401  (before any client exists)
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

pytest_plugins = ["tests.support.job_runs"]     # the jobs queue on moto's SQS (fixture ``sqs``)

from chalicelib import handlers  # noqa: E402

handlers.load_all()   # app.py imports a handler module on its route's first request; tests read the whole registry

from tests.support import ddblocal, fast_moto  # noqa: E402

fast_moto.one_request_at_a_time()   # the jobs' worker threads share moto, which has no locks of its own


@pytest.fixture
def local_dir(tmp_path, monkeypatch):
    """A fresh `.local/` for the test: clock file, SMS outbox, uploads."""
    path = tmp_path / "local"
    path.mkdir()
    monkeypatch.setenv("GJJ_LOCAL_DIR", str(path))
    from chalicelib import settings

    settings.reset()
    yield path
    settings.reset()


@pytest.fixture
def aws(local_dir, monkeypatch):
    """moto-backed AWS with every table created."""
    monkeypatch.delenv("GJJ_DDB_ENDPOINT", raising=False)
    with mock_aws():
        from chalicelib.store import base
        from tests.support import fast_moto

        base.configure()
        fast_moto.create_tables()      # the same tables as base.create_tables(), from a copy after the first test
        yield
    from chalicelib.store import base

    base.configure()


@pytest.fixture(scope="session")
def ddb_local_server(tmp_path_factory):
    """AWS's DynamoDB Local, in memory, on a free loopback port (skipped when not installed)."""
    server = ddblocal.start(tmp_path_factory.mktemp("ddblocal"))
    if server is None:
        pytest.skip("DynamoDB Local is not installed (make test installs it into .local/)")
    yield server
    server.stop()


@pytest.fixture
def ddb_local(ddb_local_server, local_dir, monkeypatch, request):
    """Tables on DynamoDB Local under a prefix of this test's own."""
    import uuid

    monkeypatch.setenv("GJJ_DDB_ENDPOINT", ddb_local_server.endpoint)
    monkeypatch.setenv("GJJ_TABLE_PREFIX", f"t{uuid.uuid4().hex[:8]}-")
    from chalicelib.store import base

    base.configure()
    base.create_tables()
    ddblocal.no_ttl_sweeps()
    yield ddb_local_server
    base.delete_tables()
    monkeypatch.delenv("GJJ_DDB_ENDPOINT")
    monkeypatch.setenv("GJJ_TABLE_PREFIX", "test-")
    base.configure()



@pytest.fixture(params=["moto", pytest.param("ddblocal", marks=pytest.mark.ddblocal)])
def backend(request):
    """Run a test on moto and on DynamoDB Local."""
    return request.getfixturevalue("aws" if request.param == "moto" else "ddb_local")


@pytest.fixture
def client(tmp_path):
    """The Chalice test client, independent of `.chalice/config.json` (tests own the environment).

    Every JSON response it returns is scanned for unmasked ID numbers, phones and card numbers
    (``tests/support/leaks.py``); a leak fails the test that received it."""
    from chalice.test import Client

    from app import app
    from tests.support.leaks import LeakCheckingClient

    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    with Client(app, project_dir=str(project)) as c:
        yield LeakCheckingClient(c)


@pytest.fixture(autouse=True)
def _log_lines_leak_nothing():
    """Every log and metric line written during any test is scanned for unmasked ID numbers, phones and card
    numbers (``tests/support/leaks.py``); one found fails the test."""
    from chalicelib import log
    from tests.support.leaks import log_leaks

    found: list[str] = []

    def observe(line: str) -> None:
        found.extend(log_leaks(line))

    log.observers.append(observe)
    yield
    log.observers.remove(observe)
    if found:
        pytest.fail(f"unmasked personal data in log lines: {'; '.join(found[:10])}", pytrace=False)


@pytest.fixture
def clock_file(local_dir):
    """Set the local-stage clock: ``clock_file("2026-07-15T09:00:00+08:00")``."""

    def set_clock(value: str | None) -> None:
        path = local_dir / "clock"
        if value is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(value)

    return set_clock
