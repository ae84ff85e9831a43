"""The seeded world and its hand-written examples (tests/support/world.py) stay valid: each example answers
2xx, so the bench and the load run measure real operations, not refusals."""

from __future__ import annotations

import json

import pytest

from chalicelib.http.api import REGISTRY
from tests.support import world as W


@pytest.fixture
def seeded(aws, client):
    import app  # noqa: F401  (every route registered)

    return W.build()


def _call(client, req: W.Req):
    return client.http.request(method=req.method, path=req.url(), headers=req.all_headers(),
                               body=json.dumps(req.body) if req.body is not None else b"")


def test_every_example_is_a_registered_route_and_succeeds_twice(client, seeded):
    routes = {f"{r.method} {r.path}": r for r in REGISTRY}
    for key in W.EXAMPLES:
        assert key in routes, f"example for an unknown route {key}"
        for i in range(2):           # a second round must not collide with the first (fresh data per round)
            req, by_example = W.request_for(routes[key], seeded, i)
            resp = _call(client, req)
            assert by_example and 200 <= resp.status_code < 300, (key, i, resp.status_code, resp.body[:300])


def test_generic_requests_never_fail_with_a_server_error(client, seeded):
    for route in list(REGISTRY):
        if f"{route.method} {route.path}" in W.EXAMPLES:
            continue
        resp = _call(client, W.generic(route, seeded))
        assert resp.status_code < 500, (route.method, route.path, resp.body[:300])
