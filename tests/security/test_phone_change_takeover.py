"""Issue 17 item 2: a stolen session moves the account to the thief's phone in one step.

The thief holds the victim's access token (and refresh token) and a phone of their own. PUT /v1/me/phone used to
need nothing more than the token and a code sent to the *new* phone.
"""

from __future__ import annotations

import pytest

from chalicelib.services import identity
from chalicelib.store.messages import OutboundSms
from chalicelib.store.people import Person
from tests.support.identity import body, last_code, post, registered, request_code, sent_to

T0 = "2026-07-15T09:00:00+08:00"
THIEF_PHONE = "13600006666"


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(T0)
    return client


def _login(client, r):
    response = post(client, "/v1/auth/login", {"principal": r.phone, "password": r.password})
    assert response.status_code == 200
    return body(response)


def _bearer(pair):
    return {"Authorization": f"Bearer {pair['access_token']}"}


def test_a_stolen_session_and_a_code_to_the_new_phone_do_not_change_the_phone(env):
    victim = registered()
    stolen = _login(env, victim)
    assert request_code(env, "change_phone", phone=THIEF_PHONE, headers=_bearer(stolen)).status_code == 202
    response = post(env, "/v1/me/phone", {"new_phone": THIEF_PHONE, "sms_code": last_code(THIEF_PHONE)},
                    headers=_bearer(stolen), method="put")
    assert response.status_code == 401 and body(response)["error"]["details"].get("step_up") == "required"
    assert identity.user_by_id(victim.user.user_id).phone == victim.phone
    assert Person.get(victim.id_number).phone == victim.phone


def test_the_step_up_the_thief_would_need_goes_to_the_victims_phone(env):
    victim = registered()
    stolen = _login(env, victim)
    assert request_code(env, "step_up", headers=_bearer(stolen)).status_code == 202
    assert request_code(env, "step_up", phone=THIEF_PHONE, headers=_bearer(stolen)).status_code == 400
    assert sent_to(victim.phone) == 1 and sent_to(THIEF_PHONE) == 0
    guessed = post(env, "/v1/auth/step-up", {"sms_code": "000000"}, headers=_bearer(stolen))
    assert guessed.status_code == 400 and body(guessed)["error"]["code"] == "SMS_CODE_INVALID"


def test_after_a_real_change_the_old_phone_is_told_and_every_other_session_ends(env):
    """The person changes the phone themselves (step-up on the old phone): a thief's session dies with it."""
    victim = registered()
    thiefs, own = _login(env, victim), _login(env, victim)
    request_code(env, "step_up", headers=_bearer(own))
    step_up = body(post(env, "/v1/auth/step-up", {"sms_code": last_code(victim.phone)}, headers=_bearer(own)))
    new_phone = "13600001234"
    request_code(env, "change_phone", phone=new_phone, headers=_bearer(own))
    response = post(env, "/v1/me/phone", {"new_phone": new_phone, "sms_code": last_code(new_phone)},
                    headers={**_bearer(own), "X-Step-Up-Token": step_up["step_up_token"]}, method="put")
    assert response.status_code == 204
    assert post(env, "/v1/auth/refresh", {"refresh_token": thiefs["refresh_token"]}).status_code == 401
    assert env.http.get("/v1/me", headers=_bearer(thiefs)).status_code == 401
    assert env.http.get("/v1/me", headers=_bearer(own)).status_code == 200
    told = [s.text for s in OutboundSms.scan() if s.phone == victim.phone]
    assert len(told) == 1 and "136****1234" in told[0]
