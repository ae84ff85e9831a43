"""The shared HTTP conventions (CONTRACT section 2), pinned on a small app of test routes."""

from __future__ import annotations

import json

import pytest
from chalice import Chalice
from chalice.test import Client
from pydantic import BaseModel, ConfigDict

from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.pagination import PageQuery
from chalicelib.money import Money, MoneyOut
from tests.support import factories

routes: list = []
api = Api(__name__, tag="test", registry=routes)
calls = {"pay": 0}


class PayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Money
    note: str = ""


class PayOut(BaseModel):
    serial_no: str
    amount: MoneyOut


@api.route("/t/public", roles=None)
def public(req: Request):
    return {"ok": True}


@api.route("/t/depositor", roles=(auth.DEPOSITOR,))
def depositor_only(req: Request):
    return {"subject": req.subject}


@api.route("/t/admin", roles=(auth.OPERATOR,), op_roles=("admin",))
def admin_only(req: Request):
    return {"ok": True}


@api.route("/t/pay", "POST", roles=(auth.DEPOSITOR,), body=PayIn, response=PayOut, status=201, idempotent=True)
def pay(req: Request):
    calls["pay"] += 1
    if req.body.amount > 100000:
        from chalicelib import errors

        raise errors.InsufficientBalance()
    return PayOut(serial_no=f"S{calls['pay']}", amount=req.body.amount)


@api.route("/t/boom", roles=None)
def boom(req: Request):
    raise RuntimeError("a bug")


@api.route("/t/page", roles=None, query=PageQuery)
def paged(req: Request):
    return {"limit": req.query.limit}


app = Chalice("conventions")
app.register_blueprint(api.blueprint)


@pytest.fixture
def tclient(aws, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    with Client(app, project_dir=str(project)) as c:
        yield c


def post(client, path, body, headers):
    return client.http.post(path, body=json.dumps(body) if not isinstance(body, str) else body, headers=headers)


def test_missing_token_is_401_with_the_error_envelope(tclient):
    response = tclient.http.get("/t/depositor")
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "UNAUTHENTICATED"
    assert response.json_body["error"]["message"]


def test_token_of_another_role_is_403(tclient):
    unit_login = factories.login("U0001", auth.UNIT)
    response = tclient.http.get("/t/depositor", headers=unit_login.headers)
    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "FORBIDDEN"


def test_reviewer_cannot_open_an_admin_route(tclient):
    reviewer = factories.login("alice", auth.OPERATOR, op_role="reviewer")
    admin = factories.login("bob", auth.OPERATOR, op_role="admin")
    assert tclient.http.get("/t/admin", headers=reviewer.headers).status_code == 403
    assert tclient.http.get("/t/admin", headers=admin.headers).status_code == 200


def test_revoked_session_stops_its_token_at_once(tclient):
    login = factories.login("u1")
    assert tclient.http.get("/t/depositor", headers=login.headers).status_code == 200
    auth.revoke_session(login.session_id)
    assert tclient.http.get("/t/depositor", headers=login.headers).status_code == 401


@pytest.mark.parametrize("forge", ["none_alg", "wrong_secret", "wrong_audience", "expired", "wrong_type"])
def test_forged_tokens_are_refused(tclient, forge):
    import time

    import jwt

    login = factories.login("u1")
    claims = jwt.decode(login.token, options={"verify_signature": False})
    key = auth.secret()
    if forge == "none_alg":
        token = jwt.encode(claims, None, algorithm="none")
    elif forge == "wrong_secret":
        token = jwt.encode(claims, "another-secret-another-secret-another", algorithm="HS256")
    elif forge == "wrong_audience":
        token = jwt.encode({**claims, "aud": "other"}, key, algorithm="HS256")
    elif forge == "expired":
        token = jwt.encode({**claims, "exp": int(time.time()) - 10}, key, algorithm="HS256")
    else:
        token = jwt.encode({**claims, "typ": "step_up"}, key, algorithm="HS256")
    response = tclient.http.get("/t/depositor", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"amount": 12.5}, "amount"),          # floats are refused
    ({"amount": "12.5"}, "amount"),        # two places exactly
    ({"amount": "-1.00"}, "amount"),
    ({}, "amount"),
    ({"amount": "1.00", "extra": 1}, "extra"),
])
def test_bad_input_is_400_validation_failed_with_field_reasons(tclient, body, field):
    login = factories.login("u1")
    response = post(tclient, "/t/pay", body, login.with_headers(**{"Idempotency-Key": "k1"}))
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert field in error["details"]["fields"]


@pytest.mark.parametrize("raw", ["not json", "[1,2]", '"text"', "{"])
def test_malformed_json_is_400_not_500(tclient, raw):
    login = factories.login("u1")
    response = post(tclient, "/t/pay", raw, login.with_headers(**{"Idempotency-Key": "k1"}))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_money_goes_out_as_a_two_place_string(tclient):
    login = factories.login("u1")
    response = post(tclient, "/t/pay", {"amount": "926.50"}, login.with_headers(**{"Idempotency-Key": "m1"}))
    assert response.status_code == 201
    assert response.json_body["amount"] == "926.50"


