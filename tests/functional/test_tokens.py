"""Tokens and sessions (checklist rows 11-16): forged tokens, timeouts, logout, rotation, step-up."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from tests.support import factories
from tests.support.identity import body, last_code, post, registered, request_code

T0 = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(T0)
    return client


def _pair(client, r):
    response = post(client, "/v1/auth/login", {"principal": r.phone, "password": r.password})
    assert response.status_code == 200
    return body(response)


def _me(client, access_token):
    """A depositor route of this issue that needs a valid token (refused with 400 for the empty body)."""
    return post(client, "/v1/me/sms-subscription", {}, headers={"Authorization": f"Bearer {access_token}"},
                method="put")


def _authorized(response) -> bool:
    return response.status_code not in (401, 403)


# --- forged and unsuitable tokens ---------------------------------------------------------------------

def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_genuine_token_works(env):
    pair = _pair(env, registered())
    assert _authorized(_me(env, pair["access_token"]))


def test_alg_none_is_refused(env):
    claims = _claims_of(_pair(env, registered())["access_token"])
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _me(env, forged).status_code == 401


def test_a_token_signed_with_another_secret_or_algorithm_is_refused(env):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    claims = _claims_of(_pair(env, registered())["access_token"])
    assert _me(env, jwt.encode(claims, "another-secret-another-secret-123456", algorithm="HS256")).status_code == 401
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # PyJWT warns about the key length for HS512
        hs512 = jwt.encode(claims, auth.secret(), algorithm="HS512")
    assert _me(env, hs512).status_code == 401
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert _me(env, jwt.encode(claims, pem, algorithm="RS256")).status_code == 401


@pytest.mark.parametrize("change", [
    {"aud": "another-api"},
    {"iss": "someone-else"},
    {"typ": "refresh"},
    {"typ": "step_up"},
    {"typ": "id"},
    {"role": "superuser"},
    {"role": "unit"},                       # validly signed, but not the session's role
    {"sub": "u-somebody-else"},
    {"sid": "no-such-session"},
    {"op": "admin"},                        # operator powers on a depositor token
])
def test_tampered_claims_are_refused_even_when_signed_with_the_secret(env, change):
    claims = {**_claims_of(_pair(env, registered())["access_token"]), **change}
    assert _me(env, jwt.encode(claims, auth.secret(), algorithm="HS256")).status_code == 401


def test_an_expired_access_token_is_refused(env, clock_file):
    pair = _pair(env, registered())
    clock_file("2026-07-15T09:14:59+08:00")
    assert _authorized(_me(env, pair["access_token"]))
    clock_file("2026-07-15T09:15:00+08:00")
    expired = _me(env, pair["access_token"])
    assert expired.status_code == 401


def test_a_missing_or_malformed_authorization_is_401(env):
    for value in ("", "Bearer", "Bearer x.y.z", "Basic abc", "bearer " + "a" * 20):
        response = post(env, "/v1/me/sms-subscription", {}, headers={"Authorization": value}, method="put")
        assert response.status_code == 401


# --- session timeouts and termination -----------------------------------------------------------------

def test_thirty_minutes_idle_ends_the_session(env, clock_file):
    pair = _pair(env, registered())
    clock_file("2026-07-15T09:29:00+08:00")
    refreshed = post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200
    clock_file("2026-07-15T10:00:01+08:00")
    idle = post(env, "/v1/auth/refresh", {"refresh_token": body(refreshed)["refresh_token"]})
    assert idle.status_code == 401


def test_twelve_hours_is_the_absolute_limit(env, clock_file):
    pair = _pair(env, registered())
    token = pair["refresh_token"]
    from datetime import timedelta

    from chalicelib import clock

    start = clock.parse(T0)
    for step in range(1, 29):                         # every 25 minutes up to 11 h 40 min
        clock_file((start + timedelta(minutes=25 * step)).isoformat())
        response = post(env, "/v1/auth/refresh", {"refresh_token": token})
        assert response.status_code == 200, step
        token = body(response)["refresh_token"]
    clock_file("2026-07-15T21:00:00+08:00")
    assert post(env, "/v1/auth/refresh", {"refresh_token": token}).status_code == 401


def test_logout_ends_access_and_refresh_tokens_at_once(env):
    pair = _pair(env, registered())
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert post(env, "/v1/auth/logout", headers=headers).status_code == 204
    assert _me(env, pair["access_token"]).status_code == 401
    assert post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}).status_code == 401
    assert post(env, "/v1/auth/logout", headers=headers).status_code == 401


def test_logout_works_for_every_role(env):
    for role, op in ((auth.UNIT, None), (auth.DEVELOPER, None), (auth.OPERATOR, "reviewer")):
        login = factories.login(f"x-{role}", role, op_role=op)
        assert post(env, "/v1/auth/logout", headers=login.headers).status_code == 204
        assert post(env, "/v1/auth/logout", headers=login.headers).status_code == 401


def test_refresh_and_session_tokens_carry_at_least_128_random_bits():
    from chalicelib.services import sessions

    tokens = {sessions.PREFIX + __import__("secrets").token_urlsafe(32) for _ in range(10000)}
    assert len(tokens) == 10000
    import inspect

    source = inspect.getsource(sessions.start) + inspect.getsource(auth.open_session)
    assert "secrets.token_urlsafe(32)" in source and "secrets.token_urlsafe(24)" in source


def test_many_logins_give_distinct_tokens(env):
    from chalicelib import clock
    from chalicelib.services import sessions

    now = clock.now()
    pairs = [sessions.start(f"u{i}", auth.DEPOSITOR, now=now) for i in range(300)]
    refresh_tokens = {p.refresh_token for p in pairs}
    assert len(refresh_tokens) == 300 and all(len(t) >= 43 for t in refresh_tokens)
    assert len({p.access_token for p in pairs}) == 300


# --- refresh rotation -----------------------------------------------------------------------------------

def test_a_refresh_token_rotates(env, clock_file):
    pair = _pair(env, registered())
    clock_file("2026-07-15T09:10:00+08:00")
    new = body(post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}))
    assert new["refresh_token"] != pair["refresh_token"]
    assert new["access_token"] != pair["access_token"] and new["role"] == "depositor"
    assert _authorized(_me(env, new["access_token"]))


def test_reusing_a_refresh_token_revokes_the_whole_family(env, clock_file):
    pair = _pair(env, registered())
    new = body(post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}))
    clock_file("2026-07-15T09:01:00+08:00")          # past the 30 s grace
    reuse = post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert reuse.status_code == 401
    assert post(env, "/v1/auth/refresh", {"refresh_token": new["refresh_token"]}).status_code == 401
    assert _me(env, new["access_token"]).status_code == 401
    from chalicelib.store.audit import AuditEvent

    assert any(e.event == "auth.refresh.reuse" for e in AuditEvent.scan())


def test_a_retry_within_the_grace_window_gets_the_same_refresh_token(env, clock_file):
    pair = _pair(env, registered())
    first = body(post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}))
    clock_file("2026-07-15T09:00:20+08:00")
    retry = body(post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}))
    assert retry["refresh_token"] == first["refresh_token"]
    assert _authorized(_me(env, retry["access_token"]))


def test_a_retry_after_the_successor_was_used_is_theft(env, clock_file):
    pair = _pair(env, registered())
    first = body(post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}))
    clock_file("2026-07-15T09:00:05+08:00")
    assert post(env, "/v1/auth/refresh", {"refresh_token": first["refresh_token"]}).status_code == 200
    clock_file("2026-07-15T09:00:10+08:00")
    assert post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}).status_code == 401
    assert _me(env, first["access_token"]).status_code == 401


@pytest.mark.parametrize("token", ["", "rt_unknown", "x" * 120, "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_unknown_refresh_tokens_are_refused(env, token):
    response = post(env, "/v1/auth/refresh", {"refresh_token": token})
    assert response.status_code in (400, 401)


def test_an_access_token_is_not_a_refresh_token(env):
    pair = _pair(env, registered())
    assert post(env, "/v1/auth/refresh", {"refresh_token": pair["access_token"][:128]}).status_code == 401


# --- step-up ---------------------------------------------------------------------------------------------

step_routes: list = []
step_api = Api(__name__, tag="test", registry=step_routes)


@step_api.route("/t/withdraw", "POST", roles=(auth.DEPOSITOR,), step_up=True)
def withdraw(req: Request):
    return {"ok": True}


@pytest.fixture
def money_client(tmp_path):
    app = Chalice(app_name="stepup-test")
    app.register_blueprint(step_api.blueprint)
    project = tmp_path / "p2"
    project.mkdir()
    with Client(app, project_dir=str(project)) as c:
        yield c


def _step_up(client, r, pair):
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert request_code(client, "step_up", headers=headers).status_code == 202
    response = post(client, "/v1/auth/step-up", {"sms_code": last_code(r.phone)}, headers=headers)
    assert response.status_code == 200, body(response)
    return body(response)["step_up_token"]


def test_step_up_opens_money_routes_for_five_minutes_in_its_own_session(env, money_client, clock_file):
    r = registered()
    pair = _pair(env, r)
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert post(money_client, "/t/withdraw", {}, headers=headers).status_code == 401     # plain session
    token = _step_up(env, r, pair)
    assert post(money_client, "/t/withdraw", {}, headers={**headers, "X-Step-Up-Token": token}).status_code == 200
    other = _pair(env, r)
    other_headers = {"Authorization": f"Bearer {other['access_token']}", "X-Step-Up-Token": token}
    assert post(money_client, "/t/withdraw", {}, headers=other_headers).status_code == 401
    clock_file("2026-07-15T09:05:00+08:00")
    late = post(money_client, "/t/withdraw", {}, headers={**headers, "X-Step-Up-Token": token})
    assert late.status_code == 401


def test_a_step_up_code_of_another_session_does_not_work(env):
    r = registered()
    first, second = _pair(env, r), _pair(env, r)
    request_code(env, "step_up", headers={"Authorization": f"Bearer {first['access_token']}"})
    response = post(env, "/v1/auth/step-up", {"sms_code": last_code(r.phone)},
                    headers={"Authorization": f"Bearer {second['access_token']}"})
    assert body(response)["error"]["code"] == "SMS_CODE_INVALID"


def test_a_login_code_is_not_a_step_up_code(env, clock_file):
    r = registered()
    pair = _pair(env, r)
    request_code(env, "login", phone=r.phone)
    response = post(env, "/v1/auth/step-up", {"sms_code": last_code(r.phone)},
                    headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert body(response)["error"]["code"] == "SMS_CODE_INVALID"


def test_a_step_up_token_is_not_an_access_token(env):
    r = registered()
    pair = _pair(env, r)
    token = _step_up(env, r, pair)
    assert _me(env, token).status_code == 401


# --- the signing secret -----------------------------------------------------------------------------------

def test_in_prod_the_secret_comes_from_ssm_and_is_cached(aws, monkeypatch):
    import boto3

    from chalicelib import settings

    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/gjj/prod/token-secret", Value="s" * 48, Type="SecureString")
    monkeypatch.setenv("GJJ_STAGE", "prod")
    monkeypatch.setenv("GJJ_TOKEN_SECRET", "the-environment-does-not-count-in-prod")
    settings.reset()
    auth.reset_secret_cache()
    try:
        assert auth.secret() == "s" * 48
        ssm.put_parameter(Name="/gjj/prod/token-secret", Value="t" * 48, Type="SecureString", Overwrite=True)
        assert auth.secret() == "s" * 48        # cached for the life of the process
        token = auth.encode({"sub": "x"}, typ="access", ttl_seconds=60)
        assert jwt.decode(token, "s" * 48, algorithms=["HS256"], audience=auth.AUDIENCE)["sub"] == "x"
    finally:
        monkeypatch.setenv("GJJ_STAGE", "local")
        settings.reset()
        auth.reset_secret_cache()


def test_in_prod_a_missing_parameter_stops_token_issuing(aws, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib import settings

    monkeypatch.setenv("GJJ_STAGE", "prod")
    settings.reset()
    auth.reset_secret_cache()
    try:
        with pytest.raises(ClientError):
            auth.secret()
    finally:
        monkeypatch.setenv("GJJ_STAGE", "local")
        settings.reset()
        auth.reset_secret_cache()


def test_the_local_stage_uses_the_environment_secret():
    assert auth.secret() == "test-secret-0123456789-0123456789-0123456789"


def test_tokens_are_quick_to_check(env):
    pair = _pair(env, registered())
    started = time.perf_counter()
    for _ in range(20):
        auth.decode(pair["access_token"], typ="access")
    assert time.perf_counter() - started < 1
