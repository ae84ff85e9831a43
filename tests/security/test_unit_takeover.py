"""Issue 17 item 1 (HIGH), item 10 (unit part) and issue 16 item 12: a unit takes over a citizen's online identity.

The attack as reproduced: a unit enrols a person who has only a *sealed* account (88,000.00 in it), rewrites the
person's phone through PUT /v1/units/me/employees/{account_no}, registers online as the person with that phone,
receives the step-up code and applies to withdraw the money. Each step below is one the unit tries; each fails.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.http import auth
from chalicelib.store.accounts import Account
from chalicelib.store.messages import OutboundSms
from chalicelib.store.people import Person
from chalicelib.store.users import User
from tests.support import factories
from tests.support.identity import PASSWORD, body, last_code, post, request_code, sent_to

NOW = "2026-07-15T09:00:00+08:00"
SAVINGS = 8_800_000                  # 88,000.00 yuan in fen, the balance in the reproduced attack
UNIT_PHONE = "13700007777"            # a phone the unit's staff hold


@pytest.fixture
def unit(aws, client, clock_file):
    clock_file(NOW)
    factories.unit(unit_no="U1001")
    return factories.login("U1001", auth.UNIT)


def _send(client, login, method, path, payload, key):
    return getattr(client.http, method)(path, headers=login.with_headers(**{"Idempotency-Key": key}),
                                        body=json.dumps(payload, ensure_ascii=False))


def _enrol(client, login, person, *, name=None, phone=UNIT_PHONE, key="k1"):
    return _send(client, login, "post", "/v1/units/me/employees",
                 {"name": name or person.name, "id_number": person.id_number, "phone": phone, "base": "6000.00"}, key)


def _register_as(client, person, phone):
    """The unit asks for a registration code on its own phone and registers as ``person``."""
    assert request_code(client, "register", phone=phone).status_code == 202
    return post(client, "/v1/auth/register", {"name": person.name, "id_number": person.id_number, "phone": phone,
                                              "password": PASSWORD, "sms_code": last_code(phone),
                                              "accept_terms": True})


def _victim_with_sealed_savings():
    victim = factories.person(name="刘芳")
    factories.account(victim, unit_no="U0009", status="sealed", balance=SAVINGS)
    return victim


def test_a_unit_cannot_open_a_second_account_for_a_person_with_a_sealed_one(client, unit):
    victim = _victim_with_sealed_savings()
    resp = _enrol(client, unit, victim)
    assert resp.status_code == 422 and body(resp)["error"]["code"] == "NOT_ELIGIBLE"
    assert "一人一户" in body(resp)["error"]["message"]
    assert [a.unit_no for a in Account.person_index.query(victim.id_number)] == ["U0009"]   # one person, one account
    assert Person.get(victim.id_number).phone == victim.phone


def test_a_unit_cannot_rewrite_its_employees_phone_in_the_center_records(client, unit):
    victim = factories.person(name="刘芳")
    account = factories.account(victim, unit_no="U1001", balance=SAVINGS)
    resp = _send(client, unit, "put", f"/v1/units/me/employees/{account.account_no}",
                 {"phone": UNIT_PHONE, "name": "刘芳"}, "k1")
    assert resp.status_code == 202 and body(resp)["status"] == "submitted"     # a request for the center
    assert Person.get(victim.id_number).phone == victim.phone                 # nothing changed
    told = [s.text for s in OutboundSms.scan() if s.phone == victim.phone]
    assert len(told) == 1 and "如非本人知情" in told[0]                       # the person hears of it


def test_the_unit_cannot_then_register_as_the_person_with_its_own_phone(client, unit):
    victim = factories.person(name="刘芳")
    account = factories.account(victim, unit_no="U1001", balance=SAVINGS)
    _send(client, unit, "put", f"/v1/units/me/employees/{account.account_no}", {"phone": UNIT_PHONE}, "k1")
    resp = _register_as(client, victim, UNIT_PHONE)
    assert resp.status_code == 422 and body(resp)["error"]["code"] == "NOT_ELIGIBLE"
    assert not list(User.id_number_index.query(victim.id_number))


def test_a_phone_the_unit_typed_for_a_new_person_does_not_register_them(client, unit):
    """A person the center never knew: the unit's phone is kept, but it proves nothing about who registers."""
    newcomer = Person(id_number=factories.new_id_number(), name="陈晨", phone=UNIT_PHONE)   # not saved: unknown
    assert _enrol(client, unit, newcomer).status_code == 201
    resp = _register_as(client, newcomer, UNIT_PHONE)
    assert resp.status_code == 422 and body(resp)["error"]["code"] == "NOT_ELIGIBLE"
    alipay = post(client, "/v1/auth/login/alipay", {"auth_code": f"demo:{newcomer.id_number}"})
    assert alipay.status_code == 422                    # nor does a first Alipay login hand the unit's phone a user
    assert not list(User.id_number_index.query(newcomer.id_number))


def test_no_step_up_code_ever_reaches_the_units_phone(client, unit):
    """The end of the reproduced attack: the unit's phone never receives a code for the victim's account."""
    victim = factories.person(name="刘芳")
    account = factories.account(victim, unit_no="U1001", balance=SAVINGS)
    _send(client, unit, "put", f"/v1/units/me/employees/{account.account_no}", {"phone": UNIT_PHONE}, "k1")
    _register_as(client, victim, UNIT_PHONE)
    request_code(client, "reset_password", name=victim.name, id_number=victim.id_number)
    request_code(client, "login", phone=UNIT_PHONE)
    assert sent_to(UNIT_PHONE) == 1                      # only the registration code the unit asked for itself
    assert Account.get(account.account_no).balance == SAVINGS


def test_registration_answers_the_same_for_not_there_and_not_yours(client, unit):
    """Item 10: a wrong name for a real ID, someone employed elsewhere, someone with a sealed account — one answer."""
    known = factories.person(name="王磊")
    busy = factories.person(name="赵敏")
    factories.account(busy, unit_no="U0002")
    sealed = _victim_with_sealed_savings()
    answers = [_enrol(client, unit, known, name="王雷", key="a"), _enrol(client, unit, busy, key="b"),
               _enrol(client, unit, sealed, key="c")]
    assert {r.status_code for r in answers} == {422}
    assert body(answers[0]) == body(answers[1]) == body(answers[2])


def test_a_unit_probing_the_records_is_stopped_for_the_day(client, unit):
    from chalicelib import policy

    cap = policy.get().web_halls.units.registration_refusals_per_day
    probes = [factories.person(name="真名") for _ in range(cap)]
    for i, p in enumerate(probes):
        assert _enrol(client, unit, p, name="猜的名", key=f"p{i}").status_code == 422
    newcomer = Person(id_number=factories.new_id_number(), name="陈晨", phone=factories.new_phone())
    over = _enrol(client, unit, newcomer, key="over")
    assert over.status_code == 429 and body(over)["error"]["code"] == "RATE_LIMITED"
    assert not list(Account.person_index.query(newcomer.id_number))
