"""Loan arithmetic (贷款计算): schedules, prepayment and the rate table, exact to the fen.

The property tests recompute every schedule a second, independent way: with exact rational numbers
(``fractions.Fraction``) instead of high-precision Decimals, rounding half up to the fen only where the
rules say money is rounded. Both must agree to the fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib import policy
from chalicelib.rules import loans

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Rates as the policy writes them: percent with up to three places ("3.025").
rates = st.integers(min_value=0, max_value=15000).map(lambda thousandths: Decimal(thousandths) / 1000)
terms = st.integers(min_value=1, max_value=360)
methods = st.sampled_from(loans.METHODS)
# Realistic HPF loans: 10,000 yuan to 5,000,000 yuan, up to 10 % a year.
real_principals = st.integers(min_value=1_000_000, max_value=500_000_000)
real_rates = st.integers(min_value=0, max_value=10000).map(lambda thousandths: Decimal(thousandths) / 1000)


def half_up(value: Fraction) -> int:
    """Round a non-negative exact number half up to an integer (fen)."""
    assert value >= 0
    return int(value + Fraction(1, 2))  # int() truncates, which is floor for non-negatives


def exact_schedule(principal: int, annual_rate: Decimal, n: int, method: str) -> list[tuple[int, int, int, int]]:
    """An independent computation: (payment, principal, interest, balance_after) per period, with Fractions."""
    r = Fraction(annual_rate) / 1200
    if method == "equal_installment":
        if r == 0:
            level = half_up(Fraction(principal, n))
        else:
            growth = (1 + r) ** n
            level = half_up(principal * r * growth / (growth - 1))
    else:
        level = half_up(Fraction(principal, n))
    rows, balance = [], principal
    for k in range(1, n + 1):
        interest = half_up(balance * r)
        if k == n:
            part = balance
        elif method == "equal_installment":
            part = min(level - interest, balance)
        else:
            part = min(level, balance)
        balance -= part
        rows.append((part + interest, part, interest, balance))
    return rows


def rows(plan: loans.Schedule) -> list[tuple[int, int, int, int]]:
    return [(p.payment, p.principal, p.interest, p.balance_after) for p in plan.periods]


# ---------------------------------------------------------------- known figures


def test_a_million_over_thirty_years_at_3_10_is_4270_16_a_month():
    # The figure every bank calculator shows for 100 万, 30 年, 3.10 %, 等额本息.
    plan = loans.schedule(100_000_000, Decimal("3.10"), 360, "equal_installment")
    assert plan.monthly_payment == 427016
    assert all(p.payment == 427016 for p in plan.periods[:-1])
    assert plan.periods[-1].balance_after == 0
    assert plan.total_payment == plan.total_interest + 100_000_000


def test_equal_principal_first_month_is_principal_share_plus_a_month_of_interest():
    # 1,000,000 / 360 = 2777.78; 1,000,000 × 3.10 % / 12 = 2583.33 → 5361.11;
    # month 2: 2777.78 + 997,222.22 × 3.10 % / 12 (2576.16) = 5353.94.
    plan = loans.schedule(100_000_000, Decimal("3.10"), 360, "equal_principal")
    assert plan.periods[0].payment == 536111
    assert plan.periods[1].payment == 535394
    assert {p.principal for p in plan.periods[:-1]} == {277778}
    assert plan.periods[-1].principal == 100_000_000 - 277778 * 359


def test_zero_rate_spreads_the_principal_and_charges_no_interest():
    plan = loans.schedule(100_000, Decimal("0"), 3, "equal_installment")
    assert rows(plan) == [(33333, 33333, 0, 66667), (33333, 33333, 0, 33334), (33334, 33334, 0, 0)]
    assert plan.total_interest == 0


def test_a_one_month_loan_is_repaid_with_one_month_of_interest():
    plan = loans.schedule(1_200_000, Decimal("12"), 1, "equal_installment")
    assert rows(plan) == [(1_212_000, 1_200_000, 12_000, 0)]


def test_due_dates_follow_the_repayment_day_and_clip_to_month_end():
    plan = loans.schedule(1_000_000, Decimal("3.10"), 4, "equal_installment", first_due=date(2026, 1, 31))
    assert [p.due_on for p in plan.periods] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                                                date(2026, 4, 30)]
    plan = loans.schedule(1_000_000, Decimal("3.10"), 2, "equal_installment", first_due=date(2026, 2, 20),
                          repayment_day=20)
    assert [p.due_on for p in plan.periods] == [date(2026, 2, 20), date(2026, 3, 20)]
    assert loans.schedule(1_000_000, Decimal("3"), 2, "equal_principal").periods[0].due_on is None


@pytest.mark.parametrize("kwargs, words", [
    ({"principal_fen": 0}, "本金"),
    ({"principal_fen": -100}, "本金"),
    ({"term_months": 0}, "期限"),
    ({"term_months": 361, "max_term_months": 360}, "360"),
    ({"method": "bullet"}, "还款方式"),
    ({"annual_rate": Decimal("-0.1")}, "利率"),
    ({"annual_rate": Decimal("100")}, "利率"),
    ({"annual_rate": 3.1}, "利率"),
    ({"annual_rate": "abc"}, "利率"),
    ({"annual_rate": Decimal("NaN")}, "利率"),
    ({"repayment_day": 32}, "还款日"),
])
def test_invalid_input_raises_value_error_with_a_reason(kwargs, words):
    args = {"principal_fen": 1_000_000, "annual_rate": Decimal("3.1"), "term_months": 12,
            "method": "equal_installment", **kwargs}
    with pytest.raises(ValueError, match=words):
        loans.schedule(**args)


def test_the_policy_maximum_term_is_accepted():
    assert loans.schedule(1_000_000, Decimal("2.6"), 360, "equal_principal", max_term_months=360).term_months == 360


def test_balance_after_paid_periods():
    plan = loans.schedule(1_000_000, Decimal("3.1"), 12, "equal_installment")
    assert loans.balance_after(plan, 0) == 1_000_000
    assert loans.balance_after(plan, 3) == plan.periods[2].balance_after
    assert loans.balance_after(plan, 12) == 0
    with pytest.raises(ValueError):
        loans.balance_after(plan, 13)


# ---------------------------------------------------------------- the rate table


@pytest.mark.parametrize("on, term, home, expected", [
    (date(2025, 5, 8), 60, "first", "2.10"),        # 60 months is still "5 年（含）以内"
    (date(2025, 5, 8), 61, "first", "2.60"),
    (date(2025, 5, 8), 360, "second", "3.075"),
    (date(2025, 5, 8), 12, "second", "2.525"),
    (date(2025, 5, 7), 360, "first", "2.85"),       # the day before the cut: the 2024-05-18 row
    (date(2024, 5, 18), 24, "second", "2.775"),
    (date(2023, 1, 1), 120, "first", "3.10"),
    (date(2020, 1, 1), 120, "first", "3.10"),       # before the table: its first row
])
def test_rate_for_picks_the_row_in_force_and_the_term_band(on, term, home, expected):
    assert loans.rate_for(policy.get().rates, on, term, home) == Decimal(expected)


def test_rate_for_refuses_an_unknown_home_kind():
    with pytest.raises(ValueError):
        loans.rate_for(policy.get().rates, date(2026, 1, 1), 120, "third")  # type: ignore[arg-type]


def test_deposit_rate_for():
    assert loans.deposit_rate_for(policy.get().rates, date(2026, 7, 1)) == Decimal("1.50")


# ---------------------------------------------------------------- prepayment


def test_lower_payment_keeps_the_term_and_lowers_the_installment():
    result = loans.prepayment(80_000_000, Decimal("3.10"), 300, "equal_installment", 10_000_000, "lower_payment")
    assert result.before.monthly_payment == loans.installment(80_000_000, Decimal("3.10"), 300)
    assert result.after.remaining_months == 300
    assert result.after.monthly_payment == loans.installment(70_000_000, Decimal("3.10"), 300)
    assert result.after.balance == 70_000_000
    assert result.interest_saved == result.before.total_interest - result.after.total_interest > 0


def test_shorten_term_keeps_the_installment_and_takes_the_fewest_months():
    result = loans.prepayment(80_000_000, Decimal("3.10"), 300, "equal_installment", 10_000_000, "shorten_term")
    months = result.after.remaining_months
    assert months < 300
    assert result.after.monthly_payment <= result.before.monthly_payment
    assert loans.installment(70_000_000, Decimal("3.10"), months - 1) > result.before.monthly_payment


def test_prepaying_the_whole_balance_settles_the_loan():
    result = loans.prepayment(5_000_000, Decimal("2.6"), 24, "equal_principal", 5_000_000, "shorten_term")
    assert result.after.remaining_months == 0
    assert result.after_schedule.periods == []
    assert result.interest_saved == result.before.total_interest


@pytest.mark.parametrize("prepay, mode, words", [
    (0, "shorten_term", "提前还款金额"),
    (5_000_001, "shorten_term", "余额"),
    (100, "pay_less", "提前还款方式"),
])
def test_invalid_prepayment_raises_value_error(prepay, mode, words):
    with pytest.raises(ValueError, match=words):
        loans.prepayment(5_000_000, Decimal("2.6"), 24, "equal_installment", prepay, mode)


# ---------------------------------------------------------------- properties


@FAST
@given(principal=st.integers(min_value=1, max_value=10**12), rate=rates, n=terms, method=methods)
def test_any_schedule_repays_exactly_the_principal(principal, rate, n, method):
    plan = loans.schedule(principal, rate, n, method)
    assert plan.term_months == n
    assert sum(p.principal for p in plan.periods) == principal
    assert plan.periods[-1].balance_after == 0
    balances = [principal] + [p.balance_after for p in plan.periods]
    assert all(a >= b >= 0 for a, b in zip(balances, balances[1:], strict=False))   # falls, never below zero
    assert all(p.payment == p.principal + p.interest and p.interest >= 0 for p in plan.periods)
    assert plan.total_payment == principal + plan.total_interest


@FAST
@given(principal=st.integers(min_value=1, max_value=10**10), rate=rates, n=terms, method=methods)
@example(principal=2_500_000_000, rate=Decimal("0.193"), n=4, method="equal_principal")   # 301,562.5 fen: HALF_UP
def test_schedule_agrees_with_an_exact_rational_computation(principal, rate, n, method):
    assert rows(loans.schedule(principal, rate, n, method)) == exact_schedule(principal, rate, n, method)


@FAST
@given(principal=real_principals, rate=real_rates, n=terms)
def test_equal_installments_are_equal_to_the_fen_except_the_last(principal, rate, n):
    plan = loans.schedule(principal, rate, n, "equal_installment")
    payments = {p.payment for p in plan.periods[:-1]}
    assert payments <= {plan.monthly_payment}
    # The installment is the annuity formula rounded to the fen, computed here with exact numbers.
    r = Fraction(rate) / 1200
    exact = Fraction(principal, n) if r == 0 else principal * r * (1 + r) ** n / ((1 + r) ** n - 1)
    assert abs(plan.monthly_payment - exact) <= Fraction(1, 2)
    # The last installment only absorbs rounding: at most a fen a period (payment and interest rounding,
    # half a fen each), grown at the loan's rate, away from the others.
    drift = sum((1 + r) ** j for j in range(n - 1))
    assert abs(plan.last_payment - plan.monthly_payment) <= (drift + 1) * (1 + r) + 1


@FAST
@given(principal=real_principals, rate=real_rates, n=terms)
def test_equal_principal_parts_are_equal_except_the_last_and_payments_fall(principal, rate, n):
    plan = loans.schedule(principal, rate, n, "equal_principal")
    assert {p.principal for p in plan.periods[:-1]} <= {half_up(Fraction(principal, n))}
    payments = [p.payment for p in plan.periods[:-1]]
    assert payments == sorted(payments, reverse=True)


@FAST
@given(principal=real_principals, rate=real_rates, n=st.integers(min_value=2, max_value=360), method=methods,
       share=st.integers(min_value=1, max_value=100))
def test_prepayment_saves_interest_in_either_mode(principal, rate, n, method, share):
    prepay = max(1, principal * share // 100)
    shorter = loans.prepayment(principal, rate, n, method, prepay, "shorten_term")
    lower = loans.prepayment(principal, rate, n, method, prepay, "lower_payment")
    for result in (shorter, lower):
        assert result.before == lower.before
        assert result.after.balance == principal - prepay
        assert sum(p.principal for p in result.after_schedule.periods) == principal - prepay
        assert result.interest_saved >= 0
        assert result.after.monthly_payment <= result.before.monthly_payment
    if prepay < principal:
        assert lower.after.remaining_months == n
        assert shorter.after.remaining_months <= n
    # Paying the balance off sooner never costs more interest than spreading it over the same term.
    assert shorter.after.total_interest <= lower.after.total_interest
    if rate == 0:
        assert shorter.interest_saved == lower.interest_saved == 0
