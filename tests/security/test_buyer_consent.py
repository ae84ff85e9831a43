"""Issue 17 item 13 (consent): a developer applies for an HPF loan in a buyer's name without the buyer.

The application must wait for the buyer named in it to confirm in the app (a to-do message, box ``todo``); it
reaches the center's review queue only then. Nobody else can confirm it: not another citizen, not the developer,
not a unit; a declined application never reaches review.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.http import auth
from chalicelib.store.business import BusinessRecord
from chalicelib.store.developers import Building, Project
from chalicelib.store.messages import Message
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"
REPAY_CARD = "6222020200112233446"          # passes Luhn


@pytest.fixture
def setup(aws, clock_file):
    clock_file(NOW)
    factories.developer(developer_no="D3001")
    Project("XM1", developer_no="D3001", name="汾河湾示例小区", address="太原市示例路1号",
            presale_permit_no="并预售字2026第001号", status="approved", serial_no="XMS1", created_at=NOW,
            created_key=f"{NOW}#XM1").save()
    Building("XM1", "3", name="3号楼", floors=18, houses=72, status="approved", serial_no="LDS1",
             created_at=NOW).save()
    buyer = factories.person(name="赵买房")
    factories.account(buyer)
    buyer_login = factories.login(factories.user(buyer).user_id)
    dev = factories.login("D3001", auth.DEVELOPER)
    reviewer = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    return buyer, buyer_login, dev, reviewer


def _apply(client, dev, buyer, key="l1"):
    body = {"buyer": {"name": buyer.name, "id_number": buyer.id_number, "phone": buyer.phone},
            "project_no": "XM1", "building_no": "3", "house_no": "1502", "price": "1000000.00",
            "principal": "600000.00", "term_months": 240, "method": "equal_installment", "first_home": True,
            "bank": "中国建设银行", "repay_account": REPAY_CARD}
    resp = client.http.post("/v1/developers/me/loan-applications",
                            headers=dev.with_headers(**{"Idempotency-Key": key}), body=json.dumps(body))
    assert resp.status_code == 201, resp.body
    return resp.json_body["serial_no"]


def _queue(client, reviewer):
    items = client.http.get("/v1/admin/reviews?kind=loan_application", headers=reviewer.headers).json_body["items"]
    return [i["serial_no"] for i in items]


def _decide(client, login, serial, decision="confirm"):
    return client.http.post(f"/v1/me/loan-applications/{serial}/decision", headers=login.headers,
                            body=json.dumps({"decision": decision}))


def test_an_application_waits_for_the_buyer_and_is_not_in_review_before(client, setup):
    buyer, buyer_login, dev, reviewer = setup
    serial = _apply(client, dev, buyer)
    assert _queue(client, reviewer) == []
    assert client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=reviewer.headers,
                            body=json.dumps({"decision": "approve", "opinion": "同意"})).status_code == 409
    todo = client.http.get("/v1/me/messages?box=todo", headers=buyer_login.headers).json_body["items"]
    assert [(m["title"], m["serial_no"]) for m in todo] == [("请确认贷款申请", serial)]
    view = client.http.get(f"/v1/developers/me/loan-applications/{serial}", headers=dev.headers).json_body
    assert view["status"] == "awaiting_buyer"


def test_the_buyers_confirmation_puts_it_in_review_and_clears_the_todo(client, setup):
    buyer, buyer_login, dev, reviewer = setup
    serial = _apply(client, dev, buyer)
    resp = _decide(client, buyer_login, serial)
    assert resp.status_code == 200 and resp.json_body["status"] == "submitted"
    assert _queue(client, reviewer) == [serial]
    assert client.http.get("/v1/me/messages?box=todo", headers=buyer_login.headers).json_body["items"] == []
    again = _decide(client, buyer_login, serial)                  # confirming twice changes nothing
    assert again.status_code == 200 and _queue(client, reviewer) == [serial]


def test_nobody_but_the_named_buyer_can_confirm(client, setup):
    buyer, buyer_login, dev, reviewer = setup
    serial = _apply(client, dev, buyer)
    stranger = factories.depositor()[3]
    unknown = _decide(client, stranger, "DK-NO-SUCH-SERIAL")
    theirs = _decide(client, stranger, serial)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json_body["error"] == unknown.json_body["error"]
    for other in (dev, factories.login("U1001", auth.UNIT), reviewer):       # other roles: not even the route
        assert _decide(client, other, serial).status_code in (401, 403)
    assert _queue(client, reviewer) == [] and BusinessRecord.get(serial).status == "awaiting_buyer"


def test_a_declined_application_never_reaches_review(client, setup):
    buyer, buyer_login, dev, reviewer = setup
    serial = _apply(client, dev, buyer)
    resp = _decide(client, buyer_login, serial, "decline")
    assert resp.status_code == 200 and resp.json_body["status"] == "declined"
    assert _queue(client, reviewer) == []
    assert _decide(client, buyer_login, serial, "confirm").status_code == 409     # no change of mind afterwards
    assert _queue(client, reviewer) == []
    assert [m.box for m in Message.query(buyer.id_number) if m.serial_no == serial] == ["read"]
