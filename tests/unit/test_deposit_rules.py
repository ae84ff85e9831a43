"""Deposit arithmetic for units' employees: shares and their rounding, ratio and base limits, due months,
and the batches a roster is paid in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import policy
from chalicelib.rules import deposits

DEP = policy.get().deposit          # Taiyuan: 5-12 %, floor 1,880.00, cap 3 × 7,500.00, whole yuan half up


@pytest.mark.parametrize("base, ratio, rounding, share", [
    (432_100, "7", "yuan_half_up", 30_200),     # 302.47 → 302
    (435_000, "7", "yuan_half_up", 30_500),     # 304.50 → 305 (half up)
    (432_100, "7", "fen", 30_247),
    (500_000, "12", "yuan_half_up", 60_000),
    (333_333, "12", "fen", 40_000),             # 399.9996 → 400.00
    (188_000, "5", "yuan_half_up", 9_400),
])
def test_each_share_is_base_times_ratio_rounded_as_the_policy_says(base, ratio, rounding, share):
    assert deposits.share(base, Decimal(ratio), rounding) == share


def test_the_month_is_both_shares_each_rounded_on_its_own():
    c = deposits.contribution(435_000, Decimal("7"), Decimal("7"), DEP)
    assert (c.unit_share, c.person_share, c.total) == (30_500, 30_500, 61_000)


@pytest.mark.parametrize("ratio, ok", [("4.99", False), ("5", True), ("7.5", True), ("12", True), ("12.01", False)])
def test_ratio_range_comes_from_the_policy(ratio, ok):
    assert (deposits.ratio_problem(deposits.parse_ratio(ratio), DEP) is None) is ok


@pytest.mark.parametrize("value", [12.0, 12, "abc", "7.125", "NaN", True])
def test_a_ratio_must_be_a_decimal_string_with_at_most_two_places(value):
    with pytest.raises(ValueError):
        deposits.parse_ratio(value)


@pytest.mark.parametrize("base, ok", [(187_999, False), (188_000, True), (2_250_000, True), (2_250_001, False)])
def test_base_between_the_floor_and_three_times_the_average_wage(base, ok):
    assert (deposits.base_problem(base, DEP) is None) is ok


def test_due_months_continue_the_paid_months_without_a_gap():
    assert deposits.due_run("202607", ["202607", "202608"]) == ["202607", "202608"]
    assert deposits.due_run("202608", ["202607", "202608"]) == []          # 202607 already paid
    assert deposits.due_run("202605", ["202607"]) == []                    # 202605-06 missing first
    assert deposits.due_run("202607", ["202607", "202609"]) == ["202607"]


def test_a_remittance_roster_of_2000_employees_pays_in_41_transactions_of_at_most_49():
    lines = [(f"GR{i:06d}", "202607") for i in range(2000)]
    batches = deposits.batches(lines, lambda line: line[0], 98)
    assert len(batches) == 41 and max(len(b) for b in batches) == 49
    assert [line for b in batches for line in b] == lines


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), min_size=1, max_size=60),
       st.integers(2, 98))
def test_batches_keep_order_and_fit_the_transaction(counts, capacity):
    lines = sorted({(f"A{acct:03d}", f"2026{m:02d}") for acct, months in counts for m in range(1, min(months, 12) + 1)})
    batches = deposits.batches(lines, lambda line: line[0], capacity)
    assert [line for b in batches for line in b] == lines
    for b in batches:
        assert len(b) + len({line[0] for line in b}) <= capacity
    assert deposits.batches(lines, lambda line: line[0], capacity) == batches
