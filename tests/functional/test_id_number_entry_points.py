"""Every door a person's ID number comes in by judges it the same way (GB 11643-1999, ASCII only, a real birth date
not after today): registration, the anonymous flexible opening, a unit's employee registration, a developer's loan
application, and `gjj import`. Refusals are a 400 naming the field, and nothing is written.

The numbers are the standard's example (GB 11643-1999 §8, ``11010519491231002X``) and bodies completed by the test
factory's GB 11643 check (``tests/support/factories.py``, written independently of the rule).
"""

from __future__ import annotations

import json

import pytest

from chalicelib import importer
from chalicelib.http import auth
from chalicelib.rules.identity import NON_ASCII_ID
from chalicelib.store.accounts import Account
from chalicelib.store.people import Person
from tests.support import factories
from tests.support.identity import PASSWORD, last_code, post, request_code

TODAY = "2026-07-15T09:00:00+08:00"
STANDARD_EXAMPLE = "11010519491231002X"


def complete(first17: str) -> str:
    return first17 + factories.gb11643_check(first17)


VALID = complete("14010519850615011")
FULL_WIDTH = VALID[0] + "\uff14" + VALID[2:]           # 1４0105… : the same number with a full-width 4
WRONG_CHECK = VALID[:17] + ("1" if VALID[17] != "1" else "2")
FUTURE_BIRTH = complete("14010520260716011")            # born the day after TODAY
BAD = [(FULL_WIDTH, NON_ASCII_ID), (WRONG_CHECK, "身份证号校验位不正确"), (FUTURE_BIRTH, "身份证号中的出生日期无效")]


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(TODAY)
    return client


def _field_problem(resp, field="id_number"):
    assert resp.status_code == 400, resp.body
    fields = json.loads(resp.body)["error"]["details"]["fields"]
    return next(v for k, v in fields.items() if k.endswith(field))


def test_the_standards_own_example_registers_and_logs_in(env):
    p = factories.person(id_number=STANDARD_EXAMPLE, name="王小红")
    factories.account(p)
    request_code(env, "register", phone=p.phone)
    resp = post(env, "/v1/auth/register", {"name": p.name, "id_number": STANDARD_EXAMPLE.lower(), "phone": p.phone,
                                            "password": PASSWORD, "sms_code": last_code(p.phone),
                                            "accept_terms": True})
    assert resp.status_code == 201, resp.body
    assert post(env, "/v1/auth/login", {"principal": STANDARD_EXAMPLE, "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("value, problem", BAD)
def test_registration_refuses(env, value, problem):
    p = factories.person(id_number=VALID)
    factories.account(p)
    request_code(env, "register", phone=p.phone)
    resp = post(env, "/v1/auth/register", {"name": p.name, "id_number": value, "phone": p.phone, "password": PASSWORD,
                                            "sms_code": last_code(p.phone), "accept_terms": True})
    assert _field_problem(resp) == problem


def test_a_full_width_digit_creates_no_second_person_or_account_through_a_unit(env):
    factories.unit(unit_no="U1001")
    login = factories.login("U1001", auth.UNIT)
    p = factories.person(id_number=VALID, name="李四")
    factories.account(p, unit_no="U0002", status="sealed")
    resp = env.http.post("/v1/units/me/employees", headers=login.with_headers(**{"Idempotency-Key": "e1"}),
                         body=json.dumps({"name": "李四", "id_number": FULL_WIDTH, "phone": factories.new_phone(),
                                          "base": "6000.00"}))
    assert _field_problem(resp) == NON_ASCII_ID
    assert Person.count() == 1 and Account.count() == 1


@pytest.mark.parametrize("value, problem", BAD)
def test_a_units_employee_registration_refuses(env, value, problem):
    factories.unit(unit_no="U1001")
    login = factories.login("U1001", auth.UNIT)
    resp = env.http.post("/v1/units/me/employees", headers=login.with_headers(**{"Idempotency-Key": "e1"}),
                         body=json.dumps({"name": "李四", "id_number": value, "phone": factories.new_phone(),
                                          "base": "6000.00"}))
    assert _field_problem(resp) == problem
    assert Person.count() == 0


@pytest.mark.parametrize("value, problem", BAD)
def test_the_flexible_opening_refuses(env, value, problem):
    resp = env.http.post("/v1/flexible/applications", headers={"Content-Type": "application/json",
                                                                "Idempotency-Key": "o1"},
                         body=json.dumps({"name": "李四", "id_number": value, "phone": "13912345678",
                                          "sms_code": "123456", "id_front_upload": "u1", "id_back_upload": "u2",
                                          "branch_id": "B01", "date": "2026-07-16", "slot": "10:00-11:00"}))
    assert _field_problem(resp) == problem


@pytest.mark.parametrize("value, problem", BAD)
def test_a_developers_loan_application_refuses(env, value, problem):
    factories.developer(developer_no="D3001")
    login = factories.login("D3001", auth.DEVELOPER)
    resp = env.http.post("/v1/developers/me/loan-applications",
                         headers=login.with_headers(**{"Idempotency-Key": "l1"}),
                         body=json.dumps({"buyer": {"name": "赵买房", "id_number": value, "phone": "13912345678"},
                                          "project_no": "P1", "building_no": "3", "house_no": "1502",
                                          "price": "1000000.00", "principal": "600000.00", "term_months": 360,
                                          "method": "equal_installment", "first_home": True, "bank": "中国建设银行",
                                          "repay_account": "6222020200112233446"}))
    assert _field_problem(resp) == problem


def test_import_reports_each_bad_number_by_line_and_writes_none_of_them(aws, clock_file):
    clock_file(TODAY)
    lines = [json.dumps({"type": "person", "id_number": n, "name": "测试", "phone": f"1380000{i:04d}"},
                        ensure_ascii=False)
             for i, n in enumerate([STANDARD_EXAMPLE, FULL_WIDTH, WRONG_CHECK, FUTURE_BIRTH, VALID], start=1)]
    report = importer.run(lines)
    assert [b.line_no for b in report.bad] == [2, 3, 4]
    assert NON_ASCII_ID in report.bad[0].reason
    assert "校验位" in report.bad[1].reason and "出生日期" in report.bad[2].reason
    assert sorted(p.id_number for p in Person.scan()) == sorted([STANDARD_EXAMPLE, VALID])
