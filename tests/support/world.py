"""A seeded world for the bench, the fuzzer and the load run, and a valid request for every route.

:func:`build` fills the configured tables (moto or DynamoDB Local, whichever the process points at) with the
demo center records, registered users with a password for the three demo depositors, a bound card each, a
unit, a developer, an admin and a reviewer (each with a live session), an open remittance window, a booked
appointment and an application waiting in the review queue, and pins the local clock to :data:`NOW`.

:func:`request_for` gives a request for any registered route, so routes added later are covered without
editing this file:

* ``EXAMPLES`` (below) holds hand-written valid requests, keyed ``"METHOD /path"``. An example is
  ``fn(world, i) -> Req``, called before each round (``i`` counts rounds), so it may set up fresh data (a new
  depositor for a payment) that is not part of the measured call.
* every other route gets a generic request: the persona whose role the route accepts (the flexible
  depositor for ``/v1/flexible/...``), path parameters from :data:`World.values` by name (``branch_id``,
  ``notice_id``, ``serial_no``...), and a body/query of the model's required fields filled by field name
  (:data:`World.values`) or, failing that, from the JSON schema (enum, example, pattern, type). Such a
  request may well be refused (a 4xx): the bench reports the status codes it saw.

To cover a new route by example: add ``EXAMPLES["POST /v1/x"] = lambda w, i: Req(...)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.http import auth
from tests.support import factories

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "center-records.jsonl"
NOW = "2026-11-16T10:00:00+08:00"          # a Monday inside the remittance window (days 1-25, 08:00-17:00)
PASSWORD = "青山绿水2026"
OPERATOR_PASSWORD = "Center-Op-2026!x"
VISIT_DAY = "2026-11-18"                    # a Wednesday, bookable from NOW
SLOTS = ("09:00-10:00", "10:00-11:00", "14:00-15:00", "15:00-16:00")
DEMO_PEOPLE = {                             # persona -> ID number (demo/center-records.jsonl)
    "depositor": "140105198503120114",      # 张伟: employee, loan HT000001
    "flexible": "140105199202140749",       # 赵敏: flexible, normal, paid through 202610
    "sealed": "140106198308010856",         # 黄强: flexible, sealed
}
_seq = itertools.count(1)


@dataclass
class Req:
    method: str
    path: str
    login: factories.Login | None = None
    body: dict | None = None
    query: dict[str, str] = field(default_factory=dict)
    step_up: bool = False
    idempotent: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def url(self) -> str:
        if not self.query:
            return self.path
        from urllib.parse import urlencode

        return f"{self.path}?{urlencode(self.query)}"

    def all_headers(self) -> dict[str, str]:
        out = {"Content-Type": "application/json"}
        if self.login is not None:
            out.update(self.login.headers)
            if self.step_up:
                out["X-Step-Up-Token"] = self.login.step_up_token()
        if self.idempotent:
            out["Idempotency-Key"] = uuid.uuid4().hex
        out.update(self.headers)
        return out


@dataclass
class World:
    now: dt.datetime
    logins: dict[str, factories.Login]      # depositor, flexible, sealed, unit, developer, admin, reviewer
    cards: dict[str, str]                   # persona -> card_id
    values: dict[str, Any]                  # field / path parameter name -> a valid value

    def login_for(self, roles: tuple[str, ...] | None, path: str = "", op_roles=None) -> factories.Login | None:
        if roles is None:
            return None
        if auth.DEPOSITOR in roles:
            return self.logins["flexible" if path.startswith("/v1/flexible/") else "depositor"]
        if auth.OPERATOR in roles:
            return self.logins["admin" if not op_roles or "admin" in op_roles else "reviewer"]
        return self.logins[roles[0]]

    def fresh_login(self, persona: str) -> factories.Login:
        """A new session of a persona (after a route revoked the old one: logout, password change)."""
        old = self.logins[persona]
        op = "admin" if persona == "admin" else "reviewer" if persona == "reviewer" else None
        self.logins[persona] = factories.login(old.subject, old.role, op_role=op)
        return self.logins[persona]


# ---------------------------------------------------------------- building it


def _set_clock(now: str) -> None:
    from chalicelib import settings

    path = settings.get().local_dir
    path.mkdir(parents=True, exist_ok=True)
    (path / "clock").write_text(now)


def _user(id_number: str, persona: str):
    from chalicelib.services import passwords
    from chalicelib.store.people import Person

    person = Person.get(id_number)
    user = factories.user(person, user_id=f"u-{persona}")
    user.update(actions=[type(user).password_hash.set(passwords.hash_password(PASSWORD))])
    return person, user


def build(now: str = NOW, *, demo: Path = DEMO) -> World:
    """Seed the configured tables (they must exist) and return the world; see the module doc."""
    from chalicelib import clock, importer
    from chalicelib.services import appointments, business, operators, remittance

    _set_clock(now)
    moment = dt.datetime.fromisoformat(now)
    report = importer.run(demo.read_text(encoding="utf-8").splitlines())
    assert not report.bad, report.bad
    logins: dict[str, factories.Login] = {}
    cards: dict[str, str] = {}
    for n, (persona, id_number) in enumerate(DEMO_PEOPLE.items()):
        person, user = _user(id_number, persona)
        logins[persona] = factories.login(user.user_id)
        cards[persona] = factories.card(person, card_no=f"62220202001122{n:05d}", card_id=f"card-{persona}").card_id
    logins["unit"] = factories.login("U1001", auth.UNIT)
    logins["developer"] = factories.login("DEV001", auth.DEVELOPER)
    for op in ("admin", "reviewer"):
        try:
            operators.create_operator(f"{op}01", OPERATOR_PASSWORD, op, now=moment)
        except Exception:  # noqa: BLE001  (already there: a second build on the same tables)
            pass
        logins[op] = factories.login(f"{op}01", auth.OPERATOR, op_role=op)
    remittance.reset_cache()
    remittance.open_window(moment)
    appt = appointments.book(appointment_id="AP-WORLD-1", id_number=DEMO_PEOPLE["depositor"], branch_id="B01",
                             day=dt.date.fromisoformat(VISIT_DAY), slot=SLOTS[0], now=moment)
    review = business.submit(business.new_record(
        serial_no="KH-WORLD-1", owner=DEMO_PEOPLE["flexible"], kind="flexible_opening", title="灵活就业开户申请",
        now=moment, review=True, amount=50_000, details={"name": "赵敏", "phone": "13800000007"}))
    values: dict[str, Any] = {
        "branch_id": "B01", "notice_id": "N001", "contract_no": "HT000001", "appointment_id": appt.appointment_id,
        "serial_no": review.serial_no, "kind": "flexible_opening", "date": VISIT_DAY, "slot": SLOTS[1],
        "period": "202611", "end_period": "202611", "bank_card_id": cards["flexible"], "category": "news",
        "principal": "1000000.00", "term_months": 360, "amount": "800.00", "prepay_amount": "100000.00",
        "purpose": "id_front", "content_type": "image/jpeg", "opinion": "材料齐全，同意", "title": "测试公告",
        "body": "测试公告正文", "unit_no": "U1001", "phone": "13800000001", "name": "张伟",
        "id_number": DEMO_PEOPLE["depositor"], "password": PASSWORD, "old_password": PASSWORD,
        "new_password": "碧水蓝天2027abc", "sms_code": "000000", "q": "示例", "decision": "approve",
    }
    assert clock.now() == moment
    return World(now=moment, logins=logins, cards=cards, values=values)


# ---------------------------------------------------------------- generic requests


def _sample(name: str, schema: dict[str, Any], defs: dict[str, Any], values: dict[str, Any]) -> Any:
    if name in values:
        return values[name]
    if "$ref" in schema:
        return _sample(name, defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, values)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _sample(name, options[0], defs, values) if options else None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs, values)
    if kind == "array":
        return [_sample(name, schema.get("items", {}), defs, values)] * max(1, schema.get("minItems", 1))
    if kind == "boolean":
        return True
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if schema.get("format") == "date":
        return VISIT_DAY
    if schema.get("pattern", "").startswith("^\\d{1,13}\\.\\d{2}"):
        return "100.00"
    return "x" * max(1, schema.get("minLength", 1))


def _object(schema: dict[str, Any], defs: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    return {name: _sample(name, props.get(name, {}), defs, values) for name in schema.get("required", [])}


def sample_model(model, values: dict[str, Any]) -> dict[str, Any]:
    """The model's required fields, filled by name from ``values`` or from the schema."""
    schema = model.model_json_schema(by_alias=True)
    return _object(schema, schema.get("$defs", {}), values)


