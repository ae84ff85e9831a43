"""Day-count interest (积数计息, chalicelib/rules/interest.py) against figures computed by hand and against an
independent day-by-day walk written here.

Sources: 《住房公积金管理条例》第二十一条 ("自存入职工住房公积金账户之日起按照国家规定的利率计息": money earns from the
day it is deposited); shared/reference/domain-research.md "Interest (结息) by day count" (carried balance × annual
rate + 积数 × annual rate / 360, 1.50 % since 2016-02-21); the rule's docstring for the 30/360 day count.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.rules import interest

SETTLEMENT = {"month": 6, "day": 30}
RATE = Decimal("1.50")
YEAR = 2026                                  # the HPF year 1 July 2026 - 30 June 2027
FIRST, LAST = dt.date(2026, 7, 1), dt.date(2027, 6, 30)


# ---------------------------------------------------------------- an independent day-by-day computation

def weight(day: dt.date) -> int:
    """How many of a 30-day month's days a calendar day stands for: 1; the 31st none; the last day of February
    the days up to 30 that February lacks."""
    if day.day == 31:
        return 0
    last_of_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    if day == last_of_month and day.day < 30:
        return 30 - day.day + 1
    return 1


def days_of_year():
    day = FIRST
    while day <= LAST:
        yield day
        day += dt.timedelta(days=1)


def walk(carried: int, postings: list[tuple[dt.date, int]], through: dt.date = LAST) -> int:
    """Σ over the days up to ``through`` of the day's closing balance × the day's weight (fen·days)."""
    total = 0
    for day in days_of_year():
        if day > through:
            break
        closing = carried + sum(delta for when, delta in postings if when <= day)
        total += closing * weight(day)
    return total


def half_up_fen(jishu: int) -> int:
    """jishu fen·days × 1.50 % / 360, to the fen, half up (exact fractions, no Decimal context)."""
    exact = Fraction(jishu) * Fraction(150, 100 * 100 * 360)
    whole, rest = divmod(exact.numerator, exact.denominator)
    return whole + (1 if 2 * rest >= exact.denominator else 0)


def test_the_day_by_day_weights_make_a_360_day_year():
    assert sum(weight(d) for d in days_of_year()) == 360
    leap = [dt.date(2028, 2, 28), dt.date(2028, 2, 29)]
    assert [weight(d) for d in leap] == [1, 2]


# ---------------------------------------------------------------- figures computed by hand

@pytest.mark.parametrize("day, days", [
    ("2026-07-01", 360),      # the whole year, like a carried balance
    ("2027-06-30", 1),        # the settlement day itself counts (算头)
    ("2027-03-15", 106),      # 15 Mar → 15 Jun three months (90) + 15-30 June (16)
    ("2027-02-28", 123),      # 28, 29, 30 "February" (3) + March-June (120)
    ("2027-01-31", 150),      # the 31st: from 1 February, five months
    ("2027-06-29", 2),        # 29 and 30 June
])
def test_days_left_until_30_june(day, days):
    assert interest.days_left(day, SETTLEMENT) == days


def test_99000_withdrawn_on_29_june_earns_on_the_days_it_stayed():
    # The case: 100,000.00 carried into the year, 99,000.00 withdrawn on 29 June.
    # By hand: 100,000.00 × 1.50 % = 1,500.00 for the whole year, less 99,000.00 × 2 days (29-30 June) × 1.50 % / 360
    # = 8.25 → 1,491.75 (the old rule paid 1,000.00 × 1.50 % = 15.00).
    jishu = interest.accrue({}, 10_000_000, [interest.Movement("2027-06-29", -9_900_000)], SETTLEMENT)
    assert interest.interest(jishu[str(YEAR)]["jishu"], RATE) == 149_175


def test_a_deposit_earns_from_its_day():
    # 1,000.00 deposited on 15 March into an empty account: 1,000.00 × 106 days × 1.50 % / 360 = 4.4167 → 4.42
    jishu = interest.accrue({}, 0, [interest.Movement("2027-03-15", 100_000)], SETTLEMENT)
    assert interest.interest(jishu[str(YEAR)]["jishu"], RATE) == 442


def test_a_balance_present_all_year_earns_balance_times_rate():
    # 38,630.40 × 1.50 % = 579.456 → 579.46; as a carried balance or as a deposit on 1 July alike
    carried = interest.accrue({}, 3_863_040, [interest.Movement("2026-07-02", 1), interest.Movement(
        "2026-07-02", -1)], SETTLEMENT)
    deposited = interest.accrue({}, 0, [interest.Movement("2026-07-01", 3_863_040)], SETTLEMENT)
    assert interest.interest(carried[str(YEAR)]["jishu"], RATE) == 57_946
    assert interest.interest(deposited[str(YEAR)]["jishu"], RATE) == 57_946


def test_rounding_is_half_up_to_the_fen_once():
    assert interest.interest(100 * 360, RATE) == 2          # 1.00 × 1.50 % = 0.015 → 0.02
    assert interest.interest(99 * 360, RATE) == 1           # 0.99 × 1.50 % = 0.01485 → 0.01
    assert interest.interest(0, RATE) == 0 == interest.interest(-5_000, RATE)


def test_the_new_year_starts_from_the_carried_balance_and_keeps_two_years():
    acc = interest.accrue({}, 500_000, [interest.Movement("2026-06-08", 100_000)], SETTLEMENT)   # year 2025
    acc = interest.accrue(acc, 600_000, [interest.Movement("2026-07-08", 100_000)], SETTLEMENT)  # year 2026
    # 2025: 5,000.00 × 360 + 1,000.00 × 23 days (8-30 June); 2026: 6,000.00 × 360 + 1,000.00 × 353 days
    assert acc == {"2025": {"jishu": 500_000 * 360 + 100_000 * 23}, "2026": {"jishu": 600_000 * 360 + 100_000 * 353}}
    # the 2025 interest posted late (dated 30 June 2026) joins 2026's carried balance: 360 days there
    late = interest.accrue(acc, 700_000, [interest.Movement("2026-06-30", 9_021, carried=True)], SETTLEMENT)
    assert late["2026"]["jishu"] == acc["2026"]["jishu"] + 9_021 * 360 and late["2025"] == acc["2025"]
    later = interest.accrue(late, 709_021, [interest.Movement("2027-07-01", 1)], SETTLEMENT)
    assert sorted(later) == ["2026", "2027"]                # only the open year and the one before


def test_closing_pays_what_was_earned_before_the_closing_day_and_ends_the_year_at_zero():
    # 10,000.00 carried, closed on 15 July: 1-14 July, 14 days × 1.50 % / 360 on 10,000.00 = 5.8333 → 5.83
    acc = interest.accrue({}, 1_000_000, [interest.Movement("2026-07-02", 0)], SETTLEMENT)
    accrued = interest.accrued_before(acc[str(YEAR)]["jishu"], 1_000_000, "2026-07-15", SETTLEMENT)
    assert accrued == 1_000_000 * 14 and interest.interest(accrued, RATE) == 583
    closed = interest.accrue(acc, 1_000_000, [interest.Movement("2026-07-15", 583, settles=accrued),
                                              interest.Movement("2026-07-15", -1_000_583)], SETTLEMENT)
    assert closed[str(YEAR)]["jishu"] == 0


# ---------------------------------------------------------------- properties against the day-by-day walk

dates = st.dates(min_value=FIRST, max_value=LAST)


@st.composite
def years(draw):
    """A carried balance and postings in date order that never take the balance below zero."""
    carried = draw(st.integers(0, 50_000_000))
    days = sorted(draw(st.lists(dates, max_size=25)))
    balance, postings = carried, []
    for day in days:
        if balance and draw(st.booleans()):
            delta = -draw(st.integers(1, balance))
        else:
            delta = draw(st.integers(1, 5_000_000))
        balance += delta
        postings.append((day, delta))
    return carried, postings


@settings(max_examples=300, deadline=None)
@given(years())
def test_the_years_jishu_is_the_day_by_day_sum(year):
    carried, postings = year
    acc: dict = {}
    balance = carried
    for day, delta in postings:          # one posting a transaction, as the ledger applies them
        acc = interest.accrue(acc, balance, [interest.Movement(day, delta)], SETTLEMENT)
        balance += delta
    expected = walk(carried, postings)
    got = acc[str(YEAR)]["jishu"] if acc else carried * 360
    assert got == expected
    assert interest.interest(got, RATE) == half_up_fen(expected)
    assert interest.year_jishu(carried, [interest.Movement(d, x) for d, x in postings], YEAR, SETTLEMENT) == expected


@settings(max_examples=200, deadline=None)
@given(years(), dates)
def test_closing_pays_the_day_by_day_sum_before_the_closing_day(year, closing_day):
    carried, postings = year
    postings = [(d, x) for d, x in postings if d <= closing_day]
    balance = carried + sum(x for _, x in postings)
    acc = interest.accrue({}, carried, [interest.Movement(d, x) for d, x in postings] or
                          [interest.Movement(FIRST, 0)], SETTLEMENT)
    accrued = interest.accrued_before(acc[str(YEAR)]["jishu"], balance, closing_day, SETTLEMENT)
    assert accrued == walk(carried, postings, through=closing_day - dt.timedelta(days=1))
