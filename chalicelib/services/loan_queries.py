"""A borrower's view of their HPF loans (贷款信息, 贷款进度, 还款计划, 还款明细).

The repayment plan (还款计划) is computed by :func:`chalicelib.rules.loans.schedule` from the contract:
principal, rate, term, method, the first due date (the repayment day of the month after disbursement) and
the repayment day. Periods up to ``paid_periods`` are marked paid.

When the loan's balance is no longer what the original plan says after ``paid_periods`` (a prepayment
changed it, 提前还本), the original plan is history: the plan shown is the remaining periods recomputed from
the current balance over the remaining term, numbered on from ``paid_periods + 1``, and ``recomputed`` says
so. The paid history itself is in the repayment records (还款明细).

A loan not yet disbursed (applying, approved) has progress but no plan: "此合同的贷款未发放".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from chalicelib import errors, policy
from chalicelib.rules import loans as rules
from chalicelib.store.loans import Loan

NOT_DISBURSED = ("applying", "approved", "rejected", "cancelled")


@dataclass(frozen=True)
class PlanPeriod:
    period_no: int
    due_on: dt.date | None
    payment: int
    principal: int
    interest: int
    balance_after: int
    paid: bool


@dataclass(frozen=True)
class Plan:
    periods: list[PlanPeriod]
    recomputed: bool

    @property
    def next_due(self) -> PlanPeriod | None:
        return next((p for p in self.periods if not p.paid), None)

    @property
    def remaining_interest(self) -> int:
        return sum(p.interest for p in self.periods if not p.paid)


def loans_of(id_number: str) -> list[Loan]:
    """The person's loans (one Query on ``person-index``), by contract number."""
    return list(Loan.person_index.query(id_number))


def loan_of(id_number: str, contract_no: str) -> Loan:
    """The caller's own loan ``contract_no``; 404 for an unknown contract or another person's."""
    try:
        loan = Loan.get(contract_no)
    except Loan.DoesNotExist:
        loan = None
    if loan is None or loan.id_number != id_number:
        raise errors.NotFound("未找到该借款合同")
    return loan


def disbursed(loan: Loan) -> bool:
    return loan.status not in NOT_DISBURSED and bool(loan.disbursed_on)


def first_due(loan: Loan) -> dt.date:
    """The first installment falls on the repayment day of the month after disbursement."""
    return rules.add_months(dt.date.fromisoformat(loan.disbursed_on), 1, int(loan.repayment_day))


def plan_of(loan: Loan) -> Plan | None:
    """The loan's repayment plan with paid periods marked, or None before disbursement."""
    if not disbursed(loan):
        return None
    term = int(loan.term_months)
    rate = Decimal(loan.annual_rate)
    day = int(loan.repayment_day)
    original = rules.schedule(int(loan.principal), rate, term, loan.method, first_due(loan), day)
    paid = max(0, min(int(loan.paid_periods or 0), term))
    balance = int(loan.balance)
    if rules.balance_after(original, paid) == balance:
        return Plan(periods=[_period(p, p.period_no <= paid) for p in original], recomputed=False)
    remaining = term - paid
    if balance <= 0 or remaining <= 0:
        return Plan(periods=[], recomputed=True)
    rest = rules.schedule(balance, rate, remaining, loan.method, original.periods[paid].due_on, day)
    return Plan(periods=[_period(p, False, offset=paid) for p in rest], recomputed=True)


def _period(p: rules.Period, paid: bool, offset: int = 0) -> PlanPeriod:
    return PlanPeriod(period_no=p.period_no + offset, due_on=p.due_on, payment=p.payment, principal=p.principal,
                      interest=p.interest, balance_after=p.balance_after, paid=paid)


def penalty_to_date(loan: Loan, today: dt.date) -> int | None:
    """罚息 accrued so far on an overdue loan's arrears (``arrears × rate / 360 × penalty_factor × days``), None when
    the loan is not overdue; the offset deduction charges it when it collects the arrears."""

    if loan.status != "overdue" or loan.arrears is None or not loan.overdue_since:
        return None
    cfg = policy.get().loans
    days = (today - dt.date.fromisoformat(loan.overdue_since)).days
    return rules.penalty_interest(int(loan.arrears), Decimal(loan.annual_rate), days, cfg.repayment.penalty_factor,
                                  cfg.settlement.days_per_year)


def require_plan(loan: Loan) -> Plan:
    plan = plan_of(loan)
    if plan is None:
        raise errors.NotEligible(f"此合同【{loan.contract_no}】的贷款未发放")
    return plan
