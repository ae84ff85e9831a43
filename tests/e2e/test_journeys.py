"""End to end: `make run`'s own script, a center records file, and citizens, a unit and an operator over HTTP.

The server is ``scripts/run-local.sh`` as shipped (``conftest.product``); the center's tasks go through the
``gjj`` command line (import, operators, unit certificates, scheduled jobs); everything a citizen does is an HTTP
request, with the SMS codes read from the local SMS file and "now" pinned by writing the local clock file.

The people's ID numbers come from outside the code under test:

* ``11010519491231002X``: the example printed in GB 11643-1999 itself (北京市朝阳区, born 1949-12-31, female);
* ``360426199101010071``: python-stdnum's own doctest for ``stdnum.cn.ric`` (``>>> validate('360426199101010071')``);
  ``412723199010050012``, valid in its tests/test_cn_ric.doctest, and ``36042619910102009X``, which that doctest
  shows refused with ``InvalidChecksum``;
* the rest are computed here by :func:`gb11643`, written in this file from the standard's text: weights
  7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over the first 17 digits, the sum mod 11 indexes "10X98765432".

Expected figures are from the records file written here, the city policy's text (chalicelib/policies/taiyuan.yaml:
flexible monthly amount as imported, the remittance window days 1-25 08:00-17:00, unit shares "rounded to whole
yuan, half up"), or sums computed in the test.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import threading
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from tests.support import shipped
from tests.support.shipped import luhn

pytestmark = [pytest.mark.ddblocal, pytest.mark.xdist_group("e2e-journeys")]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def gb11643(first17: str) -> str:
    """GB 11643-1999 check character, written from the standard (independent of chalicelib.rules.identity)."""
    assert len(first17) == 17 and first17.isdigit()
    return first17 + CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]




STANDARD_EXAMPLE = "11010519491231002X"         # GB 11643-1999's example
STDNUM_DOCTEST = "360426199101010071"           # python-stdnum, stdnum/cn/ric.py doctest
STDNUM_VALID = "412723199010050012"             # python-stdnum, tests/test_cn_ric.doctest (河南省 商水县)
STDNUM_BAD_CHECKSUM = "36042619910102009X"      # python-stdnum, tests/test_cn_ric.doctest: InvalidChecksum
COMPUTED_C = gb11643("14010819880808351")       # 太原 万柏林区, born 1988-08-08 (male: odd order code 351)
COMPUTED_D = gb11643("14010920000229002")       # 太原, born on the leap day 2000-02-29 (female: even 002)

PASSWORD = "青山绿水E2E-2026"
NOW = "2026-11-16T10:00:00+08:00"               # a Monday, day 16, 10:00: inside days 1-25, 08:00-17:00
AFTER_WINDOW = "2026-11-26T10:00:00+08:00"      # day 26: outside the days 1-25 of the policy's window
AFTER_HOURS = "2026-11-16T17:30:00+08:00"       # the same day after 17:00

A = {"name": "韩梅梅", "id_number": STANDARD_EXAMPLE, "phone": "13912340001", "account_no": "GR91000001"}
B = {"name": "陈明远", "id_number": STDNUM_DOCTEST, "phone": "13912340002", "account_no": "GR91000002",
     "contract_no": "HT910002"}
C = {"name": "郭建国", "id_number": COMPUTED_C, "phone": "13912340003", "account_no": "GR91000003"}
D = {"name": "孙晓雪", "id_number": COMPUTED_D, "phone": "13912340004", "account_no": "GR91000004"}
E = {"name": "周建华", "id_number": STDNUM_VALID, "phone": "13912340005", "account_no": "GR91000005"}
UNIT = {"unit_no": "E2001", "name": "并州端到端测试有限公司"}
BAD_LINE = {"type": "person", "id_number": STDNUM_BAD_CHECKSUM, "name": "错号码", "phone": "13912340009"}


def test_the_independent_check_character_agrees_with_the_outside_numbers():
    # the test's own GB 11643 reproduces both numbers that came from outside the project
    assert gb11643(STANDARD_EXAMPLE[:17]) == STANDARD_EXAMPLE
    assert gb11643(STDNUM_DOCTEST[:17]) == STDNUM_DOCTEST
    assert gb11643(STDNUM_VALID[:17]) == STDNUM_VALID
    assert gb11643(STDNUM_BAD_CHECKSUM[:17]) != STDNUM_BAD_CHECKSUM
    assert luhn("7992739871") == "79927398713"       # the Luhn example of ISO/IEC 7812-1 (Wikipedia's too)


def _records() -> list[dict]:
    unit = {"type": "unit", **UNIT, "credit_code": "91140100MA0E2E0001", "ratio_unit": "12", "ratio_person": "12",
            "status": "normal", "agent_name": "郑经办", "agent_phone": "13912349999",
            "bank_name": "中国建设银行太原分行", "bank_account": "6222020200998877665"}   # rosters are debited from it
    out = [unit, {"type": "unit", "unit_no": "E2002", "name": "晋源端到端测试有限公司", "credit_code": "91140100MA0E2E0002",
                  "ratio_unit": "10", "ratio_person": "10", "status": "normal", "agent_name": "钱经办",
                  "agent_phone": "13912349998"}]
    for p in (A, B, C, D, E):
        out.append({"type": "person", "id_number": p["id_number"], "name": p["name"], "phone": p["phone"]})
    out.append(BAD_LINE)
    out.append({"type": "notice", "notice_id": "E2E-N1", "category": "news", "title": "端到端测试公告：网上缴存开通",
                "body": "灵活就业人员可在网上缴存。", "published_on": "2026-11-01"})
    out.append({"type": "notice", "notice_id": "E2E-N2", "category": "news", "title": "端到端测试公告：下月调整",
                "body": "下月起调整办理时间。", "published_on": "2026-12-20"})
    out.append({"type": "account", "account_no": E["account_no"], "id_number": E["id_number"], "kind": "employee",
                "unit_no": "E2002", "status": "normal", "base": "5000.00", "ratio_person": "10", "ratio_unit": "10",
                "monthly_amount": "1000.00", "balance": "3000.00", "paid_through": "202610",
                "opened_on": "2025-01-01"})
    out.append({"type": "account", "account_no": A["account_no"], "id_number": A["id_number"], "kind": "flexible",
                "unit_no": None, "status": "normal", "base": "0.00", "ratio_person": None, "ratio_unit": None,
                "monthly_amount": "800.00", "balance": "20000.00", "paid_through": "202608",
                "opened_on": "2020-03-01"})
    out.append({"type": "deposit", "serial_no": "E2E-D-0001", "account_no": A["account_no"], "date": "2026-08-10",
                "period": "202608", "kind": "remit", "amount": "800.00", "balance_after": "20000.00"})
    out.append({"type": "account", "account_no": B["account_no"], "id_number": B["id_number"], "kind": "employee",
                "unit_no": "E2002", "status": "normal", "base": "10000.00", "ratio_person": "10", "ratio_unit": "10",
                "monthly_amount": "2000.00", "balance": "80000.00", "paid_through": "202610",
                "opened_on": "2018-05-01"})
    out.append({"type": "loan", "contract_no": B["contract_no"], "id_number": B["id_number"],
                "bank": "中国建设银行太原分行", "repay_account": "6217000010009876543", "principal": "300000.00",
                "annual_rate": "3.10", "term_months": 240, "method": "equal_installment",
                "disbursed_on": "2024-06-20", "repayment_day": 20, "balance": "270000.00", "paid_periods": 28,
                "status": "normal"})
    for p, base in ((C, "6000.00"), (D, "4321.00")):
        monthly = str((Decimal(base) * Decimal("0.24")).quantize(Decimal("0.01")))
        out.append({"type": "account", "account_no": p["account_no"], "id_number": p["id_number"],
                    "kind": "employee", "unit_no": UNIT["unit_no"], "status": "normal", "base": base,
                    "ratio_person": "12", "ratio_unit": "12", "monthly_amount": monthly, "balance": "10000.00",
                    "paid_through": "202610", "opened_on": "2023-01-01"})
    return out


@pytest.fixture(scope="module")
def center(product, tmp_path_factory):
    """The center's part, by its command line: the records imported, a reviewer, the clock pinned, the window."""
    path = tmp_path_factory.mktemp("records") / "e2e-records.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _records()) + "\n", encoding="utf-8")
    imported = product.gjj("import", str(path), check=False)
    # every line is written except the one whose ID number fails GB 11643, which is reported by its line number
    bad_line_no = _records().index(BAD_LINE) + 1
    assert imported.returncode == 1 and "1 bad line(s)" in imported.stdout, imported.stdout + imported.stderr
    assert f"{path}:{bad_line_no}:" in imported.stderr, imported.stderr
    product.gjj("operators", "create", "--username", "e2e-reviewer", "--password-stdin", "--role", "reviewer",
                input="Reviewer-E2E-2026!\n")
    product.set_clock(NOW)
    opened = json.loads(product.gjj("jobs", "run", "open-remittance-window").stdout.strip().splitlines()[-1])
    assert opened["now"] == NOW and opened["result"]["window"], opened
    return product


