"""The ``settle-annual-interest`` job (年终结息) on moto: the formula, once a year, imported years left alone,
resuming on a later day, and a run killed part-way. (The 1,000-account run is in tests/integration.)"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import clock, importer, jobs
from chalicelib.services import interest, ledger
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.messages import Message
from tests.support import factories
from tests.unit import test_interest_rules as rules_test

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


# ---------------------------------------------------------------- day-count interest (积数, 条例 第二十一条)

def _at(day: str) -> dt.datetime:
    return clock.parse(f"{day}T10:00:00+08:00")


def test_99000_withdrawn_on_29_june_earns_for_the_days_it_stayed(aws):
    # The case. By hand: 100,000.00 carried into the year × 1.50 % = 1,500.00, less 99,000.00 × 2 days
    # (29 and 30 June) × 1.50 % / 360 = 8.25 → 1,491.75 (the old rule paid 1,000.00 × 1.50 % = 15.00)
    a = factories.account(factories.person(), balance=10_000_000)
    ledger.post([ledger.Posting(a.account_no, "W-0629", "W", 9_900_000, "withdrawal", type="rent")],
                now=_at("2026-06-29"))
    jobs.run("settle-annual-interest", JUNE_30)
    [e] = _interest_entries(a.account_no)
    assert (e.amount, e.date) == (149_175, "2026-06-30")
    assert int(Account.get(a.account_no).balance) == 100_000 + 149_175


def test_a_deposit_during_the_year_earns_from_its_day(aws):
    # 1,000.00 into an empty account on 15 March: 15 Mar → 15 Jun three months (90 days) + 15-30 June (16) = 106
    # days × 1.50 % / 360 = 4.4167 → 4.42
    a = factories.account(factories.person(), balance=0)
    ledger.post([ledger.Posting(a.account_no, "D-0315", "D", 100_000, "remit", period="202603")],
                now=_at("2026-03-15"))
    jobs.run("settle-annual-interest", JUNE_30)
    assert [e.amount for e in _interest_entries(a.account_no)] == [442]


def test_the_settlement_reads_accounts_not_the_ledger(aws, monkeypatch):
    moved = factories.account(factories.person(), balance=500_000)
    ledger.post([ledger.Posting(moved.account_no, "D-0408", "D", 100_000, "remit", period="202604")],
                now=_at("2026-04-08"))
    quiet = factories.account(factories.person(), balance=2_000_000)

    def no_query(*args, **kwargs):
        raise AssertionError("the settlement queried the ledger")

    monkeypatch.setattr(LedgerEntry.flow_index, "query", no_query)
    jobs.run("settle-annual-interest", JUNE_30)
    monkeypatch.undo()
    # 5,000.00 × 1.50 % = 75.00, plus 1,000.00 from 8 April: 8 Apr → 8 Jun two months (60) + 8-30 June (23) = 83 days
    # × 1.50 % / 360 = 3.4583 → 78.46 in all (75.00 + 3.4583 = 78.4583); 20,000.00 quiet all year × 1.50 % = 300.00
    assert [e.amount for e in _interest_entries(moved.account_no)] == [7_846]
    assert [e.amount for e in _interest_entries(quiet.account_no)] == [30_000]


def test_postings_of_the_new_year_before_the_settlement_do_not_change_the_old_year(aws):
    a = factories.account(factories.person(), balance=1_000_000)
    july = clock.parse("2026-07-02T09:00:00+08:00")
    ledger.post([ledger.Posting(a.account_no, "REMIT-JULY", "D", 200_000, "remit", period="202607")], now=july)
    jobs.run("settle-annual-interest", july)
    [e] = _interest_entries(a.account_no)
    # 10,000.00 all year × 1.50 % = 150.00 (the 2,000.00 of 2 July is next year's), dated 30 June whatever the run day
    assert (e.amount, e.date) == (15_000, "2026-06-30")
    acct = Account.get(a.account_no)
    # ... and carried into the year begun on 1 July: 上期余额 10,150.00; its 积数 10,150.00 × 360 + 2,000.00 × 359
    # (2 July → 30 June, 30/360)
    assert acct.year_openings.as_dict()["2026"]["fen"] == 1_015_000
    assert int(acct.interest_accruals.as_dict()["2026"]["jishu"]) == 1_015_000 * 360 + 200_000 * 359
    next_year = jobs.run("settle-annual-interest", clock.parse("2027-06-30T23:00:00+08:00"))
    assert next_year["year"] == 2027
    # 10,150.00 × 1.50 % = 152.25, + 2,000.00 × 359 × 1.50 % / 360 = 29.9167 → 182.1667 → 182.17
    assert sorted(e.amount for e in _interest_entries(a.account_no)) == [15_000, 18_217]


def test_an_account_closed_during_the_year_was_paid_at_closing_and_gets_nothing_on_30_june(aws):
    # the closing services (withdrawals._post, flexible.exit_withdrawal) post exactly this pair in one transaction
    a = factories.account(factories.person(), balance=1_000_000)
    closing_day = _at("2026-04-16")
    acct = Account.get(a.account_no, consistent_read=True)
    paid = interest.closing_interest(acct, "CLOSE-1", closing_day.date())
    # 10,000.00 carried, closing on 16 April: July-March nine months (270) + 1-15 April (15) = 285 days × 1.50 % /
    # 360 = 118.75 (the closing day earns nothing)
    assert (paid.amount, paid.serial_no, paid.kind) == (11_875, "CLOSE-1I", "interest")
    ledger.post([paid, ledger.Posting(a.account_no, "CLOSE-1", "W", 1_000_000 + 11_875, "withdrawal",
                                      type="retirement")], now=closing_day,
                updates={a.account_no: [Account.status.set("closed"), Account.closed_on.set("2026-04-16")]})
    closed = Account.get(a.account_no)
    assert (int(closed.balance), int(closed.interest_accruals.as_dict()["2025"]["jishu"])) == (0, 0)
    jobs.run("settle-annual-interest", JUNE_30)
    assert [e.serial_no for e in _interest_entries(a.account_no)] == ["CLOSE-1I"]


def test_an_imported_year_keeps_its_accrued_jishu(aws):
    # a center migrating in mid-year: the account's 积数 so far, or its year's records, come with the import
    given = factories.account(factories.person())
    derived = factories.account(factories.person())
    base = {"type": "account", "kind": "employee", "unit_no": "U0001", "status": "normal", "base": "5000.00",
            "monthly_amount": "1000.00", "paid_through": "202606", "opened_on": "2015-07-01"}
    lines = [
        # 积数 given: 100,000.00 carried × 360 − 99,000.00 × 2 = 35,802,000.00 yuan·days → 1,491.75
        {**base, "account_no": given.account_no, "id_number": given.id_number, "balance": "1000.00",
         "accrual": {"year_end": "2026-06-30", "jishu": "35802000.00"}},
        # 积数 derived from the year's records: 5,000.00 before 8 April, 1,000.00 deposited on 8 April (83 days),
        # 500.00 withdrawn on 31 May (from 1 June: 30 days) → 75.00 + 3.4583 − 0.625 = 77.8333 → 77.83
        {**base, "account_no": derived.account_no, "id_number": derived.id_number, "balance": "5500.00"},
        {"type": "deposit", "serial_no": "IMP-D1", "account_no": derived.account_no, "date": "2026-04-08",
         "period": "202604", "kind": "remit", "amount": "1000.00", "balance_after": "6000.00"},
        {"type": "withdrawal", "serial_no": "IMP-W1", "account_no": derived.account_no, "date": "2026-05-31",
         "withdrawal_type": "rent", "amount": "500.00", "balance_after": "5500.00"},
    ]
    assert importer.run([json.dumps(x, ensure_ascii=False) for x in lines]).bad == []
    jobs.run("settle-annual-interest", JUNE_30)
    assert [e.amount for e in _interest_entries(given.account_no)] == [149_175]
    assert [e.amount for e in _interest_entries(derived.account_no)] == [7_783]


def test_an_accrual_for_a_day_that_is_not_the_settlement_day_is_a_bad_line(aws):
    a = factories.account(factories.person())
    line = {"type": "account", "account_no": a.account_no, "id_number": a.id_number, "kind": "employee",
            "unit_no": "U0001", "status": "normal", "base": "5000.00", "monthly_amount": "1000.00",
            "balance": "1000.00", "paid_through": "202606", "opened_on": "2015-07-01",
            "accrual": {"year_end": "2026-12-31", "jishu": "1.5"}}
    [bad] = importer.run([json.dumps(line)]).bad
    assert "结息日" in bad.reason


@st.composite
def _years(draw):
    """A carried balance and dated postings (at most one a day, in order) that never go below zero."""
    carried = draw(st.integers(0, 20_000_000))
    days = sorted(draw(st.sets(st.dates(min_value=rules_test.FIRST, max_value=rules_test.LAST), max_size=8)))
    balance, postings = carried, []
    for day in days:
        delta = -draw(st.integers(1, balance)) if balance and draw(st.booleans()) else draw(st.integers(1, 3_000_000))
        balance += delta
        postings.append((day, delta))
    return carried, postings


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(year=_years())
def test_posted_through_the_ledger_the_year_earns_the_day_by_day_sum(aws, year):
    """Random years posted through the ledger, settled by the job, against the day-by-day walk written in
    tests/unit/test_interest_rules.py (every day's closing balance × its weight, × 1.50 % / 360, half up)."""
    carried, postings = year
    a = factories.account(factories.person(), balance=carried)
    for i, (day, delta) in enumerate(postings):
        ledger.post([ledger.Posting(a.account_no, f"P{a.account_no}-{i}", "D" if delta > 0 else "W", abs(delta),
                                    "remit" if delta > 0 else "withdrawal", period=day.strftime("%Y%m"))],
                    now=_at(day.isoformat()))
    settle_day = clock.parse(f"{rules_test.LAST.isoformat()}T23:00:00+08:00")
    StateItem(*interest.progress_key(settle_day.year)).delete()        # each example settles the year afresh
    jobs.run("settle-annual-interest", settle_day)
    expected = rules_test.half_up_fen(rules_test.walk(carried, postings))
    assert [e.amount for e in _interest_entries(a.account_no)] == ([expected] if expected else [])


def test_a_replayed_posting_does_not_count_twice_in_the_jishu(aws):
    a = factories.account(factories.person(), balance=0)
    posting = ledger.Posting(a.account_no, "D-TWICE", "D", 100_000, "remit", period="202603")
    ledger.post([posting], now=_at("2026-03-15"))
    assert ledger.post([posting], now=_at("2026-03-16")).replayed
    # 1,000.00 × 106 days (15 March → 30 June), once
    assert int(Account.get(a.account_no).interest_accruals.as_dict()["2025"]["jishu"]) == 100_000 * 106


def test_an_account_that_moved_before_the_jishu_was_kept_is_settled_from_its_entries(aws):
    # accounts posted to before this change have 上期余额 for the year but no 积数: the year is read from the ledger
    a = factories.account(factories.person(), balance=10_000_000)
    ledger.post([ledger.Posting(a.account_no, "W-OLD", "W", 9_900_000, "withdrawal", type="rent")],
                now=_at("2026-06-29"))
    Account.get(a.account_no).update(actions=[Account.interest_accruals.remove()])
    jobs.run("settle-annual-interest", JUNE_30)
    assert [e.amount for e in _interest_entries(a.account_no)] == [149_175]     # as computed by hand above
