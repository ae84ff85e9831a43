"""Issue 17 item 3: password reset tells whether a guessed phone is the one on file.

The attacker knows a name and ID number but no code. They send resets with a wrong code and a new password made
of each candidate phone: the new password used to be checked against the phone on record first, so "密码不能包含
手机号" picked out the right phone (1,000 candidates in 21 s, no 429).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib import policy
from tests.support import factories
from tests.support.identity import body, post, registered

T0 = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(T0)
    return client


def _reset(client, r, new_password, code="000000"):
    return post(client, "/v1/auth/password-reset", {"name": "张三", "id_number": r.id_number, "sms_code": code,
                                                    "new_password": new_password})


def test_a_password_made_of_the_right_phone_gets_the_same_answer_as_a_wrong_one(env):
    victim = registered()
    wrong_guess = "13999990000"
    assert wrong_guess != victim.phone
    right = _reset(env, victim, f"pw{victim.phone}x")
    wrong = _reset(env, victim, f"pw{wrong_guess}x")
    weak = _reset(env, victim, "12345678")                  # a rule that needs no record: still the same answer
    assert right.status_code == wrong.status_code == weak.status_code == 400
    assert body(right) == body(wrong) == body(weak)
    assert body(right)["error"]["code"] == "SMS_CODE_INVALID"


def test_guessing_phones_for_one_id_number_is_stopped(env):
    victim = registered()
    per_id = policy.get().security.reset_attempts_per_id_per_day
    for i in range(per_id):
        assert _reset(env, victim, f"pw1380000{i:04d}x").status_code == 400
    over = _reset(env, victim, f"pw{victim.phone}x")
    assert over.status_code == 429 and body(over)["error"]["code"] == "RATE_LIMITED"


def test_spreading_the_guesses_over_many_id_numbers_is_stopped_per_source(env, monkeypatch):
    sec = policy.get().security
    monkeypatch.setattr(type(sec), "reset_attempts_per_source_per_day", property(lambda self: 5), raising=False)
    people = [registered() for _ in range(6)]
    answers = [_reset(env, r, f"pw{r.phone}x").status_code for r in people]
    assert answers == [400] * 5 + [429]


def test_an_unknown_id_number_is_limited_exactly_like_a_known_one(env):
    ghost = SimpleNamespace(id_number=factories.new_id_number())    # a valid ID number nobody registered
    per_id = policy.get().security.reset_attempts_per_id_per_day
    answers = [_reset(env, ghost, "another-long-password").status_code for _ in range(per_id + 1)]
    assert answers == [400] * per_id + [429]
