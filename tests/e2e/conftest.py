"""The end-to-end tier: the product as its users run it.

``scripts/run-local.sh`` (what `make run` runs) is started once per module on free loopback ports with a data
directory under the test's tmp dir (``tests.support.shipped``), and the tests talk to it over real HTTP only,
plus the ``gjj`` command line a center operator uses. They write the local clock and SMS files while it runs.
Its output and DynamoDB Local's log are attached to the report of any test that fails; the whole process group
is stopped when the module ends, pass or fail.

Grouped per module (``xdist_group``; `make test` runs ``--dist loadgroup``): one server per module, on one worker.
"""

from __future__ import annotations

import pytest

from tests.support import shipped


@pytest.fixture(scope="module")
def product(tmp_path_factory, request):
    if not shipped.installed():
        pytest.skip("DynamoDB Local is not installed (make test installs it into .local/)")
    running = shipped.start(tmp_path_factory.mktemp(f"shipped-{request.module.__name__.rsplit('.', 1)[-1]}"))
    try:
        yield running
    finally:
        running.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and "product" in getattr(item, "funcargs", {}):
        report.sections.append(("run-local.sh and DynamoDB Local output", item.funcargs["product"].logs()))
