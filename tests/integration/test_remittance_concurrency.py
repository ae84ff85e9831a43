"""Concurrent payments of the same month, on AWS's DynamoDB Local: one is credited, the others are
refunded, and the bank agrees with the ledger."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from chalicelib import clock, errors
from chalicelib.adapters import bank
from chalicelib.services import remittance
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.ledger import LedgerEntry
from tests.support import factories

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=clock.CHINA)


@pytest.fixture
def flex(ddb_local):
    bank.reset()
    remittance.reset_cache()
    p = factories.person()
    a = factories.account(p, kind="flexible", balance=0, paid_through="202606", monthly_amount=50_000)
    card = factories.card(p)
    remittance.open_window(NOW)
    yield p, a, card
    bank.reset()
    remittance.reset_cache()


@pytest.mark.ddblocal
def test_six_concurrent_remittances_of_one_month_credit_it_once(flex):
    p, a, card = flex
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def pay(i: int) -> None:
        start.wait()
        try:
            remittance.remit(id_number=p.id_number, period="202607", card_id=card.card_id, serial=f"HJ-C{i}",
                             now=NOW, actor="t")
            result = "ok"
        except errors.ApiError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    entries = list(LedgerEntry.flow_index.query(a.account_no))
    assert outcomes.count("ok") == len(entries) == 1, outcomes
    fresh = Account.get(a.account_no, consistent_read=True)
    assert (fresh.balance, fresh.paid_through) == (50_000, "202607")
    ops = [x for x in bank.gateway().read() if x["ok"]]
    debited = sum(x["amount"] for x in ops if x["op"] == "debit")
    refunded = sum(x["amount"] for x in ops if x["op"] == "payout")
    assert debited - refunded == 50_000
    statuses = sorted(r.status for r in BusinessRecord.owner_index.query(p.id_number))
    assert statuses.count("done") == 1 and all(s in ("done", "cancelled") for s in statuses)


@pytest.mark.ddblocal
def test_window_closing_between_check_and_commit_refuses_the_payment_on_a_real_transaction(flex, monkeypatch):
    p, a, card = flex
    monkeypatch.setattr(remittance, "is_open", lambda now, fresh=False: True)
    remittance._set_window("closed", NOW)
    with pytest.raises(errors.WindowClosed):
        remittance.remit(id_number=p.id_number, period="202607", card_id=card.card_id, serial="HJ-late", now=NOW,
                         actor="t")
    assert Account.get(a.account_no, consistent_read=True).balance == 0
    assert list(LedgerEntry.flow_index.query(a.account_no)) == []