# ---------------------------------------------------------------- what a citizen does, over HTTP


class Citizen:
    def __init__(self, product, person: dict):
        self.product, self.person = product, person
        self.http = requests.Session()
        self.token: str | None = None
        self.step_up_token: str | None = None

    def call(self, method: str, path: str, body=None, *, key: str | None = None, step_up: str | None = None,
             auth: bool = True, **headers: str) -> requests.Response:
        h = {"Content-Type": "application/json", **headers}
        if auth and self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if key:
            h["Idempotency-Key"] = key
        if step_up:
            h["X-Step-Up-Token"] = step_up
        return self.http.request(method, self.product.url + path, headers=h, timeout=60,
                                 data=json.dumps(body, ensure_ascii=False).encode() if body is not None else None)

    def sms_code(self, purpose: str, **body) -> str:
        """Ask the server to text a code, then read it from the local SMS file like the person reads the phone."""
        before = len(self.product.sms())
        resp = self.call("POST", "/v1/auth/sms-codes", {"purpose": purpose, **body},
                         auth=purpose in ("step_up", "sms_subscription", "change_phone"))
        assert resp.status_code == 202, resp.text
        texts = [m["text"] for m in self.product.sms()[before:] if m["phone"] == self.person["phone"]]
        assert texts, f"no SMS to {self.person['phone']} after asking for a {purpose} code"
        codes = re.findall(r"(?<!\d)\d{6}(?!\d)", texts[-1])
        assert len(codes) == 1, texts[-1]                  # CONTRACT: the only run of exactly 6 digits
        return codes[0]

    def register(self, at: str) -> None:
        """Register at the moment ``at`` (the clock file says so meanwhile; then back to NOW). People register on
        days of their own: one address may ask for only a few registration codes a day before an image captcha
        (policy security.register_codes_before_captcha), and every request here comes from 127.0.0.1."""
        self.product.set_clock(at)
        try:
            self._register()
        finally:
            self.product.set_clock(NOW)

    def _register(self) -> None:
        p = self.person
        code = self.sms_code("register", phone=p["phone"])
        resp = self.call("POST", "/v1/auth/register", {"name": p["name"], "id_number": p["id_number"],
                                                        "phone": p["phone"], "password": PASSWORD, "sms_code": code,
                                                        "accept_terms": True})
        assert resp.status_code == 201, resp.text
        assert resp.json()["user_id"]

    def login(self, principal: str) -> dict:
        resp = self.call("POST", "/v1/auth/login", {"principal": principal, "password": PASSWORD}, auth=False)
        assert resp.status_code == 200, resp.text
        tokens = resp.json()
        assert tokens["role"] == "depositor" and tokens["access_token"] and tokens["refresh_token"]
        self.token, self.step_up_token = tokens["access_token"], None      # a step-up belongs to one session
        return tokens

    def step_up(self) -> str:
        """The step-up token of this session: asked for once (an SMS code), then reused while valid (5 min), as
        the app does; a second code within 60 s would be refused (RATE_LIMITED)."""
        if self.step_up_token is None:
            resp = self.call("POST", "/v1/auth/step-up", {"sms_code": self.sms_code("step_up")})
            assert resp.status_code == 200, resp.text
            self.step_up_token = resp.json()["step_up_token"]
        return self.step_up_token

    def bind_card(self, body: str, bank: str = "中国工商银行") -> dict:
        card_no = luhn(body)
        refused = self.call("POST", "/v1/me/bank-cards", {"card_no": card_no, "bank_name": bank})
        assert refused.status_code == 401, refused.text              # a card needs the SMS step-up first
        resp = self.call("POST", "/v1/me/bank-cards", {"card_no": card_no, "bank_name": bank},
                         step_up=self.step_up())
        assert resp.status_code == 201, resp.text
        card = resp.json()
        assert card_no not in resp.text and card_no[:6] in json.dumps(card) and card_no[-4:] in json.dumps(card)
        listed = self.call("GET", "/v1/me/bank-cards").json()
        assert card["card_id"] in [c["card_id"] for c in listed["items"]]
        return card

    def account(self) -> dict:
        resp = self.call("GET", "/v1/me/account")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def deposits(self) -> list[dict]:
        resp = self.call("GET", "/v1/me/deposits?limit=100")
        assert resp.status_code == 200, resp.text
        return resp.json()["items"]