def generic(route, world: World) -> Req:
    path = route.path
    for name in route.path_params:
        path = path.replace("{" + name + "}", str(world.values.get(name, "x1")))
    login = world.login_for(route.roles, route.path, route.op_roles)
    if login is None and route.optional_auth:
        login = world.logins["depositor"]
    query = {k: str(v) for k, v in sample_model(route.query, world.values).items()} if route.query else {}
    body = sample_model(route.body, world.values) if route.body else ({} if route.method != "GET" else None)
    return Req(route.method, path, login=login, body=body, query=query, step_up=route.step_up,
               idempotent=route.idempotent)


# ---------------------------------------------------------------- hand-written examples


def _fresh_flexible(world: World, *, status: str = "normal", paid_through: str = "202610",
                    balance: int = 1_000_000):
    p, a, u, login = factories.depositor(kind="flexible", status=status, balance=balance, paid_through=paid_through,
                                         monthly_amount=80_000, opened_on="2020-03-01")
    card = factories.card(p, card_no=f"6222020300{next(_seq):09d}")
    return p, a, login, card


def _remit(w: World, i: int) -> Req:
    p, a, login, card = _fresh_flexible(w)
    return Req("POST", "/v1/flexible/remittances", login, {"period": "202611", "bank_card_id": card.card_id},
               idempotent=True)


