"""The deposit certificate (缴存证明): a PDF whose text carries the facts, and a code anyone can verify."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from chalicelib.store.people import Unit
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def holder(aws, clock_file):
    clock_file(NOW)
    Unit("U0001", name="太原示例科技有限公司", credit_code="91140100MA0K000001", ratio_unit="12", ratio_person="12",
         status="normal", agent_name="王经办", agent_phone="13900000001").save()
    p = factories.person(name="段德梅")
    a = factories.account(p, balance=4688986, base=800000, monthly_amount=192000, paid_through="202606",
                          opened_on="2015-07-01", account_no="GR00000123")
    login = factories.login(factories.user(p).user_id)
    return p, a, login


def _certificate(client, login, accept="application/pdf"):
    return client.http.get("/v1/me/certificate", headers={**login.headers, "Accept": accept})


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def test_the_certificate_pdf_states_the_facts_with_the_id_number_masked(client, holder):
    p, a, login = holder
    response = _certificate(client, login)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf" and response.body.startswith(b"%PDF")
    text = _text(response.body)
    for fact in ("住房公积金缴存证明", "太原住房公积金管理中心", "段德梅", p.id_number[:6] + "********" + p.id_number[-4:],
                 "GR00000123", "太原示例科技有限公司", "正常缴存", "8000.00 元", "1920.00 元", "46889.86 元",
                 "2026年06月", "2026年7月15日", "个人 12%，单位 12%"):
        assert fact in text, fact
    assert p.id_number not in text
    code = response.headers["X-Certificate-Code"]
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code) and f"验证码：{code}" in text


def test_the_code_confirms_the_certificate_without_login(client, holder):
    p, a, login = holder
    code = _certificate(client, login).headers["X-Certificate-Code"]
    response = client.http.get(f"/v1/certificates/{code.lower()}")
    assert response.status_code == 200
    assert json.loads(response.body) == {
        "code": code, "center_name": "太原住房公积金管理中心", "name": "段**",
        "id_number": p.id_number[:6] + "********" + p.id_number[-4:], "account_no": "GR00000123",
        "kind": "employee", "status": "normal", "unit_name": "太原示例科技有限公司", "base": "8000.00",
        "monthly_amount": "1920.00", "balance": "46889.86", "paid_through": "202606", "opened_on": "2015-07-01",
        "issued_on": "2026-07-15", "valid_until": "2026-10-13"}


def test_each_certificate_gets_its_own_code(client, holder):
    p, a, login = holder
    first = _certificate(client, login).headers["X-Certificate-Code"]
    second = _certificate(client, login).headers["X-Certificate-Code"]
    assert first != second
    assert client.http.get(f"/v1/certificates/{first}").status_code == 200


@pytest.mark.parametrize("code", ["AAAA-BBBB-CCCC-DDDD", "not-a-code", "I0O0-I0O0-I0O0-I0O0"])
def test_an_unknown_code_is_404(client, holder, code):
    response = client.http.get(f"/v1/certificates/{code}")
    assert response.status_code == 404 and json.loads(response.body)["error"]["code"] == "NOT_FOUND"


def test_a_code_past_its_validity_is_404(client, holder, clock_file):
    p, a, login = holder
    code = _certificate(client, login).headers["X-Certificate-Code"]
    clock_file("2026-10-13T23:59:00+08:00")
    assert client.http.get(f"/v1/certificates/{code}").status_code == 200
    clock_file("2026-10-14T00:00:00+08:00")
    assert client.http.get(f"/v1/certificates/{code}").status_code == 404


def test_a_client_that_does_not_accept_pdf_gets_406_in_the_error_envelope(client, holder):
    p, a, login = holder
    response = _certificate(client, login, accept="application/json")
    assert response.status_code == 406
    assert json.loads(response.body)["error"]["code"] == "NOT_ACCEPTABLE"
    assert _certificate(client, login, accept="*/*").status_code == 200


def test_a_flexible_depositor_without_a_unit_gets_a_certificate_too(client, aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="flexible", balance=120000, monthly_amount=50000)
    text = _text(_certificate(client, login).body)
    assert "灵活就业人员（个人缴存）" in text and "500.00 元" in text and "1200.00 元" in text
