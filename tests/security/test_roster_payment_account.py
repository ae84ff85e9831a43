"""Issue 17 item 11: a unit's roster paid from an account that is not the unit's.

The roster debit must come from the unit's registered account (单位缴存银行账户, changed only through a
reviewed unit change). An attacker holding a unit's session tries to pay from some other account: a stolen card,
another unit's account, or any account when the unit has none on record.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters import bank
from chalicelib.http import auth
from chalicelib.store.accounts import Account
from chalicelib.store.rosters import Roster
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"
REGISTERED = "6222020200112233445"


@pytest.fixture(autouse=True)
def _fresh_bank():
    bank.reset()
    yield
    bank.reset()


def _hall(clock_file, *, bank_account):
    clock_file(NOW)
    factories.unit(unit_no="U1001", bank_account=bank_account)
    p = factories.person()
    a = factories.account(p, unit_no="U1001", paid_through="202606")
    return factories.login("U1001", auth.UNIT), a


def _post(client, login, path, body, key):
    return client.http.post(path, headers=login.with_headers(**{"Idempotency-Key": key}), body=json.dumps(body))


def _roster(client, login) -> str:
    resp = _post(client, login, "/v1/units/me/rosters", {"period": "202607"}, "r1")
    assert resp.status_code == 201, resp.body
    return resp.json_body["roster_no"]


def _debits() -> list[dict]:
    return [line for line in bank.gateway().read() if line["op"] == "debit"]


@pytest.mark.parametrize("other", ["6222020200199998888", "6217000200101002002", REGISTERED[:-1] + "6"])
def test_paying_from_an_account_other_than_the_registered_one_is_refused(client, aws, clock_file, other):
    login, a = _hall(clock_file, bank_account=REGISTERED)
    roster_no = _roster(client, login)
    resp = _post(client, login, f"/v1/units/me/rosters/{roster_no}/payment", {"bank_account": other}, "p1")
    assert resp.status_code == 422 and "bank_account" in resp.json_body["error"]["details"]["fields"]
    assert _debits() == []                                           # nobody's account was touched
    assert Roster.get(roster_no).status == "ready" and Account.get(a.account_no).balance == 0


def test_a_unit_with_no_registered_account_cannot_pay_from_one_it_names(client, aws, clock_file):
    login, a = _hall(clock_file, bank_account=None)
    roster_no = _roster(client, login)
    resp = _post(client, login, f"/v1/units/me/rosters/{roster_no}/payment",
                 {"bank_account": "6222020200199998888"}, "p1")
    assert resp.status_code == 422 and _debits() == []
    assert Account.get(a.account_no).balance == 0


def test_the_registered_account_pays_named_or_not(client, aws, clock_file):
    login, a = _hall(clock_file, bank_account=REGISTERED)
    roster_no = _roster(client, login)
    resp = _post(client, login, f"/v1/units/me/rosters/{roster_no}/payment", {"bank_account": REGISTERED}, "p1")
    assert resp.status_code == 200, resp.body
    assert [d["card_tail"] for d in _debits()] == [REGISTERED[-4:]]
    assert Account.get(a.account_no).balance > 0