def _back_pay(w: World, i: int) -> Req:
    p, a, login, card = _fresh_flexible(w, paid_through="202607")
    return Req("POST", "/v1/flexible/back-payments", login, {"end_period": "202610", "bank_card_id": card.card_id},
               idempotent=True)


def _back_pay_quote(w: World, i: int) -> Req:
    p, a, login, card = _fresh_flexible(w, paid_through="202607")
    return Req("GET", "/v1/flexible/back-payment", login, query={"end_period": "202610"})


def _exit(w: World, i: int) -> Req:
    p, a, login, card = _fresh_flexible(w, status="sealed")
    return Req("POST", "/v1/flexible/exit", login, {"bank_card_id": card.card_id}, step_up=True, idempotent=True)


def _seal(w: World, i: int) -> Req:
    p, a, login, card = _fresh_flexible(w)
    return Req("POST", "/v1/flexible/seal", login, {}, idempotent=True)


def _unseal(w: World, i: int) -> Req:
    p, a, login, card = _fresh_flexible(w, status="sealed")
    return Req("POST", "/v1/flexible/unseal", login, {}, idempotent=True)


def _transfer_in(w: World, i: int) -> Req:
    p, a, u, login = factories.depositor(kind="employee", status="sealed", balance=10_000)
    return Req("POST", "/v1/flexible/transfer-in", login,
               {"branch_id": ("B01", "B02", "B03")[i % 3], "date": VISIT_DAY, "slot": SLOTS[(i // 3) % 4]},
               idempotent=True)


def _book(w: World, i: int) -> Req:
    p, a, u, login = factories.depositor()
    return Req("POST", "/v1/appointments", login,
               {"branch_id": ("B01", "B02", "B03")[i % 3], "date": "2026-11-19", "slot": SLOTS[(i // 3) % 4]},
               idempotent=True)


def _cancel(w: World, i: int) -> Req:
    from chalicelib.services import appointments

    p, a, u, login = factories.depositor()
    appt = appointments.book(appointment_id=f"AP-CANCEL-{uuid.uuid4().hex[:8]}", id_number=p.id_number,
                             branch_id=("B01", "B02", "B03")[i % 3], day=dt.date(2026, 11, 20),
                             slot=SLOTS[(i // 3) % 4], now=w.now)
    return Req("DELETE", f"/v1/appointments/{appt.appointment_id}", login)


def _decide(w: World, i: int) -> Req:
    from chalicelib.services import business

    serial = f"KH-DECIDE-{uuid.uuid4().hex[:10]}"
    business.submit(business.new_record(serial_no=serial, owner=factories.new_id_number(), kind="flexible_opening",
                                        title="灵活就业开户申请", now=w.now, review=True, amount=50_000,
                                        details={"name": "测试", "phone": factories.new_phone()}))
    return Req("POST", f"/v1/admin/reviews/{serial}/decision", w.logins["admin"],
               {"decision": "reject", "opinion": "材料不全，请补充后重新申请"})


def _login(w: World, i: int) -> Req:
    return Req("POST", "/v1/auth/login", body={"principal": "13800000001", "password": PASSWORD})


def _operator_login(w: World, i: int) -> Req:
    return Req("POST", "/v1/admin/auth/login", body={"username": "admin01", "password": OPERATOR_PASSWORD})


def _sms_code(w: World, i: int) -> Req:
    return Req("POST", "/v1/auth/sms-codes", body={"phone": factories.new_phone(), "purpose": "login"})


def _logout(w: World, i: int) -> Req:
    return Req("POST", "/v1/auth/logout", factories.login(w.logins["depositor"].subject), {})


def _refresh(w: World, i: int) -> Req:
    from chalicelib.services import sessions

    pair = sessions.start(w.logins["depositor"].subject, auth.DEPOSITOR, now=w.now)
    return Req("POST", "/v1/auth/refresh", body={"refresh_token": pair.refresh_token})


def _code(phone: str, purpose: str, now: dt.datetime, bound_to: str | None = None) -> str:
    """Have the server text a code (local outbox) and read it back, as the person would."""
    import re

    from chalicelib.adapters import sms
    from chalicelib.services import sms_codes

    sms_codes.send(phone, purpose, now=now, bound_to=bound_to)
    text = [m for m in sms.sender().read() if m["phone"] == phone][-1]["text"]
    return re.search(r"(?<!\d)\d{6}(?!\d)", text).group(0)


def _registered(w: World):
    """A fresh depositor with a password, a user and a live session."""
    from chalicelib.services import passwords

    p, a, u, login = factories.depositor()
    u.update(actions=[type(u).password_hash.set(passwords.hash_password(PASSWORD))])
    return p, u, login


def _password_change(w: World, i: int) -> Req:
    p, u, login = _registered(w)
    return Req("PUT", "/v1/me/password", login, {"old_password": PASSWORD, "new_password": "碧水蓝天2027abc"})


def _step_up(w: World, i: int) -> Req:
    p, u, login = _registered(w)
    return Req("POST", "/v1/auth/step-up", login, {"sms_code": _code(p.phone, "step_up", w.now, login.session_id)})


def _sms_login(w: World, i: int) -> Req:
    p, u, login = _registered(w)
    return Req("POST", "/v1/auth/login/sms", body={"phone": p.phone, "sms_code": _code(p.phone, "login", w.now)})


def _subscription(w: World, i: int) -> Req:
    p, u, login = _registered(w)
    code = _code(p.phone, "sms_subscription", w.now, u.user_id)
    return Req("PUT", "/v1/me/sms-subscription", login, {"subscribed": True, "sms_code": code})


def _register(w: World, i: int) -> Req:
    p = factories.person(name="李雷")
    factories.account(p)
    return Req("POST", "/v1/auth/register", body={
        "name": p.name, "id_number": p.id_number, "phone": p.phone, "password": PASSWORD,
        "sms_code": _code(p.phone, "register", w.now), "accept_terms": True})


def _loan_calc(w: World, i: int) -> Req:
    return Req("POST", "/v1/tools/loan-calculator",
               body={"principal": "1000000.00", "annual_rate": "3.10", "term_months": 360,
                     "method": "equal_installment"})


def _prepay_calc(w: World, i: int) -> Req:
    return Req("POST", "/v1/tools/prepayment-calculator",
               body={"principal": "500000.00", "annual_rate": "2.85", "term_months": 240,
                     "method": "equal_installment", "paid_periods": 24, "prepay_amount": "100000.00",
                     "mode": "shorten_term"})


def _new_notice(w: World, i: int) -> Req:
    return Req("POST", "/v1/admin/notices", w.logins["admin"],
               {"category": "news", "title": f"测试公告{i}", "body": "测试公告正文"})


def _fresh_depositor(w: World, *, balance: int = 3_000_000):
    p, a, u, login = factories.depositor(balance=balance, paid_through="202610", opened_on="2015-07-01")
    card = factories.card(p, card_no=f"6222020400{next(_seq):09d}")
    return p, a, login, card


def _withdraw(w: World, i: int) -> Req:
    p, a, login, card = _fresh_depositor(w)
    return Req("POST", "/v1/withdrawals", login, {"type": "rent", "amount": "2000.00", "bank_card_id": card.card_id,
                                                  "details": {}}, step_up=True, idempotent=True)


def _borrower(w: World):
    from tests.support import loan_data

    p, a, login, card = _fresh_depositor(w, balance=100_000)
    # 23 installments paid (the 23rd on 2026-10-20): the next falls on 2026-11-20, outside the blackout
    loan = loan_data.loan(p.id_number, paid_periods=23, repay_account=f"6217000020{next(_seq):09d}")
    return login, loan


def _prepay(w: World, i: int) -> Req:
    login, loan = _borrower(w)
    return Req("POST", f"/v1/me/loans/{loan.contract_no}/prepayments", login,
               {"amount": "50000.00", "mode": "lower_payment"}, step_up=True, idempotent=True)


def _settle(w: World, i: int) -> Req:
    login, loan = _borrower(w)
    return Req("POST", f"/v1/me/loans/{loan.contract_no}/settlement", login, {}, step_up=True, idempotent=True)


def _bind_card(w: World, i: int) -> Req:
    from stdnum import luhn

    p, a, login, card = _fresh_depositor(w)
    body = f"62220205{next(_seq):010d}"
    return Req("POST", "/v1/me/bank-cards", login, {"card_no": body + luhn.calc_check_digit(body),
                                                    "bank_name": "中国工商银行"}, step_up=True)


def _message(w: World, method: str, suffix: str) -> Req:
    from chalicelib.services.inbox import wire_id

    p, a, login, card = _fresh_depositor(w)
    msg = factories.message(p, at=w.now.isoformat())
    return Req(method, f"/v1/me/messages/{wire_id(msg.message_id)}{suffix}", login)


def _certificate(w: World, i: int) -> Req:
    return Req("GET", "/v1/me/certificate", w.logins["depositor"], headers={"Accept": "application/pdf"})


def _pay_roster(w: World, i: int) -> Req:
    from chalicelib.services import roster

    unit_no = f"UB{next(_seq):06d}"
    factories.unit(unit_no=unit_no, bank_account=f"6222020600{next(_seq):09d}")
    for _ in range(3):
        factories.account(factories.person(), unit_no=unit_no, base=500_000, paid_through="202610")
    r = roster.create_remittance(unit_no, serial=f"HJB{unit_no}", period="202611", now=w.now)
    return Req("POST", f"/v1/units/me/rosters/{r.roster_no}/payment", factories.login(unit_no, auth.UNIT), {},
               idempotent=True)


EXAMPLES: dict[str, Callable[[World, int], Req]] = {
    "POST /v1/flexible/remittances": _remit,
    "POST /v1/flexible/back-payments": _back_pay,
    "GET /v1/flexible/back-payment": _back_pay_quote,
    "POST /v1/flexible/exit": _exit,
    "POST /v1/flexible/seal": _seal,
    "POST /v1/flexible/unseal": _unseal,
    "POST /v1/flexible/transfer-in": _transfer_in,
    "POST /v1/appointments": _book,
    "DELETE /v1/appointments/{appointment_id}": _cancel,
    "POST /v1/admin/reviews/{serial_no}/decision": _decide,
    "POST /v1/auth/login": _login,
    "POST /v1/admin/auth/login": _operator_login,
    "POST /v1/auth/sms-codes": _sms_code,
    "POST /v1/auth/logout": _logout,
    "POST /v1/auth/refresh": _refresh,
    "PUT /v1/me/password": _password_change,
    "POST /v1/auth/step-up": _step_up,
    "POST /v1/auth/login/sms": _sms_login,
    "PUT /v1/me/sms-subscription": _subscription,
    "POST /v1/auth/register": _register,
    "POST /v1/tools/loan-calculator": _loan_calc,
    "POST /v1/tools/prepayment-calculator": _prepay_calc,
    "POST /v1/admin/notices": _new_notice,
    "POST /v1/withdrawals": _withdraw,
    "POST /v1/me/loans/{contract_no}/prepayments": _prepay,
    "POST /v1/me/loans/{contract_no}/settlement": _settle,
    "POST /v1/me/bank-cards": _bind_card,
    "GET /v1/me/messages/{id}": lambda w, i: _message(w, "GET", ""),
    "POST /v1/me/messages/{id}/read": lambda w, i: _message(w, "POST", "/read"),
    "DELETE /v1/me/messages/{id}": lambda w, i: _message(w, "DELETE", ""),
    "GET /v1/me/certificate": _certificate,
    "POST /v1/units/me/rosters/{roster_no}/payment": _pay_roster,
}


def request_for(route, world: World, i: int = 0) -> tuple[Req, bool]:
    """(request, by_example) for a registered route."""
    example = EXAMPLES.get(f"{route.method} {route.path}")
    if example is not None:
        return example(world, i), True
    return generic(route, world), False