def masked_id(id_number: str) -> str:
    return id_number[:6] + "*" * 8 + id_number[-4:]


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def yuan(value: Decimal) -> str:
    return f"{value:.2f}"


def test_a_flexible_depositor_registers_logs_in_pays_back_pays_seals_and_unseals(center):
    a = Citizen(center, A)
    # registered last week with the code texted to her phone; today she logs in by ID number, then by phone
    a.register(at="2026-11-09T20:15:00+08:00")
    a.login(A["id_number"])
    a.login(A["phone"])
    me = a.call("GET", "/v1/me").json()
    assert (me["name"], me["id_number"], me["phone"]) == (A["name"], masked_id(A["id_number"]),
                                                          masked_phone(A["phone"]))
    # her account and deposits as the center's records say
    acct = a.account()
    assert (acct["account_no"], acct["kind"], acct["status"]) == (A["account_no"], "flexible", "normal")
    assert (acct["balance"], acct["monthly_amount"], acct["paid_through"]) == ("20000.00", "800.00", "202608")
    assert [(d["serial_no"], d["period"], d["amount"]) for d in a.deposits()] == [("E2E-D-0001", "202608", "800.00")]
    card = a.bind_card("622202020099887")
    # after 17:00, and after the 25th, the window is shut: she is told so in Chinese, and nothing is taken (she
    # logs in again each time: her session's age follows the clock too)
    for moment in (AFTER_HOURS, AFTER_WINDOW):
        center.set_clock(moment)
        a.login(A["phone"])
        shut = a.call("POST", "/v1/flexible/remittances", {"period": "202611", "bank_card_id": card["card_id"]},
                      key=uuid.uuid4().hex)
        assert shut.status_code == 409 and shut.json()["error"]["code"] == "WINDOW_CLOSED", shut.text
        assert re.search(r"[\u4e00-\u9fff]", shut.json()["error"]["message"])
        assert a.account()["balance"] == "20000.00"
    # inside the window: back-pay September and October (2 × 800.00 as imported), then pay November
    center.set_clock(NOW)
    a.login(A["phone"])
    view = a.call("GET", "/v1/flexible/remittance").json()
    assert view["window"]["open"] is True and view["paid_through"] == "202608"
    quote = a.call("GET", "/v1/flexible/back-payment?end_period=202610")
    assert quote.status_code == 200, quote.text
    assert (quote.json()["from_period"], quote.json()["months"], quote.json()["amount"]) == ("202609", 2, "1600.00")
    back_key = uuid.uuid4().hex
    back = a.call("POST", "/v1/flexible/back-payments", {"end_period": "202610", "bank_card_id": card["card_id"]},
                  key=back_key)
    assert back.status_code == 201, back.text
    again = a.call("POST", "/v1/flexible/back-payments", {"end_period": "202610", "bank_card_id": card["card_id"]},
                   key=back_key)
    assert (again.status_code, again.json()) == (201, back.json()), again.text     # the first answer again
    paid = a.call("POST", "/v1/flexible/remittances", {"period": "202611", "bank_card_id": card["card_id"]},
                  key=uuid.uuid4().hex)
    assert paid.status_code == 201, paid.text
    twice = a.call("POST", "/v1/flexible/remittances", {"period": "202611", "bank_card_id": card["card_id"]},
                   key=uuid.uuid4().hex)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "ALREADY_DONE", twice.text
    acct = a.account()
    assert (acct["balance"], acct["paid_through"]) == (yuan(Decimal("20000.00") + 3 * Decimal("800.00")), "202611")
    credited = {(d["kind"], d["period"]): d for d in a.deposits()}
    assert credited[("remit", "202611")]["amount"] == "800.00"
    assert credited[("remit", "202611")]["serial_no"] == paid.json()["serial_no"]
    assert sum(Decimal(d["amount"]) for d in credited.values() if d["kind"] == "backpay") == Decimal("1600.00")
    # seal (封存) and unseal (启封)
    sealed = a.call("POST", "/v1/flexible/seal", {}, key=uuid.uuid4().hex)
    assert sealed.status_code == 200 and sealed.json()["status"] == "sealed", sealed.text
    assert a.account()["status"] == "sealed"
    unsealed = a.call("POST", "/v1/flexible/unseal", {}, key=uuid.uuid4().hex)
    assert unsealed.status_code == 200 and unsealed.json()["status"] == "normal", unsealed.text
    assert a.account()["status"] == "normal"


