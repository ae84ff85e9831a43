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


# ---------------------------------------------------------------- hand-made hostile inputs (issue 17 item 9)
# Schemathesis does not generate these: JSON nested past the parser's recursion limit, and path parameters past
# DynamoDB's key limits (2 KB partition key, 1 KB sort key), sent to every operation that takes them, over HTTP.

DEEP_BODIES = {"deep-array": b"[" * 50000, "deep-object": b'{"a":' * 50000,
               "balanced": b"[" * 20000 + b"]" * 20000, "deep-inside": b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}"}
LONG_VALUES = {"ascii-2100": "A" * 2100, "ascii-20000": "A" * 20000, "cjk-1100": "中" * 1100}


def _send(live, route, path: str, body: bytes | None):
    import requests

    headers = {"Content-Type": "application/json", "Idempotency-Key": f"fuzz-{os.urandom(6).hex()}",
               **_headers_for(route, live.world)}
    return requests.request(route.method, live.url + path, headers=headers, data=body, timeout=60)


def _headers_for(route, world: W.World) -> dict[str, str]:
    login = world.login_for(route.roles, route.path, route.op_roles)
    if login is None:
        return {}
    login = factories.login(login.subject, login.role, op_role=route.op_roles[0] if route.op_roles else
                            ("admin" if login.role == "operator" else None))
    headers = {"Authorization": f"Bearer {login.token}"}
    if route.step_up:
        headers["X-Step-Up-Token"] = login.step_up_token()
    return headers


def _path(route, value: str = "X1") -> str:
    from urllib.parse import quote

    return route.path.format(**{name: quote(value, safe="") for name in route.path_params})


WITH_BODY = [r for r in REGISTRY if r.body is not None]
WITH_PATH = [r for r in REGISTRY if r.path_params]


@pytest.mark.parametrize("route", WITH_BODY, ids=[f"{r.method} {r.path}" for r in WITH_BODY])
def test_deeply_nested_json_is_a_400_on_every_operation(route, live):
    for name, body in DEEP_BODIES.items():
        resp = _send(live, route, _path(route), body)
        assert resp.status_code < 500, (name, resp.status_code, resp.text[:300])
        assert resp.status_code in (400, 401, 403, 404, 413, 422), (name, resp.status_code, resp.text[:300])


@pytest.mark.parametrize("route", WITH_PATH, ids=[f"{r.method} {r.path}" for r in WITH_PATH])
def test_path_parameters_past_dynamodbs_key_limits_are_a_400_on_every_operation(route, live):
    for name, value in LONG_VALUES.items():
        resp = _send(live, route, _path(route, value), b"{}" if route.body is not None else None)
        assert resp.status_code == 400, (name, resp.status_code, resp.text[:300])
