"""Issue 17 item 12: names carrying control, bidi-override or markup characters, which operators later read.

An attacker registers (or has a unit, a developer or the import file record) a person called e.g. ``张\u202e三``
(the override flips what follows on screen), ``<script>`` or a name with CR/LF (fake log lines). Every name field
refuses them with a 400 naming the field; ordinary names, including ones with the middle dot of transcribed names
(``买买提·艾力``), still pass.
"""

from __future__ import annotations

import json

import pytest

from chalicelib import importer
from chalicelib.http import auth
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"

BAD_NAMES = [
    "张\u202e三",          # RIGHT-TO-LEFT OVERRIDE
    "张\u202d三",          # LEFT-TO-RIGHT OVERRIDE
    "张\u2066三\u2069",    # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
    "张\u200b三",          # ZERO WIDTH SPACE
    "张三\r\n审核通过",     # CR LF
    "张\x00三",            # NUL
    "张\x1b[31m三",        # ESC (terminal colours)
    "<script>alert(1)</script>",
    "<b>张三</b>",
    "张三\"onmouseover=\"x",
    "   ",
]
GOOD_NAMES = ["张三", "欧阳娜娜", "买买提·艾力", "Anna Li"]


@pytest.fixture
def world(aws, clock_file):
    clock_file(NOW)


def _fields(resp) -> dict:
    return (resp.json_body.get("error") or {}).get("details", {}).get("fields", {}) if resp.json_body else {}


def _send(client, method, path, body, headers=None):
    hdrs = {"Content-Type": "application/json", "Idempotency-Key": "n1", **(headers or {})}
    return client.http.request(method, path, headers=hdrs, body=json.dumps(body))


def _id():
    return factories.new_id_number()


# (what is attacked, method, path, role of the caller, body builder, the name field's location)
CASES = [
    ("registration", "POST", "/v1/auth/register", None,
     lambda n: {"name": n, "id_number": _id(), "phone": "13912340001", "password": "Abcdef12", "sms_code": "123456"},
     "name"),
    ("flexible opening", "POST", "/v1/flexible/applications", None,
     lambda n: {"name": n, "id_number": _id(), "phone": "13912340002", "sms_code": "123456",
                "id_front_upload": "up1", "id_back_upload": "up2", "branch_id": "B001"}, "name"),
    ("a unit's new employee", "POST", "/v1/units/me/employees", ("U1001", auth.UNIT),
     lambda n: {"name": n, "id_number": _id(), "phone": "13912340003", "base": "5000.00"}, "name"),
    ("a unit's employee renamed", "PUT", "/v1/units/me/employees/A000000001", ("U1001", auth.UNIT),
     lambda n: {"name": n}, "name"),
    ("a unit's agent (contact) in a change request", "POST", "/v1/units/me/change-requests", ("U1001", auth.UNIT),
     lambda n: {"agent_name": n}, "agent_name"),
    ("a developer's buyer", "POST", "/v1/developers/me/loan-applications", ("D2001", auth.DEVELOPER),
     lambda n: {"buyer": {"name": n, "id_number": _id(), "phone": "13912340004"}, "project_no": "P1",
                "building_no": "B1", "house_no": "101", "price": "1000000.00", "principal": "500000.00",
                "term_months": 240, "method": "equal_installment", "bank": "中国工商银行",
                "repay_account": "6222020200112233445"}, "buyer.name"),
    ("a developer's contact", "POST", "/v1/admin/developers", ("admin1", auth.OPERATOR, "admin"),
     lambda n: {"developer_no": "D3001", "name": "示例置业有限公司", "credit_code": "91140100MA0K00000X",
                "contact_name": n, "contact_phone": "13912340005"}, "contact_name"),
]


def _headers(who):
    if who is None:
        return {}
    login = factories.login(who[0], who[1], op_role=who[2] if len(who) > 2 else None)
    return login.headers


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_name_field_refuses_control_bidi_and_markup_characters(client, world, case):
    what, method, path, who, body, field = case
    headers = _headers(who)
    for bad in BAD_NAMES:
        resp = _send(client, method, path, body(bad), headers)
        assert resp.status_code == 400, (what, bad, resp.status_code, resp.body[:300])
        assert field in _fields(resp), (what, bad, _fields(resp))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_ordinary_names_are_not_refused_as_names(client, world, case):
    what, method, path, who, body, field = case
    headers = _headers(who)
    for good in GOOD_NAMES:
        resp = _send(client, method, path, body(good), headers)
        assert field not in _fields(resp), (what, good, _fields(resp))


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_the_import_refuses_such_names_for_people_and_unit_agents(world, bad):
    person = {"type": "person", "id_number": _id(), "name": bad, "phone": "13912340006"}
    unit = {"type": "unit", "unit_no": "U9001", "name": "示例单位", "credit_code": "91140100MA0K000001",
            "ratio_unit": "12", "ratio_person": "12", "status": "normal", "agent_name": bad,
            "agent_phone": "13912340007"}
    for record, field in ((person, "name"), (unit, "agent_name")):
        with pytest.raises(ValueError, match=field):
            importer.parse_line(json.dumps(record, ensure_ascii=False))


def test_the_import_refuses_a_unit_name_with_a_tag_or_override(world):
    for bad in ("<img src=x>", "示例\u202e单位"):
        unit = {"type": "unit", "unit_no": "U9001", "name": bad, "credit_code": "91140100MA0K000001",
                "ratio_unit": "12", "ratio_person": "12", "status": "normal", "agent_name": "王经办",
                "agent_phone": "13912340007"}
        with pytest.raises(ValueError, match="name"):
            importer.parse_line(json.dumps(unit, ensure_ascii=False))