def test_an_employee_signs_the_offset_withdraws_after_review_and_gets_a_certificate(center, tmp_path):
    b = Citizen(center, B)
    b.register(at="2026-11-09T21:30:00+08:00")
    b.login(B["phone"])
    # 短信签约: SMS on every balance change (the code goes to his phone)
    subscribed = b.call("PUT", "/v1/me/sms-subscription",
                        {"subscribed": True, "sms_code": b.sms_code("sms_subscription")})
    assert subscribed.status_code == 200, subscribed.text
    assert b.call("GET", "/v1/me").json()["sms_subscribed"] is True
    # the loan as imported; 月对冲 signed, then cancelled
    loans = b.call("GET", "/v1/me/loans").json()
    loan = next(x for x in loans if x["contract_no"] == B["contract_no"])
    assert (loan["principal"], loan["balance"], loan["offset_signed"]) == ("300000.00", "270000.00", False)
    assert "6217000010009876543" not in json.dumps(loans)
    signed = b.call("PUT", f"/v1/me/loans/{B['contract_no']}/offset", {"signed": True}, key=uuid.uuid4().hex)
    assert signed.status_code == 200 and signed.json()["offset_signed"] is True, signed.text
    assert next(x for x in b.call("GET", "/v1/me/loans").json() if x["contract_no"] == B["contract_no"])[
        "offset_signed"] is True
    cancelled = b.call("PUT", f"/v1/me/loans/{B['contract_no']}/offset", {"signed": False}, key=uuid.uuid4().hex)
    assert cancelled.status_code == 200 and cancelled.json()["offset_signed"] is False, cancelled.text
    # a purchase withdrawal (购房提取: reviewed by the center, policy `review: manual`)
    card = b.bind_card("621700002012345")
    kinds = {t["type"]: t for t in b.call("GET", "/v1/withdrawals/types").json()}
    assert kinds["purchase"]["eligible"] is True, kinds["purchase"]
    applied = b.call("POST", "/v1/withdrawals", {"type": "purchase", "amount": "30000.00",
                                                 "bank_card_id": card["card_id"],
                                                 "details": {"purchase_contract_no": "GF-2026-E2E-01"}},
                     key=uuid.uuid4().hex, step_up=b.step_up())
    assert applied.status_code == 201, applied.text
    serial = applied.json()["serial_no"]
    assert applied.json()["status"] != "paid"
    assert b.account()["balance"] == "80000.00"                    # nothing paid before the review
    # the reviewer logs in and approves it with an opinion
    op = requests.post(center.url + "/v1/admin/auth/login",
                       json={"username": "e2e-reviewer", "password": "Reviewer-E2E-2026!"}, timeout=30)
    assert op.status_code == 200, op.text
    op_headers = {"Authorization": f"Bearer {op.json()['access_token']}"}
    queue = requests.get(center.url + "/v1/admin/reviews?kind=withdrawal&limit=100", headers=op_headers, timeout=30)
    assert queue.status_code == 200, queue.text
    assert serial in [r["serial_no"] for r in queue.json()["items"]]
    assert STDNUM_DOCTEST not in queue.text
    decided = requests.post(center.url + f"/v1/admin/reviews/{serial}/decision", headers=op_headers,
                            json={"decision": "approve", "opinion": "购房合同与备案信息一致，同意提取"}, timeout=30)
    assert decided.status_code == 200, decided.text
    # a citizen token never opens the operator's queue, nor the reverse
    assert b.call("GET", "/v1/admin/reviews").status_code in (401, 403)
    # the citizen sees it paid and the balance down by exactly the amount
    seen = b.call("GET", f"/v1/withdrawals/{serial}").json()
    assert seen["status"] in ("paid", "approved", "done"), seen
    assert b.account()["balance"] == yuan(Decimal("80000.00") - Decimal("30000.00"))
    unread = b.call("GET", "/v1/me/messages?box=unread").json()["items"]
    assert unread, "no message about the decision"
    # ... and, being subscribed, a text message once the scheduled SMS dispatch runs
    before = [m for m in center.sms() if m["phone"] == B["phone"]]
    center.gjj("jobs", "run", "dispatch-sms")
    after = [m for m in center.sms() if m["phone"] == B["phone"]]
    assert len(after) > len(before), "the decision was not texted"
    # the deposit certificate: a PDF whose code the public verification page confirms
    pdf = b.call("GET", "/v1/me/certificate", Accept="application/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"].startswith("application/pdf"), pdf.text[:200]
    assert pdf.content.startswith(b"%PDF-")
    code = pdf.headers["X-Certificate-Code"]
    from pypdf import PdfReader

    (tmp_path / "certificate.pdf").write_bytes(pdf.content)
    text = "".join(page.extract_text() or "" for page in PdfReader(tmp_path / "certificate.pdf").pages)
    assert re.sub(r"[\s-]", "", code) in re.sub(r"[\s-]", "", text), "the code is not printed on the certificate"
    verified = requests.get(center.url + f"/v1/certificates/{code}", timeout=30)
    assert verified.status_code == 200, verified.text
    v = verified.json()
    assert (v["name"][0], v["account_no"], v["balance"]) == (B["name"][0], B["account_no"], "50000.00")
    assert B["name"] not in verified.text and STDNUM_DOCTEST not in verified.text
    assert requests.get(center.url + "/v1/certificates/ABCD-EFGH-JKMN-PQRS", timeout=30).status_code == 404


