"""The ``settle-annual-interest`` job (年终结息) on moto: the formula, once a year, imported years left alone,
resuming on a later day, and a run killed part-way. (The 1,000-account run is in tests/integration.)"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from chalicelib import clock, importer, jobs
from chalicelib.services import interest, ledger
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.messages import Message
from tests.support import factories

JUNE_30 = clock.parse("2026-06-30T23:00:00+08:00")


def _interest_entries(account_no):
    return [e for e in LedgerEntry.flow_index.query(account_no) if e.kind == "interest"]


def test_interest_is_the_balance_times_the_rate_once_per_account(aws):
    p = factories.person()
    demo_like = factories.account(p, balance=3_863_040)        # 38630.40 × 1.50% = 579.46 (the center's records)
    tiny = factories.account(factories.person(), balance=100)   # 1.00 × 1.50% = 0.015 → 0.02 (HALF_UP)
    sealed = factories.account(factories.person(), status="sealed", balance=1_000_000)
    empty = factories.account(factories.person(), balance=0)
    closed = factories.account(factories.person(), status="closed", balance=0)
    summary = jobs.run("settle-annual-interest", JUNE_30)
    assert summary["year"] == 2026 and summary["posted"] == 3 and summary["rate"] == "1.50"
    [e] = _interest_entries(demo_like.account_no)
    assert (e.serial_no, e.amount, e.date, e.period) == (f"INT2026{demo_like.account_no}", 57_946, "2026-06-30",
                                                         "202606")
    assert [x.amount for x in _interest_entries(tiny.account_no)] == [2]
    assert [x.amount for x in _interest_entries(sealed.account_no)] == [15_000]
    assert _interest_entries(empty.account_no) == [] == _interest_entries(closed.account_no)
    assert int(Account.get(demo_like.account_no).balance) == 3_863_040 + 57_946
    [msg] = Message.query(p.id_number)
    assert msg.title == "年度结息" and "579.46" in msg.body and "39209.86" in msg.body
    again = jobs.run("settle-annual-interest", JUNE_30)
    assert again["posted"] == 0 and len(_interest_entries(demo_like.account_no)) == 1
    assert StateItem.get(*interest.progress_key(2026)).status == "done"


def test_a_year_the_centers_records_already_settled_is_left_alone(aws):
    # the center's records arrive through the importer (a raw LedgerEntry write, as this test used before, is no
    # way records reach the store): its interest record dated 30 June marks the year settled on the account
    a = factories.account(factories.person(), balance=3_920_986)
    record = {"type": "account", "account_no": a.account_no, "id_number": a.id_number, "kind": "employee",
              "unit_no": "U0001", "status": "normal", "base": "5000.00", "monthly_amount": "1000.00",
              "balance": "39209.86", "paid_through": "202606", "opened_on": "2015-07-01"}
    line = {"type": "deposit", "serial_no": "I0012026", "account_no": a.account_no, "date": "2026-06-30",
            "period": "202606", "kind": "interest", "amount": "579.46", "balance_after": "39209.86"}
    assert importer.run([json.dumps(record), json.dumps(line)]).bad == []
    jobs.run("settle-annual-interest", JUNE_30)
    assert [e.serial_no for e in _interest_entries(a.account_no)] == ["I0012026"]


def test_a_run_resumed_on_a_later_day_uses_the_balance_of_the_settlement_day(aws):
    a = factories.account(factories.person(), balance=1_000_000)
    july = clock.parse("2026-07-02T09:00:00+08:00")
    ledger.post([ledger.Posting(a.account_no, "REMIT-JULY", "D", 200_000, "remit", period="202607")], now=july)
    jobs.run("settle-annual-interest", july)
    [e] = _interest_entries(a.account_no)
    assert e.amount == 15_000 and e.serial_no == f"INT2026{a.account_no}"      # on 10000.00, not 12000.00


@pytest.mark.parametrize("today, day", [("2026-06-29", "2025-06-30"), ("2026-06-30", "2026-06-30"),
                                        ("2027-01-15", "2026-06-30")])
def test_the_settlement_day_is_the_latest_30_june(today, day):
    assert interest.settlement_day(dt.date.fromisoformat(today)) == dt.date.fromisoformat(day)


def test_interest_is_rounded_half_up_to_the_fen():
    assert interest.interest_on(100, Decimal("1.50")) == 2
    assert interest.interest_on(99, Decimal("1.50")) == 1            # 1.485 → 1
    assert interest.interest_on(0, Decimal("1.50")) == 0


def test_a_run_killed_part_way_resumes_without_posting_twice(aws, monkeypatch):
    monkeypatch.setattr(interest, "PAGE", 3)
    monkeypatch.setattr(interest, "BATCH", 2)
    accounts = [factories.account(factories.person(), balance=100_000 * (i + 1)) for i in range(10)]
    real = ledger.post
    calls = []

    def dies_on_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("Lambda timed out")
        return real(*args, **kwargs)

    monkeypatch.setattr(interest.ledger, "post", dies_on_the_fourth)
    with pytest.raises(RuntimeError):
        jobs.run("settle-annual-interest", JUNE_30)
    progress = StateItem.get(*interest.progress_key(2026))
    assert progress.status == "running" and progress.value is not None
    done_before = sum(len(_interest_entries(a.account_no)) for a in accounts)
    assert 0 < done_before < 10
    monkeypatch.setattr(interest.ledger, "post", real)
    jobs.run("settle-annual-interest", JUNE_30)
    for i, a in enumerate(accounts):
        assert [e.amount for e in _interest_entries(a.account_no)] == [1_500 * (i + 1)]
