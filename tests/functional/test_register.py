"""Registration (用户注册): against the center's records, with the password rules (checklist rows 1-4)."""

from __future__ import annotations

import re

import pytest

from tests.support import factories
from tests.support.identity import PASSWORD, body, last_code, post, request_code


@pytest.fixture
def env(aws, client, clock_file):
    clock_file("2026-07-15T09:00:00+08:00")
    return client


def _in_records(name="王芳"):
    p = factories.person(name=name)
    factories.account(p)
    return p


def _register(client, p, **overrides):
    request_code(client, "register", phone=overrides.get("phone", p.phone))
    payload = {"name": p.name, "id_number": p.id_number, "phone": p.phone, "password": PASSWORD,
               "sms_code": last_code(overrides.get("phone", p.phone)), "accept_terms": True, **overrides}
    return post(client, "/v1/auth/register", payload)


def test_a_person_in_the_records_registers_and_can_log_in(env):
    p = _in_records()
    response = _register(env, p, query_password="查询密码也要够长")
    assert response.status_code == 201
    user_id = body(response)["user_id"]
    login = post(env, "/v1/auth/login", {"principal": p.id_number, "password": PASSWORD})
    assert login.status_code == 200
    tokens = body(login)
    assert tokens["role"] == "depositor" and tokens["expires_in"] == 900
    assert tokens["access_token"] and tokens["refresh_token"].startswith("rt_")
    from chalicelib.store.users import User

    user = User.get(user_id)
    assert user.query_password_hash.startswith("$argon2id$")


def test_the_password_is_stored_as_argon2id_at_or_above_the_asvs_row(env):
    from chalicelib.store.users import User

    p = _in_records()
    user_id = body(_register(env, p))["user_id"]
    stored = User.get(user_id).password_hash
    m = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$.+", stored)
    assert m, stored
    memory_kib, t, p_ = map(int, m.groups())
    assert t >= 2 and memory_kib >= 19 * 1024 and p_ == 1
    assert PASSWORD not in str(User.get(user_id).attribute_values)


@pytest.mark.parametrize("field, value", [("name", "李四"), ("phone", "13700000009")])
def test_a_mismatch_with_the_records_is_not_eligible(env, field, value):
    p = _in_records()
    response = _register(env, p, **{field: value})
    assert response.status_code == 422
    error = body(response)["error"]
    assert error["code"] == "NOT_ELIGIBLE"
    assert "网点" in error["message"]


def test_a_person_without_an_account_is_not_eligible(env):
    p = factories.person(name="赵六")
    assert _register(env, p).status_code == 422


def test_a_valid_id_number_missing_from_the_records_is_not_eligible(env):
    p = factories.person(name="钱七")
    from chalicelib.store.people import Person

    Person.get(p.id_number).delete()
    assert _register(env, p).status_code == 422


def test_registering_twice_is_a_conflict(env, clock_file):
    p = _in_records()
    assert _register(env, p).status_code == 201
    clock_file("2026-07-15T09:02:00+08:00")
    again = _register(env, p)
    assert again.status_code == 409


def test_a_wrong_or_replayed_code_is_refused(env):
    p = _in_records()
    request_code(env, "register", phone=p.phone)
    code = last_code(p.phone)
    wrong = f"{(int(code) + 7) % 10**6:06d}"
    payload = {"name": p.name, "id_number": p.id_number, "phone": p.phone, "password": PASSWORD,
               "accept_terms": True}
    refused = post(env, "/v1/auth/register", {**payload, "sms_code": wrong})
    assert refused.status_code == 400 and body(refused)["error"]["code"] == "SMS_CODE_INVALID"
    assert post(env, "/v1/auth/register", {**payload, "sms_code": code}).status_code == 201
    replay = post(env, "/v1/auth/register", {**payload, "sms_code": code})
    assert replay.status_code == 400 and body(replay)["error"]["code"] == "SMS_CODE_INVALID"


def test_an_expired_code_is_refused(env, clock_file):
    p = _in_records()
    request_code(env, "register", phone=p.phone)
    code = last_code(p.phone)
    clock_file("2026-07-15T09:05:01+08:00")
    payload = {"name": p.name, "id_number": p.id_number, "phone": p.phone, "password": PASSWORD,
               "sms_code": code, "accept_terms": True}
    refused = post(env, "/v1/auth/register", payload)
    assert body(refused)["error"]["code"] == "SMS_CODE_INVALID"


@pytest.mark.parametrize("field, value", [
    ("id_number", "140105198506150000"),        # wrong check digit
    ("id_number", "140105198502300011"),        # 30 February
    ("id_number", "1401051985"),
    ("phone", "12812345678"),
    ("phone", "1391234567"),
    ("accept_terms", False),
    ("password", "short7!"),
    ("password", "password123"),
    ("password", "gongjijin123"),
    ("password", "ab" * 33),
    ("password", "aaaaaaaaaaaa"),
])
def test_bad_registration_input_is_400_with_the_field(env, field, value):
    p = _in_records()
    response = _register(env, p, **{field: value}) if field != "phone" else post(env, "/v1/auth/register", {
        "name": p.name, "id_number": p.id_number, "phone": value, "password": PASSWORD, "sms_code": "123456",
        "accept_terms": True})
    assert response.status_code == 400
    assert field in body(response)["error"]["details"]["fields"]


def test_a_password_containing_the_id_number_or_phone_is_refused(env, clock_file):
    p = _in_records()
    r1 = _register(env, p, password=f"x{p.id_number}")
    assert body(r1)["error"]["details"]["fields"]["password"]
    clock_file("2026-07-15T09:01:00+08:00")
    r2 = _register(env, p, password=f"my{p.phone}!")
    assert body(r2)["error"]["details"]["fields"]["password"]


POEM = ("春眠不觉晓处处闻啼鸟夜来风雨声花落知多少" * 4)[:64]
LONG = ("correct horse battery staple " * 3)[:64]


@pytest.mark.parametrize("password", ["八个汉字的密码好", POEM, LONG, "  spaces matter  "])
def test_long_and_chinese_passwords_work_exactly_as_given(env, password):
    p = _in_records()
    assert _register(env, p, password=password).status_code == 201
    assert post(env, "/v1/auth/login", {"principal": p.phone, "password": password}).status_code == 200
    assert post(env, "/v1/auth/login", {"principal": p.phone, "password": password.strip() + "x"}).status_code == 401


def test_missing_fields_are_400(env):
    response = post(env, "/v1/auth/register", {"name": "张三"})
    assert response.status_code == 400
    fields = body(response)["error"]["details"]["fields"]
    assert {"id_number", "phone", "password", "sms_code", "accept_terms"} <= set(fields)


def test_no_full_id_number_phone_password_or_code_reaches_responses_or_logs(env, capsys):
    p = _in_records()
    request_code(env, "register", phone=p.phone)
    code = last_code(p.phone)
    payload = {"name": p.name, "id_number": p.id_number, "phone": p.phone, "password": PASSWORD,
               "sms_code": code, "accept_terms": True}
    responses = [post(env, "/v1/auth/register", payload),
                 post(env, "/v1/auth/login", {"principal": p.id_number, "password": PASSWORD}),
                 post(env, "/v1/auth/login", {"principal": p.phone, "password": "wrong-password"})]
    logs = capsys.readouterr().out
    for text in [logs] + [r.body.decode() if isinstance(r.body, bytes) else r.body for r in responses]:
        assert p.id_number not in text and p.phone not in text
        assert PASSWORD not in text and code not in text
