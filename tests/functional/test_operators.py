"""Operators (中心操作员): created from the command line, username + password login, role in the token."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib import errors
from chalicelib.services import operators
from tests.support.identity import body, post

PASSWORD = "审批员的长密码2026"


@pytest.fixture
def env(aws, client, clock_file):
    clock_file("2026-07-15T09:00:00+08:00")
    return client


def _login(client, username, password=PASSWORD, **extra):
    return post(client, "/v1/admin/auth/login", {"username": username, "password": password, **extra})


def test_an_operator_logs_in_and_the_token_carries_the_role(env):
    import jwt

    operators.create_operator("reviewer01", PASSWORD, "reviewer")
    response = _login(env, "reviewer01")
    assert response.status_code == 200
    pair = body(response)
    assert pair["role"] == "operator"
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert claims["op"] == "reviewer" and claims["sub"] == "reviewer01"
    refreshed = post(env, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert jwt.decode(body(refreshed)["access_token"], options={"verify_signature": False})["op"] == "reviewer"


def test_unknown_operator_and_wrong_password_answer_alike(env):
    operators.create_operator("admin01", PASSWORD, "admin")
    wrong, unknown = _login(env, "admin01", "not-the-password"), _login(env, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert body(wrong) == body(unknown)


def test_operators_lock_after_ten_failures(env):
    from chalicelib import clock
    from chalicelib.services import captchas

    operators.create_operator("admin02", PASSWORD, "admin")
    statuses = []
    for _ in range(10):
        captcha_id, _, text = captchas.create(now=clock.now())
        statuses.append(_login(env, "admin02", "guess-guess", captcha_id=captcha_id, captcha_answer=text).status_code)
    assert statuses == [401] * 9 + [423]
    assert _login(env, "admin02").status_code == 423


def test_a_depositor_password_route_does_not_take_operators(env):
    operators.create_operator("admin03", PASSWORD, "admin")
    assert post(env, "/v1/auth/login", {"principal": "admin03", "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("username, password, role, field", [
    ("ab", PASSWORD, "admin", "username"),
    ("ok_name", PASSWORD, "root", "op_role"),
    ("ok_name", "short", "admin", "password"),
    ("ok_name", "password123", "admin", "password"),
    ("ok_name", "ok_name-2026-long", "admin", "password"),
])
def test_create_operator_refusals(aws, username, password, role, field):
    with pytest.raises(errors.ValidationFailed) as caught:
        operators.create_operator(username, password, role)
    assert field in caught.value.details["fields"]


def test_an_operator_name_is_taken_once(aws):
    operators.create_operator("admin04", PASSWORD, "admin")
    with pytest.raises(errors.Conflict):
        operators.create_operator("admin04", PASSWORD, "reviewer")


def test_gjj_operators_create_reads_the_password_from_stdin(aws, monkeypatch, capsys):
    from chalicelib import cli
    from chalicelib.services import passwords
    from chalicelib.store.users import Operator

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = cli.main(["operators", "create", "--username", "cli-admin", "--password-stdin", "--role", "admin"])
    assert code == 0
    stored = Operator.get("cli-admin")
    assert stored.op_role == "admin" and passwords.verify(stored.password_hash, PASSWORD)
    assert PASSWORD not in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["operators", "create", "--username", "cli-admin2", "--password-stdin", "--role", "admin"]) == 2


def test_operator_login_is_audited(env):
    from chalicelib.store.audit import AuditEvent

    operators.create_operator("admin05", PASSWORD, "admin")
    _login(env, "admin05")
    _login(env, "admin05", "bad-password")
    events = [e for e in AuditEvent.scan() if e.event == "auth.login.operator"]
    assert sorted(e.result for e in events) == ["ok", "refused"]
    assert all(PASSWORD not in json.dumps(e.attribute_values, default=str) for e in events)
