"""Schemathesis fuzzes every operation of ``/v1/openapi.json`` against the API served over HTTP on loopback.

The server is Chalice's threaded local server in this process (``live`` in ``conftest.py``), backed by
DynamoDB Local and the seeded world (``tests.support.world``). Each generated request carries a fresh session of the
role the route accepts (and a step-up token where one is needed), so protected routes are fuzzed past the
401; schemathesis generates valid and invalid bodies, queries, path parameters and ``Idempotency-Key`` values.

Every operation must answer without a 5xx, with the declared content type, and where the status code is
documented, with a body that matches the documented schema.

Budget: ``GJJ_FUZZ_EXAMPLES`` examples per operation (6 in ``make test``; ``make fuzz`` runs 100 and adds
schemathesis's coverage phase, ``GJJ_FUZZ_COVERAGE=1``).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

import app  # noqa: F401  (every blueprint registered before the document is built)
from chalicelib.http import openapi
from chalicelib.http.api import REGISTRY
from tests.support import factories
from tests.support import world as W

pytestmark = pytest.mark.ddblocal

EXAMPLES = int(os.environ.get("GJJ_FUZZ_EXAMPLES", "6"))
# The coverage phase (boundary values of every parameter) runs in `make fuzz`; methods a route does not declare
# are left out: Python's http.server answers them 501 itself, where API Gateway answers 403 before the app.
COVERAGE = os.environ.get("GJJ_FUZZ_COVERAGE", "0") == "1"
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": COVERAGE, "unexpected-methods": []}}})
schema = schemathesis.openapi.from_dict(openapi.build(), config=CONFIG)
ROUTES = {(r.method, r.path): r for r in REGISTRY}
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def _headers(case, world: W.World) -> dict[str, str]:
    route = ROUTES[(case.operation.method.upper(), case.operation.path)]
    login = world.login_for(route.roles, route.path, route.op_roles)
    if login is None:
        return {}
    # a new session for every request: a fuzzed logout or password change must not disarm the next one
    login = factories.login(login.subject, login.role, op_role=route.op_roles[0] if route.op_roles else
                            ("admin" if login.role == "operator" else None))
    headers = {"Authorization": f"Bearer {login.token}"}
    if route.step_up:
        headers["X-Step-Up-Token"] = login.step_up_token()
    return headers


def test_the_document_lists_every_route():
    assert {(m.upper(), p) for p, ops in schema.raw_schema["paths"].items() for m in ops} == set(ROUTES)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case, live):
    headers = _headers(case, live.world)
    if case.headers:
        headers = {**case.headers, **headers}
    response = case.call(base_url=live.url, headers=headers, timeout=30)
    if os.environ.get("GJJ_FUZZ_LOG"):
        with open(os.environ["GJJ_FUZZ_LOG"], "a") as fh:
            fh.write(f"{case.operation.method.upper()} {case.operation.path} {response.status_code}\n")
    case.validate_response(response, checks=CHECKS)
