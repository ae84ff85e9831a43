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
