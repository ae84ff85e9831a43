"""Identity paths that rely on DynamoDB semantics moto may paper over: the registration transaction with
its claims, the phone-change transaction, session revocation through the subject index, atomic counters
and conditional code use. Run on moto and on DynamoDB Local."""

from __future__ import annotations

import pytest

from chalicelib import clock, errors
from chalicelib.http import auth
from chalicelib.services import identity, lockout, sessions, sms_codes
from tests.support import factories

NOW = clock.parse("2026-07-15T09:00:00+08:00")


def _person():
    p = factories.person(name="周九")
    factories.account(p)
    return p


def test_registration_claims_make_a_second_user_impossible(backend):
    p = _person()
    user = identity.create_user(id_number=p.id_number, phone=p.phone, now=NOW, password="一个足够长的密码")
    assert identity.user_by_id_number(p.id_number).user_id == user.user_id
    with pytest.raises(errors.Conflict):
        identity.create_user(id_number=p.id_number, phone="13612340000", now=NOW)
    other = _person()
    with pytest.raises(errors.Conflict) as caught:
        identity.create_user(id_number=other.id_number, phone=p.phone, now=NOW)
    assert "手机号" in caught.value.message
    assert identity.user_by_id_number(other.id_number) is None


def test_phone_change_swaps_claims_in_one_transaction(backend):
    from chalicelib.services import phones
    from chalicelib.store.people import Person

    p = _person()
    user = identity.create_user(id_number=p.id_number, phone=p.phone, now=NOW)
    principal = auth.Principal(subject=user.user_id, role=auth.DEPOSITOR, session_id="s1")
    sms_codes.send("13612349999", "change_phone", now=NOW, bound_to=user.user_id)
    from tests.support.identity import last_code

    phones.change_phone(principal, new_phone="13612349999", sms_code=last_code("13612349999"), now=NOW)
    assert Person.get(p.id_number).phone == "13612349999"
    assert identity.user_by_phone("13612349999").user_id == user.user_id
    # the old phone is free again for someone else
    other = _person()
    identity.create_user(id_number=other.id_number, phone=p.phone, now=NOW)


def test_revoking_all_sessions_of_a_user(backend):
    pairs = [sessions.start("u-many", auth.DEPOSITOR, now=NOW) for _ in range(3)]
    keep = auth.decode(pairs[0].access_token, typ="access", now=NOW)["sid"]
    assert auth.revoke_sessions_of("u-many", role=auth.DEPOSITOR, keep=keep) == 2
    assert sessions.refresh(pairs[0].refresh_token, now=NOW).role == auth.DEPOSITOR
    for pair in pairs[1:]:
        with pytest.raises(errors.Unauthenticated):
            sessions.refresh(pair.refresh_token, now=NOW)


def test_counters_and_single_use_codes(backend):
    key = lockout.key_for("depositor", "ddb")
    for _ in range(10):
        lockout.fail(key, now=NOW)
    assert lockout.state(key, now=NOW).locked_until is not None
    sms_codes.send("13612348888", "login", now=NOW)
    from tests.support.identity import last_code

    code = last_code("13612348888")
    sms_codes.verify("13612348888", "login", code, now=NOW)
    with pytest.raises(errors.SmsCodeInvalid):
        sms_codes.verify("13612348888", "login", code, now=NOW)
    with pytest.raises(errors.RateLimited):
        sms_codes.send("13612348888", "login", now=NOW)
