"""Servicing a loan (rules): the next installment from what is left, accrued interest, prepayment conditions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib import errors, policy
from chalicelib.rules import loans

RULES = policy.get().loans.prepayment


def test_the_remaining_plan_from_the_balance_is_the_original_plan_again():
    plan = loans.schedule(40_000_000, Decimal("2.60"), 240, "equal_installment")
    for paid in (0, 1, 21, 120, 239):
        nxt = loans.next_installment(loans.balance_after(plan, paid), Decimal("2.60"), 240 - paid,
                                     "equal_installment")
        original = plan.periods[paid]
        assert nxt.interest == original.interest
        assert abs(nxt.payment - original.payment) <= 1          # recomputing the level payment: within a fen


def test_equal_principal_next_installment_keeps_the_principal_part():
    plan = loans.schedule(1_200_000, Decimal("3.10"), 12, "equal_principal")
    nxt = loans.next_installment(loans.balance_after(plan, 3), Decimal("3.10"), 9, "equal_principal")
    assert (nxt.principal, nxt.interest) == (plan.periods[3].principal, plan.periods[3].interest)


def test_a_repaid_loan_has_no_next_installment():
    with pytest.raises(ValueError):
        loans.next_installment(0, Decimal("2.60"), 10, "equal_installment")
    with pytest.raises(ValueError):
        loans.next_installment(100, Decimal("2.60"), 0, "equal_installment")


def test_accrued_interest_is_balance_times_rate_over_the_day_basis_half_up():
    # 372690.87 × 2.60% / 360 × 16 = 430.6650… yuan → 430.67
    assert loans.accrued_interest(37_269_087, Decimal("2.60"), 16, 360) == 43_067
    assert loans.accrued_interest(37_269_087, Decimal("2.60"), 0, 360) == 0
    assert loans.accrued_interest(100, Decimal("3.60"), 1, 360) == 0      # 0.001 fen
    assert loans.accrued_interest(5_000, Decimal("3.60"), 1, 360) == 1    # 0.5 fen → 1 (HALF_UP)


def _check(**kw):
    args = {"status": "normal", "paid_periods": 24, "balance_fen": 30_000_000, "amount_fen": 5_000_000,
            "used_this_year": 0, "rules": RULES, **kw}
    loans.check_prepayment(**args)


def test_a_prepayment_within_the_rules_passes():
    _check()
    _check(amount_fen=RULES.min_amount, paid_periods=RULES.min_months_repaid)


@pytest.mark.parametrize("kw, error, reason", [
    ({"status": "overdue"}, errors.NotEligible, "overdue"),
    ({"status": "approved"}, errors.NotEligible, "not_disbursed"),
    ({"paid_periods": RULES.min_months_repaid - 1}, errors.NotEligible, "min_months_repaid"),
    ({"used_this_year": RULES.times_per_year}, errors.NotEligible, "times_per_year"),
])
def test_a_prepayment_outside_the_rules_is_refused(kw, error, reason):
    with pytest.raises(error) as exc:
        _check(**kw)
    assert exc.value.details["reason"] == reason


@pytest.mark.parametrize("kw", [{"amount_fen": RULES.min_amount - 1}, {"amount_fen": 30_000_000},
                                {"amount_fen": 30_000_001}])
def test_a_prepayment_amount_below_the_minimum_or_of_the_whole_balance_is_a_field_error(kw):
    with pytest.raises(errors.ValidationFailed) as exc:
        _check(**kw)
    assert "amount" in exc.value.details["fields"]


def test_a_settled_loan_is_already_done():
    with pytest.raises(errors.AlreadyDone):
        loans.check_servicing("settled")


# ---------------------------------------------------------------- interest as charged, penalty, repricing

D = __import__("datetime").date


@pytest.mark.parametrize(("balance", "start", "due", "expected"), [
    # seed 004 (/work/shared/seeds/004_5016c4524b0f38de.txt) lines 82-89: 第20期 (2018-08-14) 利息 593.83 on the
    # balance before it, 190987.28 + 本金 1909.87 = 192897.15, over 2018-07-14 → 2018-08-14 (31 days) at 3.575 %
    (19_289_715, D(2018, 7, 14), D(2018, 8, 14), 59_383),
    # lines 76-82: 第21期 (2018-09-14) 利息 587.95 on 190987.28 over 2018-08-14 → 2018-09-14 (31 days)
    (19_098_728, D(2018, 8, 14), D(2018, 9, 14), 58_795),
])
def test_actual_day_interest_reproduces_seed_004(balance, start, due, expected):
    monthly = loans.next_installment(balance, Decimal("3.575"), 100, "equal_principal").interest
    assert loans.charged_interest(balance, Decimal("3.575"), monthly, "actual_days", start, due, start, 360) == expected


def test_the_monthly_convention_is_the_plans_interest_unless_a_prepayment_paid_part_of_the_period():
    # 192897.15 × 3.575 % / 12 = 574.6727… → 574.67, the plan's figure
    assert loans.charged_interest(19_289_715, Decimal("3.575"), 57_467, "monthly", D(2018, 7, 14), D(2018, 8, 14),
                                  D(2018, 7, 14), 360) == 57_467
    # interest paid to 2018-07-30 by a prepayment: the 15 days left, 192897.15 × 3.575 % / 360 × 15 = 287.34
    assert loans.charged_interest(19_289_715, Decimal("3.575"), 57_467, "monthly", D(2018, 7, 30), D(2018, 8, 14),
                                  D(2018, 7, 14), 360) == 28_734


def test_penalty_interest_is_one_and_a_half_times_the_daily_rate_on_the_overdue_amount():
    # domain-research §2.3 (Bijie CommLoanAlgorithm): 2000.00 × 2.60 % / 360 × 1.5 × 30 days = 6.50
    assert loans.penalty_interest(200_000, Decimal("2.60"), 30, Decimal("1.5"), 360) == 650
    # 2139.15 × 3.10 % / 360 × 1.5 × 7 = 1.9342… → 1.93
    assert loans.penalty_interest(213_915, Decimal("3.10"), 7, Decimal("1.5"), 360) == 193
    assert loans.penalty_interest(200_000, Decimal("2.60"), 0, Decimal("1.5"), 360) == 0


def test_repricing_moves_loans_over_a_year_only():
    assert loans.repriced_rate(Decimal("2.85"), Decimal("2.60"), 240, 12) == Decimal("2.60")
    assert loans.repriced_rate(Decimal("2.35"), Decimal("2.10"), 12, 12) is None       # one year: keeps its rate
    assert loans.repriced_rate(Decimal("2.60"), Decimal("2.60"), 240, 12) is None      # already at the rate