def test_a_unit_logs_in_with_its_certificate_and_pays_the_roster_its_employees_then_see(center, tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    center.set_clock(NOW)
    # the center issues the unit's certificate with its command line
    center.gjj("units", "certificate", "--unit-no", UNIT["unit_no"], "--out", str(tmp_path))
    cert_pem = (tmp_path / f"unit-{UNIT['unit_no']}.cert.pem").read_text()
    key = serialization.load_pem_private_key((tmp_path / f"unit-{UNIT['unit_no']}.key.pem").read_bytes(), None)
    # the unit's agent signs the server's challenge (ECDSA P-256, SHA-256) and logs in
    http = requests.Session()
    challenge = http.post(center.url + "/v1/units/auth/challenge", json={"unit_no": UNIT["unit_no"]}, timeout=30)
    assert challenge.status_code == 200, challenge.text
    value = challenge.json()["challenge"]
    signature = base64.b64encode(key.sign(value.encode(), ec.ECDSA(hashes.SHA256()))).decode()
    wrong = base64.b64encode(key.sign(b"something else", ec.ECDSA(hashes.SHA256()))).decode()
    refused = http.post(center.url + "/v1/units/auth/login", json={
        "unit_no": UNIT["unit_no"], "certificate_pem": cert_pem, "signature_base64": wrong, "challenge": value},
        timeout=30)
    assert refused.status_code == 401, refused.text
    challenge = http.post(center.url + "/v1/units/auth/challenge", json={"unit_no": UNIT["unit_no"]}, timeout=30)
    value = challenge.json()["challenge"]
    signature = base64.b64encode(key.sign(value.encode(), ec.ECDSA(hashes.SHA256()))).decode()
    login = http.post(center.url + "/v1/units/auth/login", json={
        "unit_no": UNIT["unit_no"], "certificate_pem": cert_pem, "signature_base64": signature, "challenge": value},
        timeout=30)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}", "Content-Type": "application/json"}
    info = http.get(center.url + "/v1/units/me", headers=headers, timeout=30).json()
    assert info["name"] == UNIT["name"]
    # November's roster: each share is base × 12 %, rounded to whole yuan half up (policy share_rounding)
    share = {p["account_no"]: (Decimal(base) * Decimal("0.12")).quantize(Decimal("1"), ROUND_HALF_UP)
             for p, base in ((C, "6000.00"), (D, "4321.00"))}
    assert share == {C["account_no"]: Decimal("720"), D["account_no"]: Decimal("519")}     # 518.52 → 519
    roster = http.post(center.url + "/v1/units/me/rosters", json={"period": "202611"},
                       headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, timeout=30)
    assert roster.status_code == 201, roster.text
    r = roster.json()
    assert (r["period"], r["employees"], r["status"]) == ("202611", 2, "ready")
    unit_total = sum(share.values())
    assert (r["unit_total"], r["person_total"], r["total"]) == (yuan(unit_total), yuan(unit_total),
                                                                yuan(2 * unit_total))
    pay_key = uuid.uuid4().hex
    paid = http.post(center.url + f"/v1/units/me/rosters/{r['roster_no']}/payment", json={},   # registered account
                     headers={**headers, "Idempotency-Key": pay_key}, timeout=60)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["credited"], paid.json()["credited_amount"]) == \
        ("paid", 2, yuan(2 * unit_total))
    again = http.post(center.url + f"/v1/units/me/rosters/{r['roster_no']}/payment", json={},
                      headers={**headers, "Idempotency-Key": pay_key}, timeout=60)
    assert again.json() == paid.json()
    # the unit's token is no depositor's
    assert http.get(center.url + "/v1/me/account", headers=headers, timeout=30).status_code in (401, 403)
    # each employee (ID numbers computed by the test's own GB 11643) registers and sees November credited once
    for person in (C, D):
        citizen = Citizen(center, person)
        citizen.register(at="2026-11-10T19:00:00+08:00")
        citizen.login(person["id_number"])
        acct = citizen.account()
        assert acct["paid_through"] == "202611"
        assert acct["balance"] == yuan(Decimal("10000.00") + 2 * share[person["account_no"]])
        novembers = [d for d in citizen.deposits() if d["period"] == "202611"]
        assert [d["amount"] for d in novembers] == [yuan(2 * share[person["account_no"]])]


