"""Bank cards (银行卡): binding needs step-up and a Luhn-valid number; lists are masked; unbinding is soft."""

from __future__ import annotations

import json

import pytest
from stdnum import luhn

from chalicelib import errors
from chalicelib.services import audit, cards
from chalicelib.store.cards import BankCard
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


def card_number(prefix: str = "622202020011223") -> str:
    return prefix + luhn.calc_check_digit(prefix)


@pytest.fixture
def citizen(aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor()
    return p, u, login


def _bind(client, login, body, *, step_up=True):
    headers = login.with_headers(**({"X-Step-Up-Token": login.step_up_token()} if step_up else {}))
    response = client.http.post("/v1/me/bank-cards", headers=headers, body=json.dumps(body))
    return response.status_code, json.loads(response.body) if response.body else None


def _list(client, login):
    return json.loads(client.http.get("/v1/me/bank-cards", headers=login.headers).body)["items"]


def test_binding_a_valid_card_returns_it_masked_and_lists_it(client, citizen):
    p, u, login = citizen
    number = card_number()
    status, body = _bind(client, login, {"card_no": number, "bank_name": "中国工商银行"})
    assert status == 201, body
    assert body["card_no"] == number[:6] + "*" * (len(number) - 10) + number[-4:]
    assert (body["bank_name"], body["status"], body["bound_at"]) == ("中国工商银行", "bound", NOW)
    assert _list(client, login) == [body]
    stored = BankCard.get(p.id_number, body["card_id"])
    assert stored.card_no == number                     # kept whole for the bank, never shown
    assert cards.card_of(p.id_number, body["card_id"]).card_no == number


def test_spaces_people_type_in_a_card_number_are_ignored(client, citizen):
    p, u, login = citizen
    number = card_number()
    spaced = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    status, body = _bind(client, login, {"card_no": spaced, "bank_name": "中国银行"})
    assert status == 201 and BankCard.get(p.id_number, body["card_id"]).card_no == number


def test_binding_needs_a_step_up_token(client, citizen):
    p, u, login = citizen
    status, body = _bind(client, login, {"card_no": card_number(), "bank_name": "中国银行"}, step_up=False)
    assert status == 401 and body["error"]["details"] == {"step_up": "required"}
    assert _list(client, login) == []


@pytest.mark.parametrize("card_no", [
    card_number()[:-1] + str((int(card_number()[-1]) + 1) % 10),   # one digit off: Luhn fails
    "62220202001",                                                 # 11 digits
    card_number("62220202001122334455")[:21],                      # 21 digits
    "6222-0202-ABCD-1234",
])
def test_a_card_number_that_cannot_be_right_is_400(client, citizen, card_no):
    p, u, login = citizen
    status, body = _bind(client, login, {"card_no": card_no, "bank_name": "中国银行"})
    assert status == 400 and body["error"]["code"] == "VALIDATION_FAILED"
    assert "card_no" in body["error"]["details"]["fields"]
    assert _list(client, login) == []


def test_the_same_card_cannot_be_bound_twice(client, citizen):
    p, u, login = citizen
    number = card_number()
    assert _bind(client, login, {"card_no": number, "bank_name": "中国银行"})[0] == 201
    status, body = _bind(client, login, {"card_no": number, "bank_name": "中国银行"})
    assert status == 409 and body["error"]["code"] == "ALREADY_DONE"
    assert len(_list(client, login)) == 1


def test_unbinding_removes_the_card_from_the_list_and_from_payments(client, citizen):
    p, u, login = citizen
    number = card_number()
    card_id = _bind(client, login, {"card_no": number, "bank_name": "中国银行"})[1]["card_id"]
    assert client.http.delete(f"/v1/me/bank-cards/{card_id}", headers=login.headers).status_code == 204
    assert _list(client, login) == []
    assert BankCard.get(p.id_number, card_id).status == "unbound"
    with pytest.raises(errors.NotFound):
        cards.card_of(p.id_number, card_id)
    assert client.http.delete(f"/v1/me/bank-cards/{card_id}", headers=login.headers).status_code == 404
    # bound again later: the same card, listed again
    status, body = _bind(client, login, {"card_no": number, "bank_name": "中国银行"})
    assert status == 201 and body["card_id"] == card_id and len(_list(client, login)) == 1


def test_binding_and_unbinding_are_audited_with_the_card_masked(client, citizen):
    p, u, login = citizen
    number = card_number()
    card_id = _bind(client, login, {"card_no": number, "bank_name": "中国银行"})[1]["card_id"]
    client.http.delete(f"/v1/me/bank-cards/{card_id}", headers=login.headers)
    events = audit.events_of("depositor", u.user_id)
    assert sorted((e.event, e.result) for e in events) == [("card.bind", "ok"), ("card.unbind", "ok")]
    assert number not in json.dumps([e.details.as_dict() for e in events if e.details], ensure_ascii=False)


def test_two_people_may_bind_the_same_card_each_for_themselves(client, citizen):
    p, u, login = citizen
    number = card_number()
    other_p, other_a, other_u, other_login = factories.depositor()
    mine = _bind(client, login, {"card_no": number, "bank_name": "中国银行"})[1]
    theirs = _bind(client, other_login, {"card_no": number, "bank_name": "中国银行"})[1]
    assert mine["card_id"] != theirs["card_id"]
    assert [c["card_id"] for c in _list(client, other_login)] == [theirs["card_id"]]
