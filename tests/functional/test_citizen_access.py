"""Every citizen query route (CONTRACT section 4) for its owner, another depositor and nobody.

GIVEN a depositor with an account, deposits, a withdrawal, a message, a bound card, a loan with repayments
and a business record, and another depositor with an account of their own,
WHEN each route is called anonymously, by the other depositor, then by the owner,
THEN nobody gets 401, the other depositor gets 404 for the owner's things (and sees none of them in lists),
and the owner gets them.
"""

from __future__ import annotations

import json

import pytest

from chalicelib import clock
from chalicelib.services import business, inbox
from chalicelib.store.cards import BankCard
from chalicelib.store.loans import Repayment
from chalicelib.store.messages import Message
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def world(aws, clock_file):
    clock_file(NOW)
    owner = factories.person(name="欧阳明")
    acct = factories.account(owner, balance=0, account_no="GR77000001")
    user = factories.user(owner)
    login = factories.login(user.user_id)
    d1 = factories.deposit(acct.account_no, 212600, at="2026-05-08T10:00:00+08:00", serial_no="DEPOWN1")
    d2 = factories.deposit(acct.account_no, 212600, at="2026-07-08T10:00:00+08:00", serial_no="DEPOWN2")
    w1 = factories.withdrawal(acct.account_no, 100000, at="2026-07-10T10:00:00+08:00", serial_no="WDOWN1")
    msg = factories.message(owner, title="欧阳明的提取", at="2026-07-10T10:00:01+08:00")
    card = factories.card(owner, card_no="6222020200112233445", card_id="c_owner_card")
    loan = factories.loan(owner, contract_no="HTOWN0001", paid_periods=2)
    for n in (1, 2):
        Repayment(loan.contract_no, n, date=f"2017-0{n}-14", amount=300000, principal=200000, interest=100000,
                  penalty=0, balance_after=loan.principal - 200000 * n).save()
    business.submit(business.new_record(serial_no="BIZOWN1", owner=owner.id_number, kind="withdrawal",
                                        type="rent", title="租房提取", now=clock.now(), review=True))
    other_person = factories.person(name="司马光")
    factories.account(other_person, balance=50000, account_no="GR77000002")
    other = factories.login(factories.user(other_person).user_id)
    ids = {"account_no": acct.account_no, "message_id": inbox.wire_id(msg.message_id), "card_id": card.card_id,
           "contract_no": loan.contract_no}
    markers = ["GR77000001", "DEPOWN1", "DEPOWN2", "WDOWN1", "欧阳明", ids["message_id"], "c_owner_card",
               "HTOWN0001", "BIZOWN1"]
    return {"owner": owner, "login": login, "other": other, "ids": ids, "markers": markers,
            "entries": (d1, d2, w1)}


# (method, path, what the other depositor gets: "own" = 200 with only their own data, or 404)
ROUTES = [
    ("GET", "/v1/me", "own"),
    ("GET", "/v1/me/account", "own"),
    ("GET", "/v1/me/account?account_no={account_no}", 404),
    ("GET", "/v1/me/deposits", "own"),
    ("GET", "/v1/me/deposits?account_no={account_no}", 404),
    ("GET", "/v1/me/withdrawals", "own"),
    ("GET", "/v1/me/withdrawals?account_no={account_no}", 404),
    ("GET", "/v1/me/transactions", "own"),
    ("GET", "/v1/me/transactions?account_no={account_no}", 404),
    ("GET", "/v1/me/business", "own"),
    ("GET", "/v1/me/messages", "own"),
    ("GET", "/v1/me/messages/{message_id}", 404),
    ("POST", "/v1/me/messages/{message_id}/read", 404),
    ("DELETE", "/v1/me/messages/{message_id}", 404),
    ("GET", "/v1/me/bank-cards", "own"),
    ("DELETE", "/v1/me/bank-cards/{card_id}", 404),
    ("GET", "/v1/me/loans", "own"),
    ("GET", "/v1/me/loans/{contract_no}/progress", 404),
    ("GET", "/v1/me/loans/{contract_no}/schedule", 404),
    ("GET", "/v1/me/loans/{contract_no}/repayments", 404),
    ("GET", "/v1/me/certificate", "own"),
    ("GET", "/v1/me/certificate?account_no={account_no}", 404),
]


def _call(client, method, path, headers):
    headers = {**headers, "Accept": "application/pdf, application/json"}
    return client.http.request(method, path, headers=headers, body=b"{}" if method == "POST" else b"")


def _text(response) -> str:
    if response.headers.get("Content-Type", "").startswith("application/pdf"):
        from io import BytesIO

        from pypdf import PdfReader

        return "".join(page.extract_text() for page in PdfReader(BytesIO(response.body)).pages)
    return response.body.decode("utf-8")


@pytest.mark.parametrize("method, path, for_other", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route_serves_its_owner_only(client, world, method, path, for_other):
    path = path.format(**world["ids"])

    anonymous = _call(client, method, path, {"Content-Type": "application/json"})
    assert anonymous.status_code == 401, anonymous.body
    assert json.loads(anonymous.body)["error"]["code"] == "UNAUTHENTICATED"

    other = _call(client, method, path, world["other"].headers)
    if for_other == 404:
        assert other.status_code == 404, other.body
        assert json.loads(other.body)["error"]["code"] == "NOT_FOUND"
    else:
        assert other.status_code == 200, other.body
    leaked = [m for m in world["markers"] if m in _text(other)]
    assert not leaked, f"the other depositor saw {leaked}"

    mine = _call(client, method, path, world["login"].headers)
    assert mine.status_code in (200, 204), mine.body
    if mine.status_code == 200:
        assert any(m in _text(mine) for m in world["markers"]), _text(mine)[:500]


def test_the_other_depositor_did_not_change_the_owners_things(client, world):
    owner, ids = world["owner"], world["ids"]
    for method, path in (("POST", "/v1/me/messages/{message_id}/read"), ("DELETE", "/v1/me/messages/{message_id}"),
                         ("DELETE", "/v1/me/bank-cards/{card_id}")):
        assert _call(client, method, path.format(**ids), world["other"].headers).status_code == 404
    [msg] = list(Message.query(owner.id_number))
    assert (msg.box, msg.deleted) == ("unread", False)
    assert BankCard.get(owner.id_number, ids["card_id"]).status == "bound"