def test_anyone_reads_the_news_the_center_imported_once_its_day_has_come(center):
    center.set_clock(NOW)
    resp = requests.get(center.url + "/v1/notices?category=news&limit=100", timeout=30)
    assert resp.status_code == 200, resp.text
    ids = [n["notice_id"] for n in resp.json()["items"]]
    assert "E2E-N1" in ids                      # published 2026-11-01, before NOW
    assert "E2E-N2" not in ids                  # dated 2026-12-20: not yet
    one = requests.get(center.url + "/v1/notices/E2E-N1", timeout=30)
    assert one.status_code == 200 and one.json()["title"] == "端到端测试公告：网上缴存开通", one.text


def test_registration_refuses_a_bad_check_character_and_a_name_the_records_do_not_have(center):
    e = Citizen(center, E)
    center.set_clock("2026-11-11T09:00:00+08:00")
    # python-stdnum's InvalidChecksum example: a 400 on the ID number field, in Chinese, before any SMS is needed
    bad = e.call("POST", "/v1/auth/register", {"name": E["name"], "id_number": STDNUM_BAD_CHECKSUM,
                                                "phone": E["phone"], "password": PASSWORD, "sms_code": "123456",
                                                "accept_terms": True})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_FAILED", bad.text
    assert "id_number" in bad.json()["error"]["details"]["fields"]
    assert re.search(r"[\u4e00-\u9fff]", bad.json()["error"]["details"]["fields"]["id_number"])
    # the records say 周建华: another name is told to have the records checked at a branch (422 NOT_ELIGIBLE)
    wrong = e.call("POST", "/v1/auth/register", {"name": "周建国", "id_number": E["id_number"], "phone": E["phone"],
                                                  "password": PASSWORD, "sms_code": e.sms_code("register",
                                                                                               phone=E["phone"]),
                                                  "accept_terms": True})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "NOT_ELIGIBLE", wrong.text
    assert "网点" in wrong.json()["error"]["message"]
    # a minute later (a new code may be sent after 60 s) the right name registers and logs in
    e.register(at="2026-11-11T09:01:05+08:00")
    e.login(E["id_number"])
    assert (e.account()["account_no"], e.account()["balance"]) == (E["account_no"], "3000.00")


