"""Issue 17 item 10: questions whose answer tells an attacker that something exists.

* A developer asks for loan-application serials that are not theirs: another developer's serial must answer
  exactly as a serial that does not exist (it answered 409 where an unknown one answered 404).
* Anyone (no login) sends the flexible opening application with a stranger's ID number: the answer must not
  say whether that person has a flexible account, a sealed one, an employer, or an application in review; and an
  ID number can be tried only a few times a day.
"""

from __future__ import annotations

import json

import pytest

from chalicelib import errors
from chalicelib.adapters import files
from chalicelib.http import auth
from chalicelib.services import flexible
from chalicelib.store.business import BusinessRecord
from chalicelib.store.content import Branch
from chalicelib.store.idempotency import IdempotencyRecord
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"     # a Wednesday
TOMORROW = "2026-07-16"


# ---------------------------------------------------------------- developers' serials


def test_another_developers_loan_application_answers_as_an_unknown_one(client, aws, clock_file):
    clock_file(NOW)
    factories.developer(developer_no="D3001")
    factories.developer(developer_no="D3002")
    record = BusinessRecord(serial_no="DK20260715A1", owner="developer:D3001", kind="loan_application",
                            title="公积金贷款申请", status="submitted", submitted_at=NOW,
                            submitted_key=BusinessRecord.keys(NOW, "DK20260715A1"))
    record.save()
    owner = factories.login("D3001", auth.DEVELOPER)
    other = factories.login("D3002", auth.DEVELOPER)
    assert client.http.get("/v1/developers/me/loan-applications/DK20260715A1", headers=owner.headers) \
        .status_code == 200
    theirs = client.http.get("/v1/developers/me/loan-applications/DK20260715A1", headers=other.headers)
    unknown = client.http.get("/v1/developers/me/loan-applications/DK20260715ZZ", headers=other.headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json_body["error"] == unknown.json_body["error"]


# ---------------------------------------------------------------- the anonymous flexible opening


@pytest.fixture
def branch(aws, clock_file, monkeypatch):
    clock_file(NOW)
    files.reset()
    Branch("B01", name="小店区网点", address="太原市小店区", phone="0351-1234567",
           slots=["09:00-10:00", "10:00-11:00"], capacity_per_slot=50).save()

    def verify(phone, purpose, code, now):        # the attacker has a phone and gets real codes for it
        if code != "123456":
            raise errors.SmsCodeInvalid()

    monkeypatch.setattr(flexible, "verify_sms_code", verify)
    yield
    files.reset()


def _upload(client, purpose):
    resp = client.http.post("/v1/uploads", headers={"Content-Type": "application/json"},
                            body=json.dumps({"purpose": purpose, "content_type": "image/jpeg"}))
    return resp.json_body["upload_id"]


def _open(client, id_number, *, name="李四", key="o1"):
    body = {"name": name, "id_number": id_number, "phone": "13912345678", "sms_code": "123456",
            "id_front_upload": _upload(client, "id_front"), "id_back_upload": _upload(client, "id_back"),
            "branch_id": "B01", "date": TOMORROW, "slot": "10:00-11:00"}
    return client.http.post("/v1/flexible/applications",
                            headers={"Content-Type": "application/json", "Idempotency-Key": key},
                            body=json.dumps(body))


def test_the_opening_does_not_say_what_kind_of_account_a_stranger_has(client, branch):
    flex, *_ = factories.depositor(kind="flexible")
    sealed, *_ = factories.depositor(kind="flexible", status="sealed")
    employed, *_ = factories.depositor(kind="employee")
    unit_sealed, *_ = factories.depositor(kind="employee", status="sealed")
    in_review = factories.new_id_number()
    assert _open(client, in_review).status_code == 201          # someone's application now waits for review
    answers = []
    for n, who in enumerate([flex.id_number, sealed.id_number, employed.id_number, unit_sealed.id_number,
                             in_review]):
        resp = _open(client, who, key=f"probe{n}")
        answers.append((resp.status_code, json.dumps(resp.json_body["error"], ensure_ascii=False)))
    assert len(set(answers)) == 1, answers        # one answer for every case
    assert answers[0][0] == 422


def test_an_id_number_can_be_probed_only_a_few_times_a_day(client, branch):
    employed, *_ = factories.depositor(kind="employee")
    statuses = [_open(client, employed.id_number, key=f"p{n}", name=f"李{n}").status_code for n in range(8)]
    assert statuses[:5] == [422] * 5
    assert set(statuses[5:]) == {429}
    # another ID number is not held back by it
    assert _open(client, factories.new_id_number(), key="fresh").status_code == 201


def test_a_retry_with_the_same_key_for_someone_elses_id_shows_nothing_of_their_application(client, branch):
    """The serial comes from (ID number, Idempotency-Key); a stranger reusing both, after the idempotency window,
    with another phone, must not be handed the owner's application and appointment."""
    victim = factories.new_id_number()
    first = _open(client, victim, key="common-key")
    assert first.status_code == 201
    body = {"name": "李四", "id_number": victim, "phone": "13900009999", "sms_code": "123456",
            "id_front_upload": _upload(client, "id_front"), "id_back_upload": _upload(client, "id_back"),
            "branch_id": "B01", "date": TOMORROW, "slot": "10:00-11:00"}
    for item in IdempotencyRecord.scan():          # the idempotency window has passed: its record is gone
        item.delete()
    resp = client.http.post("/v1/flexible/applications",
                            headers={"Content-Type": "application/json", "Idempotency-Key": "common-key"},
                            body=json.dumps(body))
    assert resp.status_code != 201
    assert first.json_body["serial_no"] not in resp.body.decode()
