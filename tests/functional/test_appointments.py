"""Appointments (网点预约), the opening application (开户申请) and transfer-in, uploads, reminders."""

from __future__ import annotations

import json

import pytest

from chalicelib import clock, errors
from chalicelib.adapters import files
from chalicelib.http import auth
from chalicelib.services import appointments, business, flexible
from chalicelib.store.accounts import Account
from chalicelib.store.appointments import Appointment
from chalicelib.store.business import BusinessRecord
from chalicelib.store.content import Branch
from chalicelib.store.messages import Message, OutboundSms
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"     # a Wednesday
TOMORROW = "2026-07-16"


@pytest.fixture
def branch(aws, clock_file):
    clock_file(NOW)
    files.reset()
    b = Branch("B01", name="小店区网点", address="太原市小店区", phone="0351-1234567",
               slots=["09:00-10:00", "10:00-11:00"], capacity_per_slot=2)
    b.save()
    yield b
    files.reset()


def _book(client, login, day=TOMORROW, slot="09:00-10:00", key="b1", branch_id="B01"):
    return client.http.post("/v1/appointments", headers=login.with_headers(**{"Idempotency-Key": key}),
                            body=json.dumps({"branch_id": branch_id, "date": day, "slot": slot}))


def test_slots_show_capacity_and_places_left(client, branch):
    p, a, u, login = factories.depositor()
    _book(client, login)
    resp = client.http.get(f"/v1/branches/B01/slots?date={TOMORROW}")
    assert resp.status_code == 200
    assert resp.json_body == [{"slot": "09:00-10:00", "capacity": 2, "booked": 1, "available": 1},
                              {"slot": "10:00-11:00", "capacity": 2, "booked": 0, "available": 2}]


@pytest.mark.parametrize("day", ["2026-07-18", "2026-07-19", "2026-10-01"])
def test_no_slots_on_weekends_and_public_holidays(client, branch, day):
    assert client.http.get(f"/v1/branches/B01/slots?date={day}").json_body == []


@pytest.mark.parametrize("day", ["2025-09-28", "2026-09-20", "2026-10-10"])
def test_make_up_working_days_have_slots(client, branch, day):
    # 调休上班 (State Council notices for 2025 and 2026): Sunday 2025-09-28, Sunday 2026-09-20, Saturday 2026-10-10
    assert [s["slot"] for s in client.http.get(f"/v1/branches/B01/slots?date={day}").json_body] == [
        "09:00-10:00", "10:00-11:00"]


def test_a_make_up_sunday_is_bookable_and_a_weekday_holiday_is_not(client, branch, clock_file):
    clock_file("2026-09-15T09:00:00+08:00")
    p, a, u, login = factories.depositor()
    assert _book(client, login, day="2026-09-20").status_code == 201         # Sunday, 调休上班
    holiday = _book(client, login, day="2026-10-07", key="b2")                # Wednesday, 国庆节 1-7 October
    assert holiday.status_code == 422 and "法定节假日" in holiday.json_body["error"]["message"]


def test_slots_bad_input_is_4xx(client, branch):
    assert client.http.get("/v1/branches/B01/slots?date=2026-13-01").status_code == 400
    assert client.http.get("/v1/branches/B01/slots").status_code == 400
    assert client.http.get(f"/v1/branches/NOPE/slots?date={TOMORROW}").status_code == 404


def test_booking_fills_a_slot_and_then_refuses(client, branch):
    people = [factories.depositor() for _ in range(3)]
    assert _book(client, people[0][3]).status_code == 201
    assert _book(client, people[1][3]).status_code == 201
    full = _book(client, people[2][3])
    assert full.status_code == 409 and full.json_body["error"]["code"] == "CONFLICT"


def test_booking_retry_is_one_booking_and_a_message(client, branch):
    p, a, u, login = factories.depositor()
    first = _book(client, login)
    again = _book(client, login)
    assert first.status_code == again.status_code == 201 and first.json_body == again.json_body
    assert client.http.get(f"/v1/branches/B01/slots?date={TOMORROW}").json_body[0]["booked"] == 1
    assert [m.title for m in Message.query(p.id_number)] == ["业务办理预约成功"]


def test_booking_a_weekend_or_today_is_refused(client, branch):
    p, a, u, login = factories.depositor()
    assert _book(client, login, day="2026-07-18").status_code == 422
    assert _book(client, login, day="2026-07-15", key="b2").status_code == 422
    assert _book(client, login, slot="12:00-13:00", key="b3").status_code == 400


