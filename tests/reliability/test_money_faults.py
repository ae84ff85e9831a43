"""Money routes under DynamoDB faults: throttling, write conflicts, and a write applied whose answer was lost.

For every money route in ``MONEY_ROUTES`` and every fault kind, the request is first run clean to count its
DynamoDB calls; then, for each call k, a fresh depositor makes the same request with call k broken
(``tests.support.faults.DynamoWatch``), and retries it with the same ``Idempotency-Key`` until it settles.
After each scenario:

* the failed attempt answered 201, a 4xx the client can act on, or 503 — never a 500;
* the retry settles to the same outcome as the clean run (201) or to a stored refusal, and a further retry
  replays it;
* balance = opening balance + the account's ledger entries; each month is credited once, each withdrawal
  paid once (no double posting);
* the bank agrees with the ledger: what the bank took from (or paid to) the card, net of refunds and
  reversals, is what the ledger moved;
* nothing is half-written: no business record is left ``submitted``, and a ``done``/``paid`` record has its
  ledger entries.

Adding a money route is one ``MoneyRoute`` entry: how to set up a fresh owner and what to send.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from chalicelib import clock, policy
from chalicelib.adapters import bank
from chalicelib.services import remittance
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.ledger import LedgerEntry
from tests.support import factories
from tests.support.faults import FAULTS, DynamoWatch

NOW = "2026-07-15T09:00:00+08:00"
_cards = itertools.count(1)


@dataclass
class Call:
    """One prepared money request of a fresh owner."""

    login: factories.Login
    path: str
    body: dict
    account_no: str
    opening: int
    card_tail: str
    step_up: bool = False
    method: str = "POST"
    accounts: dict[str, int] = field(default_factory=dict)   # several credited accounts: account_no → opening


@dataclass
class MoneyRoute:
    route: str                                   # "POST /v1/flexible/remittances" (must be registered)
    prepare: Callable[[], Call]                  # a fresh owner, account and card; returns the request
    direction: str = "in"                        # "in": the bank debits the card; "out": the bank pays it
    faults: tuple[str, ...] = field(default=FAULTS)
    check: Callable[[Call, str], None] | None = None   # the invariants, when not the HPF account's (loans)
    ok_status: int = 201                                  # the clean run's answer
    amount_field: str = "amount"                          # what the answer says was moved


def _card_no() -> str:
    n = next(_cards)
    return f"62220202{os.getpid() % 1000:03d}{n:08d}"    # unique last four digits within a test


def _flexible(**kwargs):
    p, a, u, login = factories.depositor(kind="flexible", balance=100_000, paid_through="202606",
                                         monthly_amount=50_000, opened_on="2020-03-01", **kwargs)
    card = factories.card(p, card_no=_card_no())
    return p, a, login, card


def _remittance() -> Call:
    p, a, login, card = _flexible()
    return Call(login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id},
                a.account_no, 100_000, card.card_no[-4:])


def _back_payment() -> Call:
    p, a, login, card = _flexible()
    Account(a.account_no).update(actions=[Account.paid_through.set("202603")])
    return Call(login, "/v1/flexible/back-payments", {"end_period": "202606", "bank_card_id": card.card_id},
                a.account_no, 100_000, card.card_no[-4:])


def _exit() -> Call:
    p, a, u, login = factories.depositor(kind="flexible", status="sealed", balance=123_456, paid_through="202606",
                                         monthly_amount=50_000, opened_on="2020-03-01")
    card = factories.card(p, card_no=_card_no())
    return Call(login, "/v1/flexible/exit", {"bank_card_id": card.card_id}, a.account_no, 123_456,
                card.card_no[-4:], step_up=True)


def _rent_withdrawal() -> Call:
    p, a, u, login = factories.depositor(balance=3_000_000, paid_through="202606", opened_on="2015-07-01")
    card = factories.card(p, card_no=_card_no())
    return Call(login, "/v1/withdrawals", {"type": "rent", "amount": "2000.00", "bank_card_id": card.card_id,
                                           "details": {}}, a.account_no, 3_000_000, card.card_no[-4:], step_up=True)


LOAN_CARD_PREFIX = "6217000010"


def _borrower() -> tuple[factories.Login, str, str, str]:
    from tests.support import loan_data

    p, a, u, login = factories.depositor(balance=100_000)
    repay = f"{LOAN_CARD_PREFIX}{os.getpid() % 1000:03d}{next(_cards):06d}"
    loan = loan_data.loan(p.id_number, paid_periods=19, repay_account=repay)   # period 19 fell on 2026-06-20
    return login, loan.contract_no, a.account_no, repay


def _prepayment() -> Call:
    login, contract_no, account_no, repay = _borrower()
    return Call(login, f"/v1/me/loans/{contract_no}/prepayments", {"amount": "50000.00", "mode": "shorten_term"},
                account_no, 100_000, repay[-4:], step_up=True)


def _settlement() -> Call:
    login, contract_no, account_no, repay = _borrower()
    return Call(login, f"/v1/me/loans/{contract_no}/settlement", {}, account_no, 100_000, repay[-4:], step_up=True)


def check_loan(call: Call, direction: str) -> None:
    """A loan route: the bank took from the repayment account exactly what the loan's balance went down by
    (plus the interest a settlement pays), recorded by one repayment; the HPF account is untouched."""
    from chalicelib.store.loans import Loan, Repayment

    contract_no = call.path.split("/")[4]
    loan = Loan.get(contract_no, consistent_read=True)
    extras = [r for r in Repayment.query(contract_no) if r.source in ("prepayment", "settlement")]
    assert len(extras) <= 1, [(r.period_no, r.source) for r in extras]
    assert _bank_net(call.card_tail) == sum(int(r.amount) for r in extras), (_bank_net(call.card_tail), extras)
    for r in extras:
        assert int(r.balance_after) == int(loan.balance)
    assert int(Account.get(call.account_no, consistent_read=True).balance) == call.opening
    for record in BusinessRecord.owner_index.query(loan.id_number):
        assert record.status != "submitted", (record.serial_no, record.kind, record.status)


def _roster_payment() -> Call:
    from chalicelib.http import auth
    from chalicelib.services import roster

    n = next(_cards)
    unit_no = f"UF{os.getpid() % 1000:03d}{n:05d}"
    account = _card_no()
    factories.unit(unit_no=unit_no, bank_account=account)
    openings = {}
    for _ in range(3):
        a = factories.account(factories.person(), unit_no=unit_no, base=500_000, paid_through="202606",
                              balance=10_000)
        openings[a.account_no] = 10_000
    r = roster.create_remittance(unit_no, serial=f"HJF{unit_no}", period="202607",
                                 now=dt.datetime.fromisoformat(NOW))
    first = next(iter(openings))
    return Call(factories.login(unit_no, auth.UNIT), f"/v1/units/me/rosters/{r.roster_no}/payment", {}, first,
                10_000, account[-4:], accounts=openings)


def check_roster(call: Call, direction: str) -> None:
    """A roster payment: every employee credited the month once, balance = ledger, the unit's bank account
    debited exactly what the ledger credited, the roster and its record settled."""
    from chalicelib.store.rosters import Roster

    total = 0
    for account_no, opening in call.accounts.items():
        entries = list(LedgerEntry.flow_index.query(account_no))
        moved = sum(e.amount if e.direction == "D" else -e.amount for e in entries)
        assert int(Account.get(account_no, consistent_read=True).balance) == opening + moved
        assert [e.period for e in entries] == ["202607"], [(e.serial_no, e.period) for e in entries]
        total += moved
    assert _bank_net(call.card_tail) == total, (_bank_net(call.card_tail), total)
    roster_no = call.path.split("/")[5]
    assert Roster.get(roster_no, consistent_read=True).status == "paid"
    for record in BusinessRecord.owner_index.query(f"unit:{call.login.subject}"):
        assert record.status != "submitted", (record.serial_no, record.kind, record.status)


MONEY_ROUTES: list[MoneyRoute] = [
    MoneyRoute("POST /v1/flexible/remittances", _remittance, "in"),
    MoneyRoute("POST /v1/flexible/back-payments", _back_payment, "in"),
    MoneyRoute("POST /v1/flexible/exit", _exit, "out"),
    MoneyRoute("POST /v1/withdrawals", _rent_withdrawal, "out"),
    MoneyRoute("POST /v1/me/loans/{contract_no}/prepayments", _prepayment, "in", check=check_loan),
    MoneyRoute("POST /v1/me/loans/{contract_no}/settlement", _settlement, "in", check=check_loan),
    MoneyRoute("POST /v1/units/me/rosters/{roster_no}/payment", _roster_payment, "in", check=check_roster,
               ok_status=200, amount_field="credited_amount"),
]


# ---------------------------------------------------------------- the scenario


@pytest.fixture
def world(aws, clock_file):
    clock_file(NOW)
    remittance.reset_cache()
    bank.reset()
    remittance.open_window(clock.now())
    yield clock_file
    remittance.reset_cache()
    bank.reset()


def _send(client, call: Call, key: str):
    headers = call.login.with_headers(**{"Idempotency-Key": key})
    if call.step_up:
        headers["X-Step-Up-Token"] = call.login.step_up_token()
    return client.http.request(method=call.method, path=call.path, headers=headers, body=json.dumps(call.body))


def _settle(client, call: Call, key: str, set_clock) -> tuple[int, dict]:
    """Retry with the same key until the outcome is stored (a 409 IN_PROGRESS waits out the claim)."""
    wait = policy.get().idempotency.in_progress_seconds + 1
    now = dt.datetime.fromisoformat(NOW)
    for _ in range(4):
        resp = _send(client, call, key)
        body = resp.json_body
        assert resp.status_code != 500, body
        if resp.status_code == 409 and body["error"]["code"] == "IN_PROGRESS":
            now += dt.timedelta(seconds=wait)
            set_clock(now.isoformat())
            call.login = factories.login(call.login.subject, call.login.role)   # a session of that moment
            continue
        if resp.status_code == 503:
            continue
        return resp.status_code, body
    raise AssertionError(f"{call.path} never settled: {resp.status_code} {body}")


def _bank_net(card_tail: str) -> int:
    """Money the fund got from the card (debits) minus what it paid to the card (payouts), per the bank."""
    net = 0
    for line in bank.gateway().read():
        if line["card_tail"] == card_tail and line["ok"]:
            net += line["amount"] if line["op"] == "debit" else -line["amount"]
    return net


def check_invariants(call: Call, direction: str) -> None:
    acct = Account.get(call.account_no, consistent_read=True)
    entries = list(LedgerEntry.flow_index.query(call.account_no))
    moved = sum(e.amount if e.direction == "D" else -e.amount for e in entries)
    # balance = fold of the ledger, and the money went the route's way
    assert int(acct.balance) == call.opening + moved, (acct.balance, call.opening, moved)
    assert (moved >= 0) if direction == "in" else (moved <= 0), (direction, moved)
    # each month credited once; each withdrawal's business paid out at most once (reversals put it back)
    months = Counter(e.period for e in entries if e.direction == "D" and e.kind in ("remit", "backpay"))
    assert all(n == 1 for n in months.values()), months
    outs = Counter(e.business_serial for e in entries if e.direction == "W")
    assert all(n == 1 for n in outs.values()), outs
    # the bank agrees with the ledger (refunds and reversals included); interest (销户结息 paid with a closing) is the
    # fund's money, not the card's, so it is the one movement the bank does not see come in
    from_card = moved - sum(e.amount for e in entries if e.kind == "interest")
    assert _bank_net(call.card_tail) == from_card, (_bank_net(call.card_tail), from_card)
    # nothing half-written: every business record settled, every done/paid record has its entries
    owner = acct.id_number
    posted = {e.business_serial for e in entries}
    for record in BusinessRecord.owner_index.query(owner):
        assert record.status != "submitted", (record.serial_no, record.kind, record.status)
        if record.status in ("done", "paid") and record.amount:
            assert record.serial_no in posted, record.serial_no


def _scenario(client, route: MoneyRoute, fault: str | None, at: int | None, set_clock, key: str):
    set_clock(NOW)
    call = route.prepare()
    with DynamoWatch(fault=fault, at=at) as watch:
        first = _send(client, call, key)
    assert first.status_code != 500, (route.route, fault, at, watch.injected, first.json_body)
    assert first.status_code in (route.ok_status, 503) or 400 <= first.status_code < 500, first.status_code
    if first.status_code == 503:
        assert first.headers.get("Retry-After") and first.json_body["error"]["code"] == "SERVICE_UNAVAILABLE"
    status, body = _settle(client, call, key, set_clock)
    again = _send(client, call, key)
    assert (again.status_code, again.json_body) == (status, body), "the settled outcome is not final"
    (route.check or check_invariants)(call, route.direction)
    return watch, first.status_code, status, body


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("route", MONEY_ROUTES, ids=lambda r: r.route)
def test_a_broken_dynamodb_call_never_half_writes_or_double_posts(client, world, route, fault):
    from chalicelib.http.api import REGISTRY

    assert any(f"{r.method} {r.path}" == route.route for r in REGISTRY), f"{route.route} is not a route"
    if fault not in route.faults:
        pytest.skip(f"{fault} does not apply to {route.route}")
    # GIVEN the request's clean run (the second: in-process caches warm): its outcome and its DynamoDB calls
    _scenario(client, route, None, None, world, key="warm")
    clean, _, status, clean_body = _scenario(client, route, None, None, world, key="clean")
    assert status == route.ok_status, clean_body
    targets = clean.targets(fault)
    assert targets
    outcomes = Counter()
    for k in targets:
        # WHEN call k fails that way, and the client retries with the same key
        watch, first, settled, body = _scenario(client, route, fault, k, world, key=f"{fault}-{k[0]}-{k[1]}")
        assert watch.injected == k[0], (k, watch.calls)
        outcomes[(k[0], first)] += 1
        # THEN the money moved once, as in the clean run (a transient fault is never a final refusal)
        assert settled == route.ok_status, (route.route, fault, k, body)
        assert body[route.amount_field] == clean_body[route.amount_field]
    assert sum(outcomes.values()) == len(targets)
    assert any(first != route.ok_status for _, first in outcomes), "no fault reached the client"