class TestIdempotencyKey:
    def test_missing_key_is_400(self, tclient):
        login = factories.login("u1")
        response = post(tclient, "/t/pay", {"amount": "1.00"}, login.headers)
        assert response.status_code == 400
        assert response.json_body["error"]["code"] == "IDEMPOTENCY_KEY_MISSING"

    def test_overlong_key_is_400(self, tclient):
        login = factories.login("u1")
        response = post(tclient, "/t/pay", {"amount": "1.00"}, login.with_headers(**{"Idempotency-Key": "k" * 65}))
        assert response.status_code == 400

    def test_same_key_same_body_replays_the_first_response(self, tclient):
        login = factories.login("u1")
        headers = login.with_headers(**{"Idempotency-Key": "same"})
        first = post(tclient, "/t/pay", {"amount": "5.00"}, headers)
        before = calls["pay"]
        second = post(tclient, "/t/pay", {"amount": "5.00"}, headers)
        assert calls["pay"] == before            # the handler did not run again
        assert second.status_code == first.status_code == 201
        assert second.json_body == first.json_body
        assert second.headers.get("Idempotent-Replayed") == "true"

    def test_same_key_other_body_is_422(self, tclient):
        login = factories.login("u1")
        headers = login.with_headers(**{"Idempotency-Key": "k2"})
        assert post(tclient, "/t/pay", {"amount": "5.00"}, headers).status_code == 201
        response = post(tclient, "/t/pay", {"amount": "6.00"}, headers)
        assert response.status_code == 422
        assert response.json_body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    def test_a_refusal_is_final_for_its_key(self, tclient):
        login = factories.login("u1")
        headers = login.with_headers(**{"Idempotency-Key": "k3"})
        first = post(tclient, "/t/pay", {"amount": "2000.00"}, headers)
        assert first.status_code == 422
        again = post(tclient, "/t/pay", {"amount": "2000.00"}, headers)
        assert again.status_code == 422
        assert again.json_body == first.json_body

    def test_keys_are_per_caller(self, tclient):
        one, two = factories.login("u1"), factories.login("u2")
        a = post(tclient, "/t/pay", {"amount": "1.00"}, one.with_headers(**{"Idempotency-Key": "shared"}))
        b = post(tclient, "/t/pay", {"amount": "1.00"}, two.with_headers(**{"Idempotency-Key": "shared"}))
        assert a.json_body["serial_no"] != b.json_body["serial_no"]

    def test_in_progress_key_is_409(self, tclient):
        from chalicelib import clock
        from chalicelib.http import idempotency

        login = factories.login("u1")
        now = clock.now()
        req_hash = idempotency.request_hash("POST", "/t/pay", json.dumps({"amount": "1.00"}).encode(), None)

        def call_while_first_runs():
            response = post(tclient, "/t/pay", {"amount": "1.00"}, login.with_headers(**{"Idempotency-Key": "k4"}))
            return response.status_code, response.json_body, {}

        (status, body, _), replayed = idempotency.run(scope="u1|POST /t/pay|", key="k4", req_hash=req_hash,
                                                      now=now, call=call_while_first_runs)
        assert status == 409 and body["error"]["code"] == "IN_PROGRESS"

    def test_record_expires_after_the_kept_hours(self, tclient, clock_file):
        login = factories.login("u1")
        clock_file("2026-07-01T09:00:00+08:00")
        login = factories.login("u1")
        headers = login.with_headers(**{"Idempotency-Key": "k5"})
        first = post(tclient, "/t/pay", {"amount": "1.00"}, headers)
        clock_file("2026-07-02T08:59:00+08:00")   # 23 h 59 min later: still kept
        login2 = factories.login("u1")
        kept = post(tclient, "/t/pay", {"amount": "1.00"}, login2.with_headers(**{"Idempotency-Key": "k5"}))
        assert kept.json_body == first.json_body
        clock_file("2026-07-02T09:00:01+08:00")   # past 24 h: a new request
        login3 = factories.login("u1")
        fresh = post(tclient, "/t/pay", {"amount": "1.00"}, login3.with_headers(**{"Idempotency-Key": "k5"}))
        assert fresh.status_code == 201 and fresh.json_body != first.json_body


def test_an_unexpected_error_is_a_500_envelope_without_internals(tclient):
    response = tclient.http.get("/t/boom")
    assert response.status_code == 500
    assert response.json_body["error"]["code"] == "INTERNAL"
    assert "a bug" not in json.dumps(response.json_body)


@pytest.mark.parametrize("query, ok", [("", True), ("?limit=100", True), ("?limit=101", False),
                                       ("?limit=0", False), ("?limit=abc", False)])
def test_limit_is_1_to_100(tclient, query, ok):
    response = tclient.http.get("/t/page" + query)
    assert (response.status_code == 200) is ok
    if not ok:
        assert response.json_body["error"]["code"] == "VALIDATION_FAILED"