def test_cancel_frees_the_place_and_lists_it_cancelled(client, branch):
    p, a, u, login = factories.depositor()
    appt = _book(client, login).json_body
    resp = client.http.delete(f"/v1/appointments/{appt['appointment_id']}", headers=login.headers)
    assert resp.status_code == 204
    assert client.http.get(f"/v1/branches/B01/slots?date={TOMORROW}").json_body[0]["booked"] == 0
    assert client.http.delete(f"/v1/appointments/{appt['appointment_id']}", headers=login.headers).status_code == 204
    assert client.http.get(f"/v1/branches/B01/slots?date={TOMORROW}").json_body[0]["booked"] == 0
    mine = client.http.get("/v1/me/appointments", headers=login.headers).json_body
    assert [(i["appointment_id"], i["status"]) for i in mine["items"]] == [(appt["appointment_id"], "cancelled")]


def test_someone_elses_appointment_cannot_be_cancelled(client, branch):
    owner = factories.depositor()
    other = factories.depositor()
    appt = _book(client, owner[3]).json_body
    resp = client.http.delete(f"/v1/appointments/{appt['appointment_id']}", headers=other[3].headers)
    assert resp.status_code == 404


def test_appointment_reminders_run_twice_send_once(client, branch):
    p, a, u, login = factories.depositor()
    _book(client, login)
    _book(client, login, day="2026-07-17", key="b2")
    from chalicelib import jobs

    evening = clock.parse("2026-07-15T18:00:00+08:00")
    assert jobs.run("send-appointment-reminders", evening)["reminded"] == 1
    assert jobs.run("send-appointment-reminders", evening)["reminded"] == 0
    assert [m.title for m in Message.query(p.id_number)].count("预约提醒") == 1
    assert len(list(OutboundSms.scan())) == 1


def test_cancelled_appointments_get_no_reminder(client, branch):
    p, a, u, login = factories.depositor()
    appt = _book(client, login).json_body
    client.http.delete(f"/v1/appointments/{appt['appointment_id']}", headers=login.headers)
    assert appointments.send_reminders(clock.parse("2026-07-15T18:00:00+08:00"))["reminded"] == 0


# ---------------------------------------------------------------- uploads and the opening application


def _upload(client, purpose, content_type="image/jpeg"):
    return client.http.post("/v1/uploads", headers={"Content-Type": "application/json"},
                            body=json.dumps({"purpose": purpose, "content_type": content_type}))


def test_upload_gives_an_id_and_a_post_target(client, branch):
    resp = _upload(client, "id_front")
    assert resp.status_code == 201
    assert resp.json_body["upload_id"].startswith("UP") and resp.json_body["fields"]["key"].endswith(
        resp.json_body["upload_id"])
    assert _upload(client, "id_front", "text/html").status_code == 400
    assert _upload(client, "passport").status_code == 400


def test_s3_presigned_post_under_moto(aws):
    import boto3

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="gjj-test-uploads")
    s3 = files.S3Files(bucket="gjj-test-uploads")
    url, fields = s3.presigned_post("uploads/id_front/x", "image/jpeg", 1024, 600)
    assert "gjj-test-uploads" in url and fields["key"] == "uploads/id_front/x" and "policy" in fields
    assert not s3.exists("uploads/id_front/x")
    boto3.client("s3", region_name="us-east-1").put_object(Bucket="gjj-test-uploads", Key="uploads/id_front/x",
                                                           Body=b"jpg")
    assert s3.exists("uploads/id_front/x")


@pytest.fixture
def codes(monkeypatch):
    seen = []

    def verify(phone, purpose, code, now):
        seen.append((phone, purpose, code))
        if code != "123456":
            raise errors.SmsCodeInvalid()

    monkeypatch.setattr(flexible, "verify_sms_code", verify)
    return seen


def _application(client, id_number, front, back, *, key="o1", code="123456", **extra):
    body = {"name": "李四", "id_number": id_number, "phone": "13912345678", "sms_code": code,
            "id_front_upload": front, "id_back_upload": back, "branch_id": "B01", "date": TOMORROW,
            "slot": "10:00-11:00", **extra}
    return client.http.post("/v1/flexible/applications", headers={"Content-Type": "application/json",
                                                                  "Idempotency-Key": key}, body=json.dumps(body))


