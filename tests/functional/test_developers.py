"""The developer web hall over HTTP: projects, buildings, supplementary materials and buyers' loan
applications, each through the center's review; approval of a loan application creates the loan contract
with its progress stages."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from chalicelib import clock
from chalicelib.http import auth
from chalicelib.services import uploads
from chalicelib.store.content import Property
from chalicelib.store.developers import Project
from chalicelib.store.loans import Loan, stages_of
from chalicelib.store.messages import Message
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"
REPAY_CARD = "6222020200112233446"          # passes Luhn


@pytest.fixture
def dev(aws, clock_file):
    clock_file(NOW)
    factories.developer(developer_no="D3001")
    return factories.login("D3001", auth.DEVELOPER)


@pytest.fixture
def reviewer(aws):
    return factories.login("op1", auth.OPERATOR, op_role="reviewer")


def _post(client, login, path, body, key="k1"):
    return client.http.post(path, headers=login.with_headers(**{"Idempotency-Key": key}), body=json.dumps(body))


def _decide(client, op, serial, decision="approve", opinion="同意"):
    resp = client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=op.headers,
                            body=json.dumps({"decision": decision, "opinion": opinion}))
    assert resp.status_code == 200, resp.body
    return resp.json_body


def _material() -> str:
    return uploads.issue(purpose="material", content_type="application/pdf", owner="developer:D3001",
                         now=clock.now())["upload_id"]


def _project(client, dev, key="p1", **over):
    body = {"name": "汾河湾示例小区", "address": "太原市示例路1号", "presale_permit_no": "并预售字2026第001号",
            "material_uploads": [_material()], **over}
    resp = _post(client, dev, "/v1/developers/me/projects", body, key=key)
    assert resp.status_code == 201, resp.body
    return resp.json_body


def _approved_building(client, dev, reviewer):
    project = _project(client, dev)
    _decide(client, reviewer, project["serial_no"])
    resp = _post(client, dev, f"/v1/developers/me/projects/{project['project_no']}/buildings",
                 {"building_no": "3", "name": "3号楼", "floors": 18, "houses": 72}, key="b1")
    assert resp.status_code == 201, resp.body
    _decide(client, reviewer, resp.json_body["serial_no"])
    return project["project_no"], "3"


def test_an_admin_registers_a_developer_once(client, aws):
    admin = factories.login("admin1", auth.OPERATOR, op_role="admin")
    body = {"developer_no": "D4001", "name": "示例地产开发有限公司", "credit_code": "91140100MA0K000003",
            "contact_name": "刘联系", "contact_phone": "13900000009"}
    resp = client.http.post("/v1/admin/developers", headers=admin.headers, body=json.dumps(body))
    assert resp.status_code == 201 and resp.json_body["contact_phone"] == "139****0009"
    again = client.http.post("/v1/admin/developers", headers=admin.headers, body=json.dumps(body))
    assert again.status_code == 409


def test_a_project_waits_for_review_and_approval_lists_it_among_partner_properties(client, dev, reviewer):
    project = _project(client, dev)
    assert (project["status"], project["materials"]) == ("submitted", [])
    queue = client.http.get("/v1/admin/reviews?kind=project", headers=reviewer.headers).json_body["items"]
    assert [i["serial_no"] for i in queue] == [project["serial_no"]]
    _decide(client, reviewer, project["serial_no"], opinion="材料齐全")
    fresh = client.http.get(f"/v1/developers/me/projects/{project['project_no']}", headers=dev.headers).json_body
    assert (fresh["status"], fresh["opinion"], len(fresh["materials"])) == ("approved", "材料齐全", 1)
    assert Property.get(project["project_no"]).developer == "示例置业有限公司"
    listed = client.http.get("/v1/developers/me/projects", headers=dev.headers).json_body["items"]
    assert [p["project_no"] for p in listed] == [project["project_no"]]


def test_a_rejected_project_takes_no_buildings(client, dev, reviewer):
    project = _project(client, dev)
    _decide(client, reviewer, project["serial_no"], "reject", "预售许可证号有误")
    assert Project.get(project["project_no"]).status == "rejected"
    resp = _post(client, dev, f"/v1/developers/me/projects/{project['project_no']}/buildings",
                 {"building_no": "1", "name": "1号楼", "floors": 6, "houses": 24}, key="b1")
    assert resp.status_code == 422


def test_a_project_names_only_uploads_that_exist(client, dev):
    resp = _post(client, dev, "/v1/developers/me/projects",
                 {"name": "x", "address": "y", "presale_permit_no": "z", "material_uploads": ["UPNOPE"]})
    assert resp.status_code == 400 and "upload" in resp.json_body["error"]["details"]["fields"]


def test_buildings_of_an_approved_project_are_reviewed_and_numbers_are_unique(client, dev, reviewer):
    project_no, building_no = _approved_building(client, dev, reviewer)
    page = client.http.get(f"/v1/developers/me/projects/{project_no}/buildings", headers=dev.headers).json_body
    assert [(b["building_no"], b["status"]) for b in page["items"]] == [(building_no, "approved")]
    twin = _post(client, dev, f"/v1/developers/me/projects/{project_no}/buildings",
                 {"building_no": "3", "name": "又一个3号楼", "floors": 9, "houses": 9}, key="b2")
    assert twin.status_code == 409


def test_supplementary_materials_join_the_project_on_approval(client, dev, reviewer):
    project = _project(client, dev)
    extra = _material()
    resp = _post(client, dev, f"/v1/developers/me/projects/{project['project_no']}/materials",
                 {"upload_ids": [extra], "note": "补充规划许可证"}, key="m1")
    assert resp.status_code == 201 and resp.json_body["kind"] == "project_material"
    _decide(client, reviewer, project["serial_no"])
    _decide(client, reviewer, resp.json_body["serial_no"])
    assert extra in Project.get(project["project_no"]).materials


def test_another_developers_project_is_not_found(client, dev, reviewer):
    project = _project(client, dev)
    factories.developer(developer_no="D3002")
    other = factories.login("D3002", auth.DEVELOPER)
    assert client.http.get(f"/v1/developers/me/projects/{project['project_no']}",
                           headers=other.headers).status_code == 404
    assert _post(client, other, f"/v1/developers/me/projects/{project['project_no']}/materials",
                 {"upload_ids": [_material()]}).status_code == 404


# ---------------------------------------------------------------- 贷款申请


_seq = itertools.count(100)


def _id(birth: dt.date, male: bool) -> str:
    """An ID number of that birth date and sex (GB 11643: the 17th digit is odd for a man)."""
    n = next(_seq) * 2 + (1 if male else 0)
    return factories.make_id_number("140105", birth, n)


def _buyer(name="赵买房", status="normal", *, birth=dt.date(1995, 1, 1), male=None):
    """A depositor; born 1995 so that a 360-month term ends before the statutory age + 5 for either sex (a man
    63 + 5 = 2063-01, a woman of the 55 group 58 + 5 = 2058-01; 360 months from 2026-07 end in 2056-07)."""
    male = bool(next(_seq) % 2) if male is None else male
    p = factories.person(name=name, id_number=_id(birth, male))
    factories.account(p, status=status)
    return p


def _application(project_no, building_no, buyer, **over):
    return {"buyer": {"name": buyer.name, "id_number": buyer.id_number, "phone": buyer.phone},
            "project_no": project_no, "building_no": building_no, "house_no": "1502", "price": "1000000.00",
            "principal": "600000.00", "term_months": 360, "method": "equal_installment", "first_home": True,
            "bank": "中国建设银行", "repay_account": REPAY_CARD, **over}


def test_an_approved_loan_application_creates_the_contract_the_buyer_sees(client, dev, reviewer):
    project_no, building_no = _approved_building(client, dev, reviewer)
    buyer = _buyer()
    resp = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, buyer),
                 key="l1")
    assert resp.status_code == 201, resp.body
    app = resp.json_body
    assert (app["status"], app["annual_rate"], app["buyer_id_number"]) == \
        ("submitted", "2.60", buyer.id_number[:6] + "********" + buyer.id_number[-4:])
    assert app["repay_account"] == "622202*********3446"
    queued = client.http.get("/v1/admin/reviews?kind=loan_application", headers=reviewer.headers).json_body["items"]
    assert "********" in queued[0]["details"]["buyer_id_number"]
    _decide(client, reviewer, app["serial_no"], opinion="符合贷款条件")

    view = client.http.get(f"/v1/developers/me/loan-applications/{app['serial_no']}", headers=dev.headers).json_body
    assert view["status"] == "approved" and view["contract_no"]
    loan = Loan.get(view["contract_no"])
    assert (loan.id_number, loan.principal, loan.balance, loan.term_months, loan.annual_rate, loan.status) == \
        (buyer.id_number, 60_000_000, 60_000_000, 360, "2.60", "approved")
    assert loan.application_serial == app["serial_no"]
    assert [(s["code"], s["state"]) for s in stages_of(loan)] == \
        [("applied", "done"), ("reviewed", "done"), ("contracted", "done"), ("disbursed", "current")]
    assert [s["state"] for s in view["stages"]] == ["done", "done", "done", "current"]
    titles = [m.title for m in Message.query(buyer.id_number)]
    assert "贷款申请已提交" in titles and "贷款申请已审批通过" in titles


def test_disbursement_puts_the_approved_loan_into_repayment_and_the_buyer_sees_it(client, dev, reviewer):
    # GIVEN an approved loan application of a registered buyer
    project_no, building_no = _approved_building(client, dev, reviewer)
    buyer = _buyer()
    user = factories.user(buyer)
    me = factories.login(user.user_id)
    app = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, buyer),
                key="l1").json_body
    _decide(client, reviewer, app["serial_no"])
    contract_no = Loan.person_index.query(buyer.id_number).next().contract_no
    assert client.http.get(f"/v1/me/loans/{contract_no}/schedule", headers=me.headers).status_code == 422

    # WHEN the center records the disbursement (贷款发放)
    path = f"/v1/admin/loans/{contract_no}/disbursement"
    resp = client.http.post(path, headers=reviewer.headers, body=json.dumps({"disbursed_on": "2026-07-14"}))
    assert resp.status_code == 200, resp.body
    assert (resp.json_body["status"], resp.json_body["repayment_day"]) == ("normal", 14)
    again = client.http.post(path, headers=reviewer.headers, body=json.dumps({"disbursed_on": "2026-07-14"}))
    assert again.status_code == 200 and again.json_body == resp.json_body

    # THEN the buyer's loan is in repayment: every stage done, a 360-month plan from 2026-08-14, and a message
    loans = client.http.get("/v1/me/loans", headers=me.headers).json_body
    assert [(x["contract_no"], x["status"], x["next_due_on"]) for x in loans] == [(contract_no, "normal",
                                                                                   "2026-08-14")]
    progress = client.http.get(f"/v1/me/loans/{contract_no}/progress", headers=me.headers).json_body
    assert [s["state"] for s in progress["stages"]] == ["done"] * 4
    plan = client.http.get(f"/v1/me/loans/{contract_no}/schedule", headers=me.headers).json_body
    assert len(plan["periods"]) == 360 and plan["periods"][-1]["balance_after"] == "0.00"
    assert "贷款已发放" in [m.title for m in Message.query(buyer.id_number)]


def test_disbursement_is_refused_for_a_future_day_an_unknown_contract_and_a_developer(client, dev, reviewer):
    project_no, building_no = _approved_building(client, dev, reviewer)
    buyer = _buyer()
    app = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, buyer),
                key="l1").json_body
    _decide(client, reviewer, app["serial_no"])
    contract_no = Loan.person_index.query(buyer.id_number).next().contract_no
    future = client.http.post(f"/v1/admin/loans/{contract_no}/disbursement", headers=reviewer.headers,
                              body=json.dumps({"disbursed_on": "2026-07-16"}))
    assert future.status_code == 400 and "disbursed_on" in future.json_body["error"]["details"]["fields"]
    assert Loan.get(contract_no).status == "approved"
    unknown = client.http.post("/v1/admin/loans/HT404/disbursement", headers=reviewer.headers, body="{}")
    assert unknown.status_code == 404
    by_dev = client.http.post(f"/v1/admin/loans/{contract_no}/disbursement", headers=dev.headers, body="{}")
    assert by_dev.status_code == 403


def test_a_rejected_loan_application_creates_no_loan_and_tells_the_buyer(client, dev, reviewer):
    project_no, building_no = _approved_building(client, dev, reviewer)
    buyer = _buyer()
    app = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, buyer),
                key="l1").json_body
    _decide(client, reviewer, app["serial_no"], "reject", "收入证明不足")
    assert list(Loan.person_index.query(buyer.id_number)) == []
    view = client.http.get(f"/v1/developers/me/loan-applications/{app['serial_no']}", headers=dev.headers).json_body
    assert (view["status"], view["contract_no"], view["stages"][1]["state"]) == ("rejected", None, "rejected")
    assert "贷款申请未通过" in [m.title for m in Message.query(buyer.id_number)]


@pytest.mark.parametrize("over, field", [
    ({"principal": "800000.01"}, "principal"),                          # over 80 % of the price
    ({"price": "3000000.00", "principal": "1200000.01"}, "principal"),  # over the city's highest loan
    ({"term_months": 361}, "term_months"),
    ({"repay_account": "6222020200112233445"}, "repay_account"),        # fails Luhn
    ({"method": "balloon"}, "method"),
    ({"price": 1000000}, "price"),
])
def test_a_loan_application_is_checked_against_the_policy(client, dev, reviewer, over, field):
    project_no, building_no = _approved_building(client, dev, reviewer)
    resp = _post(client, dev, "/v1/developers/me/loan-applications",
                 _application(project_no, building_no, _buyer(), **over), key="l1")
    assert resp.status_code == 400, resp.body
    assert field in resp.json_body["error"]["details"]["fields"]


def test_a_buyer_who_does_not_deposit_or_a_building_not_approved_is_not_eligible(client, dev, reviewer):
    project_no, building_no = _approved_building(client, dev, reviewer)
    sealed = _buyer(status="sealed")
    resp = _post(client, dev, "/v1/developers/me/loan-applications",
                 _application(project_no, building_no, sealed), key="l1")
    assert resp.status_code == 422
    new = _post(client, dev, f"/v1/developers/me/projects/{project_no}/buildings",
                {"building_no": "5", "name": "5号楼", "floors": 9, "houses": 9}, key="b9")
    assert new.status_code == 201
    waiting = _post(client, dev, "/v1/developers/me/loan-applications",
                    _application(project_no, "5", _buyer()), key="l2")
    assert waiting.status_code == 422


# ---------------------------------------------------------------- who may borrow (issue 16 item 15)


def test_the_term_ends_by_the_statutory_retirement_age_plus_five_years(client, dev, reviewer):
    # The decision of 2024-09-13: men born from 1976-09 retire at 63; women of the 55 group (the policy's group for
    # loans) born from 1981-09 at 58. Born 1985-06-15 and applying on 2026-07-15, the term may end by
    # 2053-06-15 (man: 2048-06-15 + 5 years) or 2048-06-15 (woman: 2043-06-15 + 5 years):
    # 2026-07-15 + 323 months = 2053-06-15, + 263 months = 2048-06-15.
    project_no, building_no = _approved_building(client, dev, reviewer)
    for male, longest, latest in ((True, 323, "2053-06-15"), (False, 263, "2048-06-15")):
        buyer = _buyer(birth=dt.date(1985, 6, 15), male=male)
        too_long = _post(client, dev, "/v1/developers/me/loan-applications",
                         _application(project_no, building_no, buyer, term_months=longest + 1), key=f"a{male}1")
        assert too_long.status_code == 400, too_long.body
        said = too_long.json_body["error"]["details"]["fields"]["term_months"]
        assert latest in said and f"最长 {longest} 个月" in said
        ok = _post(client, dev, "/v1/developers/me/loan-applications",
                   _application(project_no, building_no, buyer, term_months=longest), key=f"a{male}2")
        assert ok.status_code == 201, ok.body


def test_a_buyer_past_the_age_limit_may_not_borrow_at_all(client, dev, reviewer):
    # a man born 1960-03-15 reached 60 (before the reform) on 2020-03-15: + 5 years = 2025-03-15, before today
    project_no, building_no = _approved_building(client, dev, reviewer)
    buyer = _buyer(birth=dt.date(1960, 3, 15), male=True)
    resp = _post(client, dev, "/v1/developers/me/loan-applications",
                 _application(project_no, building_no, buyer, term_months=12), key="l1")
    assert resp.status_code == 400 and "2025-03-15" in resp.json_body["error"]["details"]["fields"]["term_months"]


def test_a_buyer_with_an_unsettled_hpf_loan_may_not_apply_nor_be_approved_twice(client, dev, reviewer):
    from tests.support import loan_data

    project_no, building_no = _approved_building(client, dev, reviewer)
    owing = _buyer()
    loan_data.loan(owing.id_number, status="overdue")
    resp = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, owing),
                 key="l1")
    assert resp.status_code == 422 and "未结清的住房公积金贷款" in resp.json_body["error"]["message"]
    settled = _buyer()
    loan_data.loan(settled.id_number, status="settled", paid_periods=0)
    assert _post(client, dev, "/v1/developers/me/loan-applications",
                 _application(project_no, building_no, settled), key="l2").status_code == 201
    # two applications for one buyer, both waiting: the first approved, the second refused at approval
    buyer = _buyer()
    first = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, buyer),
                  key="l3").json_body
    second = _post(client, dev, "/v1/developers/me/loan-applications",
                   _application(project_no, building_no, buyer, house_no="1602"), key="l4").json_body
    _decide(client, reviewer, first["serial_no"])
    refused = client.http.post(f"/v1/admin/reviews/{second['serial_no']}/decision", headers=reviewer.headers,
                               body=json.dumps({"decision": "approve", "opinion": "同意"}))
    assert refused.status_code == 422 and "未结清" in refused.json_body["error"]["message"]
    assert [x.contract_no for x in Loan.person_index.query(buyer.id_number)] == [
        Loan.person_index.query(buyer.id_number).next().contract_no]
    assert _decide(client, reviewer, second["serial_no"], "reject", "已有未结清贷款")["status"] == "rejected"


def test_the_rate_is_the_one_in_force_at_disbursement_not_at_application(client, dev, reviewer, clock_file):
    # PBoC cut HPF loan rates by 0.25 points from 2025-05-08: first home over 5 years 2.85 % → 2.60 %
    # (en.people.cn 2025-05-09). Applied for on 2025-05-06, disbursed on 2025-05-09.
    clock_file("2025-05-06T09:00:00+08:00")
    dev, reviewer = factories.login("D3001", auth.DEVELOPER), factories.login("op1", auth.OPERATOR, op_role="reviewer")
    project_no, building_no = _approved_building(client, dev, reviewer)
    buyer = _buyer()
    app = _post(client, dev, "/v1/developers/me/loan-applications", _application(project_no, building_no, buyer),
                key="l1").json_body
    assert app["annual_rate"] == "2.85"
    _decide(client, reviewer, app["serial_no"])
    contract_no = Loan.person_index.query(buyer.id_number).next().contract_no
    clock_file("2025-05-12T09:00:00+08:00")
    reviewer = factories.login("op1", auth.OPERATOR, op_role="reviewer")
    resp = client.http.post(f"/v1/admin/loans/{contract_no}/disbursement", headers=reviewer.headers,
                            body=json.dumps({"disbursed_on": "2025-05-09"}))
    assert resp.status_code == 200, resp.body
    assert Loan.get(contract_no).annual_rate == "2.60"
    assert any("年利率 2.60%" in m.body for m in Message.query(buyer.id_number) if m.title == "贷款已发放")