# ---------------------------------------------------------------- the server keeps serving while files change


def test_writing_the_clock_and_sms_files_while_requests_run_restarts_nothing(center):
    """The old `make run` (chalice local with autoreload) restarted on any file change in the project, data
    included, and reset the connections in flight. Here 20 clients keep requesting while the clock file is
    rewritten, SMS lines are appended, DynamoDB Local writes (a captcha a request), and a file is
    written and removed under the project's own ``.local/`` (where `make run` keeps its data): ``shipped.Churn``."""
    center.set_clock(NOW)
    pid = center.api_pid()
    assert pid is not None
    stop = time.monotonic() + 6
    errors: list[str] = []
    counts = {"ok": 0}
    lock = threading.Lock()

    def client(i: int) -> None:
        s = requests.Session()
        while time.monotonic() < stop:
            if i % 4 == 0:     # a DynamoDB Local write through the server: a new image captcha
                path, body, ok, method = "/v1/auth/captcha", None, (200,), "GET"
            else:
                path, body, ok = ("/v1/rates", "/v1/branches", "/v1/notices?category=news")[i % 3], \
                    None, (200,)
                method = "GET"
            try:
                resp = s.request(method, center.url + path, json=body, timeout=30)
                status = resp.status_code
            except requests.RequestException as exc:
                status = f"{type(exc).__name__}: {exc}"
            with lock:
                if status in ok:
                    counts["ok"] += 1
                else:
                    errors.append(f"{method} {path}: {status}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    with shipped.Churn(center) as churn:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert churn.writes >= 10
    assert errors == [], errors[:10]
    assert counts["ok"] >= 100
    assert center.api_pid() == pid, "the server process was replaced"
    assert "Restarting" not in center.log_path.read_text(errors="replace")


# ---------------------------------------------------------------- the next day


def test_a_second_run_finds_yesterdays_data(center):
    """Ctrl-C, then `make run` again on the same data directory: the registration and payments are still there,
    and the demo records are not imported over them. (Last in this module: it stops the module's server.)"""
    center.set_clock(NOW)
    h = Citizen(center, {"name": "黄强", "id_number": "140106198308010856", "phone": "13800000008"})  # demo record
    h.register(at="2026-11-12T08:30:00+08:00")
    h.login("13800000008")
    before = h.account()
    center.stop(signal.SIGINT)                          # what Ctrl-C sends to `make run`'s foreground group
    assert "stopped." in center.log_path.read_text(errors="replace")
    again = shipped.start(center.workdir, log_name="run-local-2.log")
    try:
        h.product = again
        h.login("140106198308010856")
        assert h.account() == before
        log = again.log_path.read_text(errors="replace")
        assert "created 0 table(s)" in log and "imported" not in log, log
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{again.logs()}") from exc
    finally:
        again.stop()
