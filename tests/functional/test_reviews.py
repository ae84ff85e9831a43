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


def _submit(serial: str, *, owner: str = "140105198503120114", **details) -> BusinessRecord:
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
    assert items[0]["owner"] == "140105********0114"


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


def test_a_rejection_while_an_approval_runs_is_refused_and_only_the_approval_acts(aws, monkeypatch):
    # GIVEN an approval whose side effects are under way
    calls.clear()
    _submit("RACE1")
    seen = {}

    def slow_approve(record, opinion, now):
        # WHEN another operator rejects in the middle of it
        with pytest.raises(errors.InProgress):
            business.decide("RACE1", approve=False, opinion="不同意", operator="op2", now=now)
        seen["status_meanwhile"] = BusinessRecord.get("RACE1", consistent_read=True).status
        return _approve(record, opinion, now)

    import dataclasses

    monkeypatch.setitem(business._REVIEWERS, "test_kind",
                        dataclasses.replace(business._REVIEWERS["test_kind"], approve=slow_approve))
    record = business.decide("RACE1", approve=True, opinion="同意", operator="op1", now=NOW)

    # THEN the rejection ran nothing, and the approval's outcome is the record's
    assert seen["status_meanwhile"] == "submitted"
    assert [c for c in calls if c[1] == "RACE1"] == [("approve", "RACE1"), ("notify", "RACE1")]
    fresh = BusinessRecord.get("RACE1", consistent_read=True)
    assert (fresh.status, fresh.decided_by, fresh.claim, fresh.queue) == ("done", "op1", None, None)
    assert record.status == "done"


def test_a_refused_approval_gives_the_record_back_and_a_crashed_ones_claim_lapses(aws):
    # GIVEN an approval the reviewer refuses THEN the record can be decided again at once
    _submit("CLAIM1", refuse="yes")
    with pytest.raises(errors.NotEligible):
        business.decide("CLAIM1", approve=True, opinion="同意", operator="op1", now=NOW)
    assert BusinessRecord.get("CLAIM1", consistent_read=True).claim is None
    business.decide("CLAIM1", approve=False, opinion="材料不全", operator="op1", now=NOW)

    # GIVEN a claim left by a decision that crashed
    _submit("CLAIM2")
    record = BusinessRecord.get("CLAIM2", consistent_read=True)
    business._claim(record, NOW)
    # THEN it blocks other decisions until it lapses, then the next decision takes over
    with pytest.raises(errors.InProgress):
        business.decide("CLAIM2", approve=True, opinion="同意", operator="op2", now=NOW)
    later = NOW.replace(minute=NOW.minute + business.CLAIM_SECONDS // 60 + 1)
    assert business.decide("CLAIM2", approve=True, opinion="同意", operator="op2", now=later).status == "done"