def test_opening_application_books_a_place_and_approval_opens_the_account(client, branch, codes):
    id_number = factories.new_id_number()
    front = _upload(client, "id_front").json_body["upload_id"]
    back = _upload(client, "id_back").json_body["upload_id"]
    resp = _application(client, id_number, front, back, monthly_amount="600.00")
    assert resp.status_code == 201, resp.json_body
    serial = resp.json_body["serial_no"]
    assert resp.json_body["appointment"]["purpose"] == "flexible_opening"
    assert codes == [("13912345678", "register", "123456")]
    assert client.http.get(f"/v1/branches/B01/slots?date={TOMORROW}").json_body[1]["booked"] == 1
    # the retry answers the same application
    assert _application(client, id_number, front, back, monthly_amount="600.00").json_body == resp.json_body
    # the operator approves it from the review queue
    operator = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    queue = client.http.get("/v1/admin/reviews?kind=flexible_opening", headers=operator.headers).json_body
    assert [i["serial_no"] for i in queue["items"]] == [serial]
    decided = client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=operator.headers,
                               body=json.dumps({"decision": "approve", "opinion": "材料齐全"}))
    assert decided.status_code == 200 and decided.json_body["status"] == "done"
    [acct] = list(Account.person_index.query(id_number))
    assert (acct.kind, acct.status, acct.monthly_amount, acct.paid_through) == ("flexible", "normal", 60_000, "202606")
    assert "开户成功" in [m.title for m in Message.query(id_number)]


def test_opening_application_with_a_wrong_code_or_photo_is_refused(client, branch, codes):
    id_number = factories.new_id_number()
    front = _upload(client, "id_front").json_body["upload_id"]
    back = _upload(client, "id_back").json_body["upload_id"]
    bad_code = _application(client, id_number, front, back, code="000000")
    assert bad_code.json_body["error"]["code"] == "SMS_CODE_INVALID"
    swapped = _application(client, id_number, back, front, key="o2")
    assert swapped.status_code == 400 and "id_front_upload" in swapped.json_body["error"]["details"]["fields"]
    assert _application(client, "140105198501011235", front, back, key="o3").status_code == 400
    assert list(BusinessRecord.owner_index.query(id_number)) == []


def test_a_person_with_an_account_cannot_open_a_flexible_one(client, branch, codes):
    p, a, u, login = factories.depositor(kind="employee")
    front = _upload(client, "id_front").json_body["upload_id"]
    back = _upload(client, "id_back").json_body["upload_id"]
    assert _application(client, p.id_number, front, back).json_body["error"]["code"] == "NOT_ELIGIBLE"


def test_rejected_opening_frees_the_appointment(client, branch, codes):
    id_number = factories.new_id_number()
    front = _upload(client, "id_front").json_body["upload_id"]
    back = _upload(client, "id_back").json_body["upload_id"]
    serial = _application(client, id_number, front, back).json_body["serial_no"]
    business.decide(serial, approve=False, opinion="照片不清晰", operator="op1", now=clock.now())
    assert Appointment.get(f"AP{serial}").status == "cancelled"
    assert list(Account.person_index.query(id_number)) == []


def test_transfer_in_needs_a_sealed_account_and_books_a_place(client, branch):
    p, a, u, login = factories.depositor(kind="employee", status="sealed")
    resp = client.http.post("/v1/flexible/transfer-in", headers=login.with_headers(**{"Idempotency-Key": "t1"}),
                            body=json.dumps({"branch_id": "B01", "date": TOMORROW, "slot": "09:00-10:00"}))
    assert resp.status_code == 201 and resp.json_body["purpose"] == "transfer_in"
    q, b, v, other = factories.depositor(kind="employee", status="normal")
    refused = client.http.post("/v1/flexible/transfer-in", headers=other.with_headers(**{"Idempotency-Key": "t1"}),
                               body=json.dumps({"branch_id": "B01", "date": TOMORROW, "slot": "09:00-10:00"}))
    assert refused.status_code == 422


def test_opening_application_takes_a_real_code_from_the_sms_outbox_once(client, branch):
    # GIVEN a code requested through the identity route (purpose "register", to the applicant's phone)
    from tests.support import identity

    phone = "13912345670"
    sent = client.http.post("/v1/auth/sms-codes", headers={"Content-Type": "application/json"},
                            body=json.dumps({"phone": phone, "purpose": "register"}))
    assert sent.status_code in (200, 202), sent.json_body
    code = identity.last_code(phone)
    front = _upload(client, "id_front").json_body["upload_id"]
    back = _upload(client, "id_back").json_body["upload_id"]
    id_number = factories.new_id_number()
    # WHEN the applicant sends it
    ok = _application(client, id_number, front, back, code=code, phone=phone)
    # THEN it is accepted, and the same code cannot open a second application
    assert ok.status_code == 201, ok.json_body
    again = _application(client, factories.new_id_number(), front, back, key="o2", code=code, phone=phone)
    assert again.status_code == 400 and again.json_body["error"]["code"] == "SMS_CODE_INVALID"
