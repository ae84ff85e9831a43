"""Password reset and change, phone change, SMS subscription (checklist rows 13, 17)."""

from __future__ import annotations

import pytest

from tests.support import factories
from tests.support.identity import body, last_code, post, registered, request_code, sent_to

T0 = "2026-07-15T09:00:00+08:00"
NEW = "新的密码也很长2026"


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(T0)
    return client


def _pair(client, principal, password):
    response = post(client, "/v1/auth/login", {"principal": principal, "password": password})
    assert response.status_code == 200, body(response)
    return body(response)


def _auth(pair):
    return {"Authorization": f"Bearer {pair['access_token']}"}


def _alive(client, pair) -> bool:
    return post(client, "/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}).status_code == 200


# --- reset -----------------------------------------------------------------------------------------------

def _reset(client, r, code, password=NEW, name="张三"):
    return post(client, "/v1/auth/password-reset", {"name": name, "id_number": r.id_number, "sms_code": code,
                                                    "new_password": password})


def test_reset_sets_the_password_and_ends_every_session(env):
    r = registered()
    a, b = _pair(env, r.phone, r.password), _pair(env, r.id_number, r.password)
    request_code(env, "reset_password", name="张三", id_number=r.id_number)
    assert _reset(env, r, last_code(r.phone)).status_code == 204
    assert not _alive(env, a) and not _alive(env, b)
    assert post(env, "/v1/auth/login", {"principal": r.phone, "password": r.password}).status_code == 401
    assert _pair(env, r.phone, NEW)


def test_a_reset_code_works_once_and_expires(env, clock_file):
    r = registered()
    request_code(env, "reset_password", name="张三", id_number=r.id_number)
    code = last_code(r.phone)
    assert _reset(env, r, code).status_code == 204
    replay = _reset(env, r, code, password="又一个新密码2027")
    assert body(replay)["error"]["code"] == "SMS_CODE_INVALID"
    clock_file("2026-07-15T09:01:00+08:00")
    request_code(env, "reset_password", name="张三", id_number=r.id_number)
    late = last_code(r.phone)
    clock_file("2026-07-15T09:06:01+08:00")
    assert body(_reset(env, r, late))["error"]["code"] == "SMS_CODE_INVALID"


def test_reset_for_an_unknown_person_answers_like_a_wrong_code(env):
    r = registered()
    request_code(env, "reset_password", name="张三", id_number=r.id_number)
    wrong_code = _reset(env, r, f"{(int(last_code(r.phone)) + 1) % 10**6:06d}")
    ghost = registered()
    from chalicelib.store.users import User

    User.get(ghost.user.user_id).delete()
    unknown = _reset(env, ghost, "123456")
    wrong_name = _reset(env, r, "123456", name="李四")
    assert wrong_code.status_code == unknown.status_code == wrong_name.status_code == 400
    assert body(wrong_code) == body(unknown) == body(wrong_name)


def test_a_login_code_cannot_reset_the_password(env):
    r = registered()
    request_code(env, "login", phone=r.phone)
    assert body(_reset(env, r, last_code(r.phone)))["error"]["code"] == "SMS_CODE_INVALID"


def test_reset_refuses_a_weak_new_password(env):
    r = registered()
    request_code(env, "reset_password", name="张三", id_number=r.id_number)
    response = _reset(env, r, last_code(r.phone), password="12345678")
    assert response.status_code == 400
    assert "new_password" in body(response)["error"]["details"]["fields"]


def test_reset_lifts_a_password_lock(env):
    r = registered()
    from chalicelib import clock
    from chalicelib.services import lockout, logins

    key = logins.lock_key(r.user, r.phone)
    for _ in range(10):
        lockout.fail(key, now=clock.now())
    assert post(env, "/v1/auth/login", {"principal": r.phone, "password": r.password}).status_code == 423
    request_code(env, "reset_password", name="张三", id_number=r.id_number)
    assert _reset(env, r, last_code(r.phone)).status_code == 204
    assert _pair(env, r.phone, NEW)


# --- change ------------------------------------------------------------------------------------------------

def test_changing_the_password_ends_other_sessions_but_not_this_one(env):
    r = registered()
    this, other = _pair(env, r.phone, r.password), _pair(env, r.phone, r.password)
    response = post(env, "/v1/me/password", {"old_password": r.password, "new_password": NEW},
                    headers=_auth(this), method="put")
    assert response.status_code == 204
    assert not _alive(env, other)
    assert _alive(env, this)
    assert _pair(env, r.phone, NEW)
    from chalicelib.store.messages import OutboundSms

    assert [s.phone for s in OutboundSms.scan() if "密码已修改" in s.text] == [r.phone]


@pytest.mark.parametrize("payload, field", [
    ({"old_password": "wrong-old-password", "new_password": NEW}, "old_password"),
    ({"old_password": "青山绿水2026hpf", "new_password": "short"}, "new_password"),
    ({"old_password": "青山绿水2026hpf", "new_password": "青山绿水2026hpf"}, "new_password"),
    ({"old_password": "青山绿水2026hpf", "new_password": "iloveyou1314"}, "new_password"),
    ({"new_password": NEW}, "old_password"),
])
def test_password_change_refusals(env, payload, field):
    r = registered()
    pair = _pair(env, r.phone, r.password)
    response = post(env, "/v1/me/password", payload, headers=_auth(pair), method="put")
    assert response.status_code == 400
    assert field in body(response)["error"]["details"]["fields"]


def test_guessing_the_old_password_locks_the_account(env):
    r = registered()
    pair = _pair(env, r.phone, r.password)
    for _ in range(9):
        post(env, "/v1/me/password", {"old_password": "guess-guess", "new_password": NEW}, headers=_auth(pair),
             method="put")
    tenth = post(env, "/v1/me/password", {"old_password": "guess-guess", "new_password": NEW}, headers=_auth(pair),
                 method="put")
    assert tenth.status_code == 423


# --- phone -----------------------------------------------------------------------------------------------
# A phone change needs a step-up proven on the old phone (issue 17 item 2): these tests used to change it with
# the access token and a code to the new phone alone, which is what a stolen session could do.

def _stepped_up(client, r, pair) -> dict:
    """The session's headers plus a step-up token earned with a code sent to the user's (old) phone."""
    assert request_code(client, "step_up", headers=_auth(pair)).status_code == 202
    response = post(client, "/v1/auth/step-up", {"sms_code": last_code(r.phone)}, headers=_auth(pair))
    assert response.status_code == 200, body(response)
    return {**_auth(pair), "X-Step-Up-Token": body(response)["step_up_token"]}


def test_changing_the_phone_with_a_code_to_the_new_phone(env):
    from chalicelib.services import identity
    from chalicelib.store.messages import OutboundSms
    from chalicelib.store.people import Person

    r = registered()
    pair = _pair(env, r.phone, r.password)
    new_phone = "13612345678"
    assert request_code(env, "change_phone", phone=new_phone, headers=_auth(pair)).status_code == 202
    response = post(env, "/v1/me/phone", {"new_phone": new_phone, "sms_code": last_code(new_phone)},
                    headers=_stepped_up(env, r, pair), method="put")
    assert response.status_code == 204
    assert identity.user_by_id(r.user.user_id).phone == new_phone
    assert Person.get(r.id_number).phone == new_phone
    assert _pair(env, new_phone, r.password)
    assert post(env, "/v1/auth/login", {"principal": r.phone, "password": r.password}).status_code == 401
    told = [s for s in OutboundSms.scan() if s.phone == r.phone]
    assert len(told) == 1 and "136****5678" in told[0].text


def test_a_phone_change_code_of_another_user_does_not_work(env):
    r1, r2 = registered(), registered()
    p1, p2 = _pair(env, r1.phone, r1.password), _pair(env, r2.phone, r2.password)
    request_code(env, "change_phone", phone="13612345678", headers=_auth(p1))
    response = post(env, "/v1/me/phone", {"new_phone": "13612345678", "sms_code": last_code("13612345678")},
                    headers=_stepped_up(env, r2, p2), method="put")
    assert body(response)["error"]["code"] == "SMS_CODE_INVALID"


def test_a_phone_of_another_user_cannot_be_taken(env):
    r1, r2 = registered(), registered()
    p1 = _pair(env, r1.phone, r1.password)
    request_code(env, "change_phone", phone=r2.phone, headers=_auth(p1))
    response = post(env, "/v1/me/phone", {"new_phone": r2.phone, "sms_code": last_code(r2.phone)},
                    headers=_stepped_up(env, r1, p1), method="put")
    assert response.status_code == 409


@pytest.mark.parametrize("new_phone", ["12345", "23812345678"])
def test_a_bad_new_phone_is_400(env, new_phone):
    r = registered()
    pair = _pair(env, r.phone, r.password)
    response = post(env, "/v1/me/phone", {"new_phone": new_phone, "sms_code": "123456"}, headers=_auth(pair),
                    method="put")
    assert response.status_code == 400 and "new_phone" in body(response)["error"]["details"]["fields"]


def test_the_same_phone_is_not_a_change(env):
    r = registered()
    pair = _pair(env, r.phone, r.password)
    assert request_code(env, "change_phone", phone=r.phone, headers=_auth(pair)).status_code == 400
    assert sent_to(r.phone) == 0


# --- SMS subscription -------------------------------------------------------------------------------------

def test_sign_and_cancel_the_sms_subscription(env, clock_file):
    from chalicelib.services import identity

    r = registered()
    pair = _pair(env, r.phone, r.password)
    request_code(env, "sms_subscription", headers=_auth(pair))
    on = post(env, "/v1/me/sms-subscription", {"subscribed": True, "sms_code": last_code(r.phone)},
              headers=_auth(pair), method="put")
    assert on.status_code == 200 and body(on) == {"subscribed": True}
    assert identity.user_by_id(r.user.user_id).sms_subscribed is True
    clock_file("2026-07-15T09:01:00+08:00")
    request_code(env, "sms_subscription", headers=_auth(pair))
    off = post(env, "/v1/me/sms-subscription", {"subscribed": False, "sms_code": last_code(r.phone)},
               headers=_auth(pair), method="put")
    assert body(off) == {"subscribed": False}
    assert identity.user_by_id(r.user.user_id).sms_subscribed is False


def test_subscription_needs_its_own_code(env):
    r = registered()
    pair = _pair(env, r.phone, r.password)
    request_code(env, "step_up", headers=_auth(pair))
    response = post(env, "/v1/me/sms-subscription", {"subscribed": True, "sms_code": last_code(r.phone)},
                    headers=_auth(pair), method="put")
    assert body(response)["error"]["code"] == "SMS_CODE_INVALID"
    bad = post(env, "/v1/me/sms-subscription", {"subscribed": "maybe", "sms_code": "1"}, headers=_auth(pair),
               method="put")
    assert bad.status_code == 400


def test_profile_routes_need_a_depositor(env):
    login = factories.login("U0001", "unit")
    response = post(env, "/v1/me/password", {"old_password": "a", "new_password": "b"}, headers=login.headers,
                    method="put")
    assert response.status_code == 403
