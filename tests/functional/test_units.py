"""The unit web hall over HTTP: unit information and its reviewed change, employees, registration, sealing,
base adjustment, remittance rosters and their payment, back-payment."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib.adapters import bank
from chalicelib.http import auth
from chalicelib.services import ledger, roster
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.messages import Message, OutboundSms
from chalicelib.store.people import Person, Unit
from chalicelib.store.rosters import Roster
from tests.support import factories
from tests.support.factories import make_id_number

NOW = "2026-07-15T09:00:00+08:00"       # July: the base adjustment month; period 202607
_VALID_ID = make_id_number("140105", dt.date(1985, 6, 15), 11)
BAD_CHECK_DIGIT = _VALID_ID[:-1] + ("0" if _VALID_ID[-1] != "0" else "1")


@pytest.fixture(autouse=True)
def _fresh_bank():
    bank.reset()
    yield
    bank.reset()


@pytest.fixture
def hall(aws, clock_file):
    """Unit U1001 (12 % / 12 %) logged in."""
    clock_file(NOW)
    return factories.unit(unit_no="U1001"), factories.login("U1001", auth.UNIT)


def _employee(unit_no="U1001", *, base=500_000, paid_through="202606", status="normal", ratio="12", **kw):
    p = factories.person(name=kw.pop("name", "张三"))
    a = factories.account(p, unit_no=unit_no, base=base, paid_through=paid_through, status=status, **kw)
    if ratio != "12":
        a.update(actions=[Account.ratio_unit.set(ratio), Account.ratio_person.set(ratio)])
    return p, a


def _post(client, login, path, body, key="k1", method="post"):
    return getattr(client.http, method)(path, headers=login.with_headers(**{"Idempotency-Key": key}),
                                        body=json.dumps(body))


def _get(client, login, path):
    return client.http.get(path, headers=login.headers)


def _fields(resp) -> dict:
    assert resp.status_code == 400, resp.body
    assert resp.json_body["error"]["code"] == "VALIDATION_FAILED"
    return resp.json_body["error"]["details"]["fields"]


# ---------------------------------------------------------------- unit information


def test_unit_information_masks_the_agent_phone_and_bank_account(client, hall):
    _, login = hall
    body = _get(client, login, "/v1/units/me").json_body
    assert (body["agent_phone"], body["bank_account"]) == ("139****0001", "622202*********3445")


def test_a_change_request_waits_for_review_and_approval_applies_it(client, hall):
    _, login = hall
    resp = _post(client, login, "/v1/units/me/change-requests",
                 {"agent_name": "李新", "agent_phone": "13911112222", "reason": "经办人调整"})
    assert resp.status_code == 201 and resp.json_body["status"] == "submitted"
    serial = resp.json_body["serial_no"]
    assert Unit.get("U1001").agent_name == "王经办"                       # nothing changes before review
    op = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    queue = client.http.get("/v1/admin/reviews?kind=unit_change", headers=op.headers).json_body["items"]
    assert [i["serial_no"] for i in queue] == [serial]
    assert queue[0]["details"]["new_agent_phone"] == "139****2222"
    decided = client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=op.headers,
                               body=json.dumps({"decision": "approve", "opinion": "同意"}))
    assert decided.status_code == 200 and decided.json_body["status"] == "done"
    unit = Unit.get("U1001")
    assert (unit.agent_name, unit.agent_phone, unit.name) == ("李新", "13911112222", "太原示例科技有限公司")
    listed = _get(client, login, "/v1/units/me/business").json_body["items"]
    assert [(i["serial_no"], i["status"], i["opinion"]) for i in listed] == [(serial, "done", "同意")]


def test_a_rejected_change_leaves_the_unit_and_only_one_change_waits_at_a_time(client, hall):
    _, login = hall
    first = _post(client, login, "/v1/units/me/change-requests", {"name": "新名称有限公司", "reason": "更名"})
    second = _post(client, login, "/v1/units/me/change-requests", {"name": "另一个名称", "reason": "更名"}, key="k2")
    assert second.status_code == 409 and second.json_body["error"]["code"] == "ALREADY_DONE"
    op = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    client.http.post(f"/v1/admin/reviews/{first.json_body['serial_no']}/decision", headers=op.headers,
                     body=json.dumps({"decision": "reject", "opinion": "缺少营业执照"}))
    assert Unit.get("U1001").name == "太原示例科技有限公司"
    assert _post(client, login, "/v1/units/me/change-requests", {"name": "新名称", "reason": "更名"},
                 key="k3").status_code == 201


def test_a_change_that_changes_nothing_is_refused(client, hall):
    _, login = hall
    resp = _post(client, login, "/v1/units/me/change-requests", {"agent_name": "王经办", "reason": "x"})
    assert "body" in _fields(resp)


# ---------------------------------------------------------------- employees


def _registration(**over):
    from tests.support.factories import new_id_number, new_phone

    return {"name": "李四", "id_number": new_id_number(), "phone": new_phone(), "base": "6000.00", **over}


def test_registering_an_employee_creates_the_person_and_a_normal_account(client, hall):
    _, login = hall
    body = _registration(ratio_person="10")
    resp = _post(client, login, "/v1/units/me/employees", body)
    assert resp.status_code == 201, resp.body
    out = resp.json_body
    assert out["id_number"] == body["id_number"][:6] + "********" + body["id_number"][-4:]
    assert out["phone"].count("*") == 4
    assert (out["status"], out["ratio_unit"], out["ratio_person"]) == ("normal", "12", "10")
    assert (out["unit_share"], out["person_share"], out["monthly_amount"]) == ("720.00", "600.00", "1320.00")
    acct = Account.get(out["account_no"])
    assert (acct.unit_no, acct.kind, acct.balance, acct.paid_through, acct.opened_on) == \
        ("U1001", "employee", 0, None, "2026-07-15")
    assert Person.get(body["id_number"]).name == "李四"
    again = _post(client, login, "/v1/units/me/employees", body)
    assert again.json_body == out and again.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("change, field", [
    ({"ratio_unit": "4"}, "ratio_unit"),
    ({"ratio_person": "12.5"}, "ratio_person"),
    ({"base": "1879.99"}, "base"),
    ({"base": "22500.01"}, "base"),
    ({"base": 6000.0}, "base"),
    ({"id_number": BAD_CHECK_DIGIT}, "id_number"),
    ({"phone": "12345"}, "phone"),
])
def test_registration_checks_ratio_base_and_identity(client, hall, change, field):
    _, login = hall
    assert field in _fields(_post(client, login, "/v1/units/me/employees", _registration(**change)))


def test_someone_depositing_elsewhere_or_under_another_name_is_not_registered(client, hall):
    _, login = hall
    p, _ = _employee("U9999", name="王五")
    busy = _post(client, login, "/v1/units/me/employees", _registration(name="王五", id_number=p.id_number))
    assert busy.status_code == 422 and busy.json_body["error"]["code"] == "NOT_ELIGIBLE"
    wrong_name = _post(client, login, "/v1/units/me/employees", _registration(name="赵六", id_number=p.id_number),
                       key="k2")
    assert wrong_name.status_code == 422


def test_employees_are_listed_a_page_at_a_time_with_masked_ids(client, hall):
    _, login = hall
    mine = sorted(_employee()[1].account_no for _ in range(3))
    _employee("U2002")
    first = _get(client, login, "/v1/units/me/employees?limit=2").json_body
    second = _get(client, login, f"/v1/units/me/employees?limit=2&cursor={first['next_cursor']}").json_body
    assert [e["account_no"] for e in first["items"] + second["items"]] == mine
    assert second["next_cursor"] is None
    assert all("********" in e["id_number"] for e in first["items"])


def test_another_units_employee_is_not_found(client, hall):
    _, login = hall
    _, other = _employee("U2002")
    path = f"/v1/units/me/employees/{other.account_no}"
    assert _get(client, login, path).status_code == 404
    assert _post(client, login, path, {"phone": "13800001111"}, method="put").status_code == 404
    assert _post(client, login, f"{path}/seal", {"reason": "离职"}).status_code == 404
    assert Account.get(other.account_no).status == "normal"


def test_an_employees_phone_and_name_change_waits_for_the_centers_review(client, hall):
    # issue 17 item 1: this used to rewrite the center-wide person record at once (a unit could take over a
    # citizen's online identity); now it is a request in the review queue and the person is told by SMS
    _, login = hall
    p, a = _employee()
    old_phone = p.phone
    resp = _post(client, login, f"/v1/units/me/employees/{a.account_no}", {"phone": "13800001111", "name": "张叁"},
                 method="put")
    assert resp.status_code == 202 and resp.json_body["status"] == "submitted", resp.body
    serial = resp.json_body["serial_no"]
    person = Person.get(p.id_number)
    assert (person.phone, person.name) == (old_phone, "张三")                # nothing changes before review
    assert [s.phone for s in OutboundSms.scan()] == [old_phone]              # the person is told
    again = _post(client, login, f"/v1/units/me/employees/{a.account_no}", {"name": "张叄"}, key="k2", method="put")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "ALREADY_DONE"
    op = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    queue = client.http.get("/v1/admin/reviews?kind=employee_change", headers=op.headers).json_body["items"]
    assert [i["serial_no"] for i in queue] == [serial]
    assert queue[0]["details"]["new_phone"] == "138****1111"
    decided = client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=op.headers,
                               body=json.dumps({"decision": "approve", "opinion": "已核对身份证件"}))
    assert decided.status_code == 200 and decided.json_body["status"] == "done", decided.body
    person = Person.get(p.id_number)
    assert (person.phone, person.name) == ("13800001111", "张叁")
    shown = _get(client, login, f"/v1/units/me/employees/{a.account_no}").json_body
    assert (shown["phone"], shown["name"]) == ("138****1111", "张叁")


def test_a_rejected_employee_change_changes_nothing(client, hall):
    _, login = hall
    p, a = _employee()
    resp = _post(client, login, f"/v1/units/me/employees/{a.account_no}", {"phone": "13800001111"}, method="put")
    op = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    client.http.post(f"/v1/admin/reviews/{resp.json_body['serial_no']}/decision", headers=op.headers,
                     body=json.dumps({"decision": "reject", "opinion": "本人未到场"}))
    assert Person.get(p.id_number).phone == p.phone
    unchanged = _post(client, login, f"/v1/units/me/employees/{a.account_no}", {"phone": p.phone}, key="k2",
                      method="put")
    assert "body" in _fields(unchanged)


def test_sealing_an_employee_who_left(client, hall):
    _, login = hall
    _, a = _employee()
    resp = _post(client, login, f"/v1/units/me/employees/{a.account_no}/seal", {"reason": "离职"})
    assert resp.status_code == 200 and resp.json_body["status"] == "sealed"
    assert Account.get(a.account_no).sealed_on == "2026-07-15"
    again = _post(client, login, f"/v1/units/me/employees/{a.account_no}/seal", {"reason": "离职"}, key="k2")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "ALREADY_DONE"


# ---------------------------------------------------------------- 基数调整


def test_base_adjustment_in_july_changes_bases_and_monthly_amounts(client, hall):
    _, login = hall
    _, a1 = _employee(base=500_000)
    _, a2 = _employee(base=500_000)
    resp = _post(client, login, "/v1/units/me/base-adjustments",
                 {"lines": [{"account_no": a1.account_no, "base": "6543.21"},
                            {"account_no": a2.account_no, "base": "4000.00"}]})
    assert resp.status_code == 201, resp.body
    assert resp.json_body["adjusted"] == 2
    assert resp.json_body["lines"][0] == {"account_no": a1.account_no, "old_base": "5000.00", "base": "6543.21",
                                          "monthly_amount": "1570.00"}     # 785.19 → 785 each side
    fresh = Account.get(a1.account_no)
    assert (fresh.base, fresh.monthly_amount) == (654_321, 157_000)
    assert Account.get(a2.account_no).monthly_amount == 96_000


def test_base_adjustment_outside_the_adjustment_month_is_window_closed(client, hall, clock_file):
    _, a = _employee()
    clock_file("2026-08-03T09:00:00+08:00")
    login = factories.login("U1001", auth.UNIT)
    resp = _post(client, login, "/v1/units/me/base-adjustments", {"lines": [{"account_no": a.account_no,
                                                                             "base": "6000.00"}]})
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "WINDOW_CLOSED"


def test_a_bad_line_refuses_the_whole_adjustment_naming_each_bad_line(client, hall):
    _, login = hall
    _, good = _employee()
    _, sealed = _employee(status="sealed")
    _, foreign = _employee("U2002")
    resp = _post(client, login, "/v1/units/me/base-adjustments", {"lines": [
        {"account_no": good.account_no, "base": "6000.00"},
        {"account_no": good.account_no, "base": "6100.00"},
        {"account_no": sealed.account_no, "base": "6000.00"},
        {"account_no": foreign.account_no, "base": "6000.00"},
        {"account_no": "GR-NOBODY", "base": "6000.00"}]})
    fields = _fields(resp)
    assert set(fields) == {"lines.1.account_no", "lines.2.account_no", "lines.3.account_no", "lines.4.account_no"}
    bad_base = _post(client, login, "/v1/units/me/base-adjustments",
                     {"lines": [{"account_no": good.account_no, "base": "99999.00"}]}, key="k2")
    assert set(_fields(bad_base)) == {"lines.0.base"}
    assert Account.get(good.account_no).base == 500_000                     # nothing applied


def test_an_employees_base_is_adjusted_once_a_year(client, hall):
    _, login = hall
    _, a = _employee()
    line = {"lines": [{"account_no": a.account_no, "base": "6000.00"}]}
    assert _post(client, login, "/v1/units/me/base-adjustments", line).status_code == 201
    second = _post(client, login, "/v1/units/me/base-adjustments", {"lines": [{"account_no": a.account_no,
                                                                               "base": "7000.00"}]}, key="k2")
    assert "lines.0.account_no" in _fields(second)
    assert Account.get(a.account_no).base == 600_000


# ---------------------------------------------------------------- 汇缴清册


def _roster(client, login, period="202607", key="r1"):
    return _post(client, login, "/v1/units/me/rosters", {"period": period}, key=key)


def _pay(client, login, roster_no, key="p1", **body):
    return _post(client, login, f"/v1/units/me/rosters/{roster_no}/payment", body, key=key)


def test_the_roster_lists_due_employees_with_each_share_rounded(client, hall):
    _, login = hall
    _, due = _employee(base=432_100, ratio="7")          # 302.47 → 302 each side
    _employee(paid_through="202607")                     # already paid this month
    _employee(paid_through="202604")                     # behind: back-payment first
    _employee(status="sealed")                           # left: not in the roster at all
    resp = _roster(client, login)
    assert resp.status_code == 201, resp.body
    r = resp.json_body
    assert (r["kind"], r["period"], r["status"], r["employees"], r["skipped"]) == ("remit", "202607", "ready", 1, 2)
    assert (r["unit_total"], r["person_total"], r["total"]) == ("302.00", "302.00", "604.00")
    lines = _get(client, login, f"/v1/units/me/rosters/{r['roster_no']}/lines").json_body["items"]
    assert [(x["account_no"], x["unit_share"], x["amount"]) for x in lines] == [(due.account_no, "302.00", "604.00")]
    assert "********" in lines[0]["id_number"] and lines[0]["name"] == "张三"


def test_paying_the_roster_credits_every_employee_once_and_debits_the_unit_once(client, hall):
    _, login = hall
    accounts = [_employee(balance=10_000)[1] for _ in range(3)]
    r = _roster(client, login).json_body
    paid = _pay(client, login, r["roster_no"])
    assert paid.status_code == 200, paid.body
    assert (paid.json_body["status"], paid.json_body["credited"], paid.json_body["credited_amount"]) == \
        ("paid", 3, "3600.00")
    for a in accounts:
        fresh = Account.get(a.account_no)
        assert (fresh.balance, fresh.paid_through) == (130_000, "202607")
        [entry] = list(LedgerEntry.flow_index.query(a.account_no))
        assert (entry.kind, entry.period, entry.amount, entry.business_serial) == \
            ("remit", "202607", 120_000, r["roster_no"])
    again = _pay(client, login, r["roster_no"], key="p2")        # another click: already paid, nothing moves
    assert again.status_code == 200 and again.json_body["status"] == "paid"
    debits = [x for x in bank.gateway().read() if x["op"] == "debit"]
    assert [(x["reference"], x["amount"]) for x in debits] == [(r["roster_no"], 360_000)]
    assert Unit.get("U1001").paid_through == "202607"
    assert BusinessRecord.get(r["roster_no"]).status == "done"
    assert all(len(list(LedgerEntry.flow_index.query(a.account_no))) == 1 for a in accounts)


def test_one_roster_a_month_and_voiding_it_frees_the_month(client, hall):
    _, login = hall
    _employee()
    first = _roster(client, login).json_body
    twin = _roster(client, login, key="r2")
    assert twin.status_code == 409 and twin.json_body["error"]["details"]["roster_no"] == first["roster_no"]
    voided = client.http.delete(f"/v1/units/me/rosters/{first['roster_no']}", headers=login.headers)
    assert voided.status_code == 200 and voided.json_body["status"] == "cancelled"
    assert _pay(client, login, first["roster_no"]).status_code == 422
    assert _roster(client, login, key="r3").status_code == 201


@pytest.mark.parametrize("period", ["202605", "202608"])
def test_a_roster_only_for_this_month_or_last(client, hall, period):
    _, login = hall
    _employee(paid_through="202604")
    resp = _roster(client, login, period)
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "NOT_ELIGIBLE"


def test_a_declined_debit_voids_the_roster_and_credits_nobody(client, hall):
    _, login = hall
    _, a = _employee()
    r = _roster(client, login).json_body
    resp = _pay(client, login, r["roster_no"], bank_account="6222020200110000")
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "PAYMENT_DECLINED"
    assert Roster.get(r["roster_no"]).status == "cancelled"
    assert Account.get(a.account_no).balance == 0 and list(LedgerEntry.flow_index.query(a.account_no)) == []
    assert _roster(client, login, key="r2").status_code == 201        # the month is free again


def _lose_the_network_before_the_second_batch(monkeypatch) -> None:
    calls = {"n": 0}
    real_post = ledger.post

    def failing_post(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("network lost before the second batch")
        return real_post(*args, **kwargs)

    monkeypatch.setattr(roster.ledger, "post", failing_post)


def test_a_payment_that_fails_half_way_resumes_without_crediting_anyone_twice(client, hall, monkeypatch):
    _, login = hall
    accounts = [_employee()[1] for _ in range(60)]          # two batches of 49 + 11
    r = _roster(client, login).json_body
    _lose_the_network_before_the_second_batch(monkeypatch)
    assert _pay(client, login, r["roster_no"]).status_code == 500
    assert roster.progress(r["roster_no"]) == 1
    assert _pay(client, login, r["roster_no"]).status_code == 200       # same key again: resumes
    assert sorted(Account.get(a.account_no).balance for a in accounts) == [120_000] * 60
    assert len([x for x in bank.gateway().read() if x["op"] == "debit"]) == 1


def test_each_credited_employee_is_told_once_and_a_subscriber_also_by_sms(client, hall, monkeypatch):
    # GIVEN 60 employees (two batches), one of them subscribed to SMS, and a payment that fails after batch one
    _, login = hall
    people = [_employee(balance=10_000) for _ in range(60)]
    subscriber = people[59][0]
    factories.user(subscriber, sms_subscribed=True)
    r = _roster(client, login).json_body
    _lose_the_network_before_the_second_batch(monkeypatch)
    assert _pay(client, login, r["roster_no"]).status_code == 500
    # WHEN the unit pays again and resumes
    assert _pay(client, login, r["roster_no"]).status_code == 200
    # THEN every employee has exactly one 单位汇缴入账 message naming the month and the amount
    for p, _a in people:
        [msg] = [m for m in Message.query(p.id_number) if m.title == "单位汇缴入账"]
        assert msg.body == "您的单位已为您缴存 2026年07月 住房公积金 1200.00 元。"
        assert msg.serial_no == r["roster_no"]
    # AND the subscriber one SMS, nobody else any
    sms = [x for x in OutboundSms.scan() if x.sms_id.startswith(f"deposit#{r['roster_no']}#")]
    assert [x.sms_id for x in sms] == [f"deposit#{r['roster_no']}#{people[59][1].account_no}"]
    assert sms[0].phone == subscriber.phone


def test_telling_the_employees_again_writes_no_second_message(client, hall):
    # GIVEN a paid roster whose last step (the business record) failed, so the payment is asked for again
    _, login = hall
    p, _a = _employee()
    r = _roster(client, login).json_body
    real = roster._set_record
    calls = {"n": 0}

    def fails_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("lost before the record was done")
        return real(*args, **kwargs)

    roster._set_record = fails_once
    try:
        assert _pay(client, login, r["roster_no"]).status_code == 500
        assert _pay(client, login, r["roster_no"], key="p2").status_code == 200
    finally:
        roster._set_record = real
    # THEN the employee was told twice over, but holds one message
    assert calls["n"] == 2
    assert [m.title for m in Message.query(p.id_number)].count("单位汇缴入账") == 1


def test_a_back_payment_message_names_the_months_it_covers(client, hall):
    _, login = hall
    p, a = _employee(paid_through="202603", balance=0)
    r = _post(client, login, "/v1/units/me/back-payments",
              {"lines": [{"account_no": a.account_no, "end_period": "202605"}]}).json_body
    assert _pay(client, login, r["roster_no"]).json_body["status"] == "paid"
    [msg] = [m for m in Message.query(p.id_number) if m.title == "单位补缴入账"]
    assert msg.body == "您的单位已为您缴存 2026年04月至2026年05月 住房公积金 2400.00 元。"


# ---------------------------------------------------------------- 补缴


def test_back_payment_credits_each_chosen_month_in_order(client, hall):
    _, login = hall
    _, a = _employee(paid_through="202603", balance=0)
    _, b = _employee(paid_through="202605", balance=0)
    resp = _post(client, login, "/v1/units/me/back-payments",
                 {"lines": [{"account_no": a.account_no, "end_period": "202605"},
                            {"account_no": b.account_no, "end_period": "202606"}]})
    assert resp.status_code == 201, resp.body
    r = resp.json_body
    assert (r["kind"], r["lines"], r["employees"], r["from_period"], r["end_period"], r["total"]) == \
        ("backpay", 3, 2, "202604", "202606", "3600.00")
    assert _pay(client, login, r["roster_no"]).json_body["status"] == "paid"
    entries = sorted((e.period, e.kind) for e in LedgerEntry.flow_index.query(a.account_no))
    assert entries == [("202604", "backpay"), ("202605", "backpay")]
    assert (Account.get(a.account_no).paid_through, Account.get(b.account_no).paid_through) == ("202605", "202606")


def test_back_payment_lines_are_checked_one_by_one(client, hall):
    _, login = hall
    _, a = _employee(paid_through="202603")
    _, paid = _employee(paid_through="202606")
    _, far = _employee(paid_through="202301")
    resp = _post(client, login, "/v1/units/me/back-payments", {"lines": [
        {"account_no": a.account_no, "end_period": "202607"},          # this month: the roster's
        {"account_no": paid.account_no, "end_period": "202606"},       # nothing left to pay
        {"account_no": far.account_no, "end_period": "202606"},        # 41 months > 24
        {"account_no": "GR-NOBODY", "end_period": "202605"}]})
    assert set(_fields(resp)) == {"lines.0.end_period", "lines.1.end_period", "lines.2.end_period",
                                  "lines.3.account_no"}


def test_a_month_paid_meanwhile_is_not_credited_twice_and_its_money_goes_back(client, hall):
    _, login = hall
    _, a = _employee(paid_through="202605", balance=0)
    _, b = _employee(paid_through="202605", balance=0)
    remit = _roster(client, login, "202606").json_body                  # last month's roster, both employees
    back = _post(client, login, "/v1/units/me/back-payments",
                 {"lines": [{"account_no": a.account_no, "end_period": "202606"}]}, key="b1").json_body
    assert _pay(client, login, back["roster_no"], key="p1").json_body["status"] == "paid"
    paid = _pay(client, login, remit["roster_no"], key="p2").json_body
    assert (paid["credited"], paid["credited_amount"], paid["refunded_amount"]) == (1, "1200.00", "1200.00")
    assert [e.period for e in LedgerEntry.flow_index.query(a.account_no)] == ["202606"]
    assert (Account.get(a.account_no).balance, Account.get(b.account_no).balance) == (120_000, 120_000)
    refunds = [x for x in bank.gateway().read() if x["op"] == "payout"]
    assert [(x["reference"], x["amount"]) for x in refunds] == [(remit["roster_no"] + "R", 120_000)]


def test_rosters_are_listed_newest_first_and_stay_within_their_unit(client, hall):
    _, login = hall
    _employee(paid_through="202605")
    first = _roster(client, login, "202606").json_body
    listed = _get(client, login, "/v1/units/me/rosters").json_body["items"]
    assert [x["roster_no"] for x in listed] == [first["roster_no"]]
    other = factories.login("U2002", auth.UNIT)
    factories.unit(unit_no="U2002")
    assert _get(client, other, f"/v1/units/me/rosters/{first['roster_no']}").status_code == 404
    assert _pay(client, other, first["roster_no"]).status_code == 404


def test_a_back_payment_across_the_july_base_adjustment_uses_each_months_base(client, hall, clock_file):
    # issue 16 item 5. Base 5,000.00 at 12 % + 12 %, paid through 2026-05; in July 2026 (基数调整 month) the
    # base becomes 6,000.00. In September the unit back-pays 2026-06..2026-08; by hand:
    # June at the old base 5000 x 12 % = 600.00 each side = 1,200.00; July and August at 6000 x 12 % = 720.00
    # each side = 1,440.00 each; total 1,200.00 + 1,440.00 + 1,440.00 = 4,080.00 (not 3 x 1,440.00 = 4,320.00).
    _, login = hall
    _, a = _employee(base=500_000, paid_through="202605", balance=0)
    adjusted = _post(client, login, "/v1/units/me/base-adjustments",
                     {"lines": [{"account_no": a.account_no, "base": "6000.00"}]}, key="adj")
    assert adjusted.status_code == 201, adjusted.body
    clock_file("2026-09-10T09:00:00+08:00")
    login = factories.login("U1001", auth.UNIT)
    resp = _post(client, login, "/v1/units/me/back-payments",
                 {"lines": [{"account_no": a.account_no, "end_period": "202608"}]}, key="bp")
    assert resp.status_code == 201, resp.body
    assert (resp.json_body["lines"], resp.json_body["total"]) == (3, "4080.00")
    lines = _get(client, login, f"/v1/units/me/rosters/{resp.json_body['roster_no']}/lines").json_body["items"]
    assert [(x["period"], x["base"], x["unit_share"], x["person_share"]) for x in lines] == [
        ("202606", "5000.00", "600.00", "600.00"), ("202607", "6000.00", "720.00", "720.00"),
        ("202608", "6000.00", "720.00", "720.00")]
    assert _pay(client, login, resp.json_body["roster_no"], key="p9").json_body["status"] == "paid"
    assert sorted((e.period, int(e.amount)) for e in LedgerEntry.flow_index.query(a.account_no)) == [
        ("202606", 120_000), ("202607", 144_000), ("202608", 144_000)]
