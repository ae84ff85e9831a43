"""Withdrawals racing a remittance and each other on one account, on AWS's DynamoDB Local (real transactions):
the ledger stays consistent, the twelve-month rule holds under the race, and the bank agrees with the ledger."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from chalicelib import clock, errors
from chalicelib.adapters import bank
from chalicelib.services import remittance, withdrawals
from chalicelib.store.accounts import Account
from chalicelib.store.ledger import LedgerEntry
from tests.support import factories

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=clock.CHINA)


@pytest.fixture
def flex(ddb_local):
    bank.reset()
    remittance.reset_cache()
    p = factories.person()
    a = factories.account(p, kind="flexible", balance=100_000, paid_through="202606", monthly_amount=50_000,
                          opened_on="2015-07-01")
    card = factories.card(p)
    remittance.open_window(NOW)
    yield p, a, card
    bank.reset()
    remittance.reset_cache()


@pytest.mark.ddblocal
def test_a_remittance_and_three_withdrawals_at_once_keep_the_ledger_consistent(flex):
    p, a, card = flex
    outcomes: dict[str, str] = {}
    lock = threading.Lock()
    start = threading.Barrier(4)

    def run(name, call):
        start.wait()
        try:
            call()
            result = "ok"
        except errors.ApiError as exc:
            result = exc.code
        with lock:
            outcomes[name] = result

    def withdraw(kind, amount, serial):
        return lambda: withdrawals.apply(id_number=p.id_number, kind=kind, amount=amount, card_id=card.card_id,
                                         details={}, serial=serial, now=NOW, actor="t")

    calls = {
        "remit": lambda: remittance.remit(id_number=p.id_number, period="202607", card_id=card.card_id,
                                          serial="HJ-RACE", now=NOW, actor="t"),
        "rent-a": withdraw("rent", 50_000, "TQ-RENT-A"),
        "rent-b": withdraw("rent", 50_000, "TQ-RENT-B"),
        "fee": withdraw("property_fee", 30_000, "TQ-FEE"),
    }
    threads = [threading.Thread(target=run, args=(n, c)) for n, c in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # exactly one of the two rent withdrawals got through the twelve-month rule
    assert outcomes["remit"] == "ok" and outcomes["fee"] == "ok", outcomes
    assert sorted([outcomes["rent-a"], outcomes["rent-b"]]) == ["NOT_ELIGIBLE", "ok"], outcomes
    entries = list(LedgerEntry.flow_index.query(a.account_no))
    assert sorted(e.kind for e in entries) == ["remit", "withdrawal", "withdrawal"]
    fresh = Account.get(a.account_no, consistent_read=True)
    assert int(fresh.balance) == 100_000 + sum(e.amount if e.direction == "D" else -e.amount for e in entries) \
        == 100_000 + 50_000 - 50_000 - 30_000
    # every entry's balances chain: one after another, none lost
    chain = sorted((int(e.balance_before), int(e.balance_after)) for e in entries)
    assert all(int(e.balance_after) >= 0 for e in entries)
    assert sum(after - before for before, after in chain) == int(fresh.balance) - 100_000
    ops = [x for x in bank.gateway().read() if x["ok"]]
    paid_out = sum(x["amount"] for x in ops if x["op"] == "payout")
    assert paid_out == sum(e.amount for e in entries if e.kind == "withdrawal")
    assert sum(x["amount"] for x in ops if x["op"] == "debit") == 50_000


@pytest.mark.ddblocal
def test_a_withdrawal_of_the_whole_balance_racing_a_remittance_never_overdraws(flex):
    p, a, card = flex
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def go(call):
        start.wait()
        try:
            call()
            outcomes.append("ok")
        except errors.ApiError as exc:
            outcomes.append(exc.code)

    threads = [
        threading.Thread(target=go, args=(lambda: withdrawals.apply(
            id_number=p.id_number, kind="rent", amount=None, card_id=card.card_id, details={}, serial="TQ-ALL",
            now=NOW, actor="t"),)),
        threading.Thread(target=go, args=(lambda: remittance.remit(
            id_number=p.id_number, period="202607", card_id=card.card_id, serial="HJ-ALL", now=NOW, actor="t"),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["ok", "ok"]
    entries = list(LedgerEntry.flow_index.query(a.account_no))
    fresh = Account.get(a.account_no, consistent_read=True)
    assert int(fresh.balance) == 100_000 + sum(e.amount if e.direction == "D" else -e.amount for e in entries)
    assert int(fresh.balance) >= 0 and all(int(e.balance_after) >= 0 for e in entries)
