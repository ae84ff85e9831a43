"""A token of one role never opens another role's routes: one table over every registered route, so routes
added later are covered without touching this file."""

from __future__ import annotations

import json

import pytest

import app  # noqa: F401  (registers every blueprint's routes)
from chalicelib.http import auth
from chalicelib.http.api import REGISTRY
from tests.support import factories
from tests.support.moto_module import shared_tables  # noqa: F401  (fixture)

OPERATOR_ROLES = ("reviewer", "admin")


@pytest.fixture
def aws(request, local_dir):
    """Hundreds of cases that each open a session and are refused before any business data: one set of moto
    tables for the module (tests/support/moto_module.py) instead of fresh tables per case."""
    request.getfixturevalue("shared_tables")


def _cases():
    for route in REGISTRY:
        if route.roles is None:
            continue
        for role in auth.ROLES:
            if role == auth.OPERATOR:
                for op in OPERATOR_ROLES:
                    if role in route.roles and (not route.op_roles or op in route.op_roles):
                        continue
                    yield pytest.param(route, role, op, id=f"{route.method} {route.path} as {role}/{op}")
            elif role not in route.roles:
                yield pytest.param(route, role, None, id=f"{route.method} {route.path} as {role}")


CASES = list(_cases())


def test_the_table_is_not_empty():
    assert any(route.path == "/v1/me/password" for route, _, _ in (c.values for c in CASES))


def _call(client, route, headers):
    path = route.path
    for name in route.path_params:
        path = path.replace("{" + name + "}", "x1")
    call = getattr(client.http, route.method.lower())
    if route.method in ("GET", "DELETE"):
        return call(path, headers=headers)
    return call(path, headers={**headers, "Idempotency-Key": "role-test"}, body=json.dumps({}))


@pytest.mark.parametrize("route, role, op_role", CASES)
def test_another_roles_token_is_forbidden(aws, client, route, role, op_role):
    login = factories.login(f"someone-{role}", role, op_role=op_role)
    response = _call(client, route, login.headers)
    assert response.status_code == 403, (route.path, role, response.body)
    assert json.loads(response.body)["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("route", [r for r in REGISTRY if r.roles is not None],
                         ids=lambda r: f"{r.method} {r.path}")
def test_every_protected_route_refuses_no_token(aws, client, route):
    response = _call(client, route, {"Content-Type": "application/json"})
    assert response.status_code == 401
