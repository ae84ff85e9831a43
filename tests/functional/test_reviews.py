"""Center review: queues by kind, approve/reject once with an opinion, only for operators."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib import clock, errors
from chalicelib.http import auth
from chalicelib.services import business
from chalicelib.store.business import BusinessRecord
from tests.support import factories

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=clock.CHINA)
calls: list[tuple[str, str]] = []


def _approve(record, opinion, now):
    if record.details and record.details.as_dict().get("refuse") == "yes":
        raise errors.NotEligible("材料不全")
    calls.append(("approve", record.serial_no))
    return "done"


business.register("test_kind", business.Reviewer(
    title="测试业务", approve=_approve, reject=lambda r, o, n: calls.append(("reject", r.serial_no)),
    notify=lambda r, n: calls.append(("notify", r.serial_no))))


def _submit(serial: str, *, owner: str = "140105198503120119", **details) -> BusinessRecord:
    return business.submit(business.new_record(serial_no=serial, owner=owner, kind="test_kind", title="测试业务",
                                               now=NOW, review=True, details=details))


@pytest.fixture
def operator(aws):
    return factories.login("op1", auth.OPERATOR, op_role="reviewer")


def _decide(client, login, serial, decision="approve", opinion="同意"):
    return client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=login.headers,
                            body=json.dumps({"decision": decision, "opinion": opinion}))


def test_queue_lists_waiting_records_oldest_first_with_masked_owner(client, operator):
    _submit("B1")
    _submit("B2")
    resp = client.http.get("/v1/admin/reviews?kind=test_kind", headers=operator.headers)
    assert resp.status_code == 200
    items = resp.json_body["items"]
    assert [i["serial_no"] for i in items] == ["B1", "B2"]
    assert items[0]["owner"] == "140105********0119"


def test_approval_runs_the_business_and_leaves_the_queue(client, operator):
    calls.clear()
    _submit("B3")
    resp = _decide(client, operator, "B3", opinion="材料齐全，同意")
    assert resp.status_code == 200, resp.json_body
    assert resp.json_body["status"] == "done" and resp.json_body["opinion"] == "材料齐全，同意"
    assert calls == [("approve", "B3"), ("notify", "B3")]
    record = BusinessRecord.get("B3")
    assert (record.queue, record.decided_by) == (None, "op1")
    queue = client.http.get("/v1/admin/reviews?kind=test_kind", headers=operator.headers).json_body["items"]
    assert "B3" not in [i["serial_no"] for i in queue]


def test_rejection_records_the_opinion(client, operator):
    calls.clear()
    _submit("B4")
    resp = _decide(client, operator, "B4", "reject", "证明材料不清晰")
    assert resp.json_body["status"] == "rejected"
    assert ("reject", "B4") in calls


def test_a_record_is_decided_once(client, operator):
    _submit("B5")
    assert _decide(client, operator, "B5").status_code == 200
    again = _decide(client, operator, "B5", "reject", "改主意")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "ALREADY_DONE"
    assert BusinessRecord.get("B5").status == "done"


def test_an_approval_the_business_refuses_leaves_the_record_waiting(client, operator):
    _submit("B6", refuse="yes")
    resp = _decide(client, operator, "B6")
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "NOT_ELIGIBLE"
    assert BusinessRecord.get("B6").status == "submitted"


def test_resubmitting_the_same_serial_keeps_the_first(aws):
    first = _submit("B7", note="a")
    again = _submit("B7", note="b")
    assert again.details.as_dict() == first.details.as_dict() == {"note": "a"}


def test_depositors_cannot_review(client, aws):
    _submit("B8")
    depositor = factories.login("u1", auth.DEPOSITOR)
    assert client.http.get("/v1/admin/reviews?kind=test_kind", headers=depositor.headers).status_code == 403
    assert _decide(client, depositor, "B8").status_code == 403
    assert client.http.get("/v1/admin/reviews?kind=test_kind").status_code == 401


@pytest.mark.parametrize("body", [{"decision": "maybe", "opinion": "x"}, {"decision": "approve", "opinion": ""},
                                  {"decision": "approve"}, {"decision": "approve", "opinion": "x", "extra": 1}])
def test_bad_decisions_are_400(client, operator, body):
    _submit("B9")
    resp = client.http.post("/v1/admin/reviews/B9/decision", headers=operator.headers, body=json.dumps(body))
    assert resp.status_code == 400 and resp.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_unknown_kind_and_unknown_serial_are_404(client, operator):
    assert client.http.get("/v1/admin/reviews?kind=nope", headers=operator.headers).status_code == 404
    assert _decide(client, operator, "NOPE").status_code == 404
