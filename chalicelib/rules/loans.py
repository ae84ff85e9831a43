"""Loan arithmetic (贷款计算): repayment schedules (还款计划), prepayment (提前还本) and the rate table.

Pure functions, exact to the fen. Money is integer fen; rates are ``Decimal`` percent a year ("3.10").
The conventions follow the centers' own code (domain-research §2.3):

- monthly rate ``r = annual percent / 1200``, computed with high intermediate precision;
- every period's interest is ``balance before the period × r``, rounded HALF_UP to the fen;
- equal installment (等额本息): the payment ``M = P·r·(1+r)^n / ((1+r)^n − 1)`` rounded HALF_UP to
  the fen, principal part = ``M − interest``; equal principal (等额本金): principal part ``P / n``
  rounded HALF_UP to the fen, payment = principal part + interest;
- the last period absorbs every rounding difference: its principal part is the whole remaining
  balance, so the principal parts add up to the principal exactly and the balance ends at zero.

Tiny loans (a few hundred yuan over decades) can accumulate enough rounding for the balance to be
repaid before the last period; a principal part is then capped at the balance and the remaining
periods are zero, so a balance never goes negative.

The loan handlers (schedules, prepayments) and the public calculators call the same functions.
"""

from __future__ import annotations

import calendar
import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from chalicelib import money
from chalicelib.rules import refusals

Method = Literal["equal_installment", "equal_principal"]
Mode = Literal["shorten_term", "lower_payment"]
Home = Literal["first", "second"]

METHODS: tuple[str, ...] = ("equal_installment", "equal_principal")
MODES: tuple[str, ...] = ("shorten_term", "lower_payment")
UP_TO_5_YEARS_MONTHS = 60          # "5 年（含）以内": a term of at most 60 months takes the lower band
MAX_ANNUAL_RATE = Decimal(100)     # sanity bound for calculators: a rate is a percentage below 100

_PRECISION = 50
_ONE = Decimal(1)


@dataclass(frozen=True)
class Period:
    """One installment (一期): every amount in fen; ``due_on`` when the schedule has dates."""

    period_no: int
    due_on: date | None
    payment: int
    principal: int
    interest: int
    balance_after: int


@dataclass(frozen=True)
class Schedule:
    """A repayment plan (还款计划) for ``principal`` fen."""

    principal: int
    annual_rate: Decimal
    method: str
    periods: list[Period] = field(default_factory=list)

    @property
    def term_months(self) -> int:
        return len(self.periods)

    @property
    def total_payment(self) -> int:
        return sum(p.payment for p in self.periods)

    @property
    def total_interest(self) -> int:
        return sum(p.interest for p in self.periods)

    @property
    def monthly_payment(self) -> int:
        """The first installment (constant for equal installment; the highest for equal principal)."""
        return self.periods[0].payment if self.periods else 0

    @property
    def last_payment(self) -> int:
        return self.periods[-1].payment if self.periods else 0

    def __iter__(self) -> Iterator[Period]:
        return iter(self.periods)


@dataclass(frozen=True)
class Summary:
    """What a borrower compares before and after a prepayment."""

    balance: int
    monthly_payment: int
    last_payment: int
    remaining_months: int
    total_interest: int
    total_payment: int

    @classmethod
    def of(cls, plan: Schedule) -> Summary:
        return cls(balance=plan.principal, monthly_payment=plan.monthly_payment, last_payment=plan.last_payment,
                   remaining_months=plan.term_months, total_interest=plan.total_interest,
                   total_payment=plan.total_payment)


@dataclass(frozen=True)
class PrepaymentResult:
    """A partial prepayment (提前部分还款) made on a due date, right after that date's installment.

    ``before``/``after`` summarize the remaining plan without and with the prepayment;
    ``after_schedule`` is the new plan (empty when the prepayment repays the whole balance).
    """

    mode: str
    prepay: int
    before: Summary
    after: Summary
    after_schedule: Schedule

    @property
    def interest_saved(self) -> int:
        return self.before.total_interest - self.after.total_interest


def _context() -> decimal.Context:
    return decimal.Context(prec=_PRECISION, rounding=ROUND_HALF_UP)


def monthly_rate(annual_rate: Decimal) -> Decimal:
    """``annual percent / 1200`` (a percent a year to a fraction a month)."""
    with decimal.localcontext(_context()):
        return Decimal(annual_rate) / 1200


def _fen(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def _check(principal_fen: int, annual_rate: Any, term_months: int, method: str,
           max_term_months: int | None) -> Decimal:
    if isinstance(principal_fen, bool) or not isinstance(principal_fen, int) or principal_fen <= 0:
        raise ValueError("贷款本金须大于零")
    if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months < 1:
        raise ValueError("贷款期限须至少 1 个月")
    if max_term_months is not None and term_months > max_term_months:
        raise ValueError(f"贷款期限不能超过 {max_term_months} 个月")
    if method not in METHODS:
        raise ValueError("还款方式须为等额本息（equal_installment）或等额本金（equal_principal）")
    if isinstance(annual_rate, float) or isinstance(annual_rate, bool):
        raise ValueError("利率须为十进制数（Decimal 或字符串）")
    try:
        rate = Decimal(annual_rate)
    except (decimal.InvalidOperation, TypeError, ValueError):
        raise ValueError("利率无效") from None
    if not rate.is_finite() or rate < 0 or rate >= MAX_ANNUAL_RATE:
        raise ValueError("年利率须在 0 到 100（百分比）之间")
    return rate


def installment(principal_fen: int, annual_rate: Decimal, term_months: int) -> int:
    """The equal-installment payment (月供) in fen: ``P·r·(1+r)^n / ((1+r)^n − 1)`` rounded HALF_UP."""
    with decimal.localcontext(_context()):
        r = Decimal(annual_rate) / 1200
        if r == 0:
            return _fen(Decimal(principal_fen) / term_months)
        growth = (_ONE + r) ** term_months
        return _fen(Decimal(principal_fen) * r * growth / (growth - _ONE))


def add_months(start: date, months: int, day: int | None = None) -> date:
    """``start`` moved by ``months`` calendar months, on ``day`` (default: start's day), clipped to month end."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day or start.day, last))


def schedule(principal_fen: int, annual_rate: Decimal, term_months: int, method: Method,
             first_due: date | None = None, repayment_day: int | None = None, *,
             max_term_months: int | None = None) -> Schedule:
    """The repayment plan of ``principal_fen`` over ``term_months`` at ``annual_rate`` percent a year.

    ``first_due`` dates the first period; later periods fall on ``repayment_day`` (default: the day of
    ``first_due``) of each following month, clipped to the month's last day. ``max_term_months`` is the
    policy's longest term (callers pass ``policy.loans.max_term_months``).
    Raises ``ValueError`` (with a message for citizens) on a non-positive principal, a term outside
    ``1..max_term_months``, an unknown method or a rate outside ``[0, 100)``.
    """
    rate = _check(principal_fen, annual_rate, term_months, method, max_term_months)
    if repayment_day is not None and not 1 <= repayment_day <= 31:
        raise ValueError("还款日须在 1 到 31 之间")
    with decimal.localcontext(_context()):
        if method == "equal_installment":
            level = installment(principal_fen, rate, term_months)
        else:
            level = _fen(Decimal(principal_fen) / term_months)
        periods: list[Period] = []
        balance = principal_fen
        day = repayment_day or (first_due.day if first_due else None)
        for k in range(1, term_months + 1):
            interest = _fen(balance * rate / 1200) if balance else 0   # product first: a .5 fen stays exact
            if k == term_months:
                principal = balance
            elif method == "equal_installment":
                principal = min(level - interest, balance)
            else:
                principal = min(level, balance)
            balance -= principal
            due_on = add_months(first_due, k - 1, day) if first_due else None
            periods.append(Period(period_no=k, due_on=due_on, payment=principal + interest, principal=principal,
                                  interest=interest, balance_after=balance))
    return Schedule(principal=principal_fen, annual_rate=rate, method=method, periods=periods)


def balance_after(plan: Schedule, paid_periods: int) -> int:
    """The balance left once ``paid_periods`` installments are paid (the principal when none is)."""
    if paid_periods < 0 or paid_periods > plan.term_months:
        raise ValueError("已还期数须在 0 到贷款期限之间")
    return plan.periods[paid_periods - 1].balance_after if paid_periods else plan.principal


def _shortened_term(balance_fen: int, rate: Decimal, remaining_months: int, method: str, before: Schedule) -> int:
    """The fewest months that keep the installment no higher than before (缩短期限).

    Equal installment: the smallest ``n`` whose payment is at most the current one (the payment falls as
    ``n`` grows, so a binary search). Equal principal: the monthly principal part stays the same.
    """
    if method == "equal_principal":
        level = _fen(Decimal(before.principal) / remaining_months)
        return max(1, min(remaining_months, -(-balance_fen // max(level, 1))))
    target = before.monthly_payment
    low, high = 1, remaining_months
    while low < high:
        mid = (low + high) // 2
        if installment(balance_fen, rate, mid) <= target:
            high = mid
        else:
            low = mid + 1
    return low


def prepayment(balance_fen: int, annual_rate: Decimal, remaining_months: int, method: Method, prepay_fen: int,
               mode: Mode, *, max_term_months: int | None = None) -> PrepaymentResult:
    """Before and after a partial prepayment of ``prepay_fen`` on a loan with ``balance_fen`` left.

    The prepayment is made on a due date right after that date's installment, so it is all principal.
    ``lower_payment`` (减少月供) keeps the remaining months and recomputes the installment;
    ``shorten_term`` (缩短期限) keeps the installment (equal principal: the monthly principal part) and
    takes the fewest months that repay the new balance. A prepayment of the whole balance settles the loan.
    """
    rate = _check(balance_fen, annual_rate, remaining_months, method, max_term_months)
    if mode not in MODES:
        raise ValueError("提前还款方式须为缩短期限（shorten_term）或减少月供（lower_payment）")
    if isinstance(prepay_fen, bool) or not isinstance(prepay_fen, int) or prepay_fen <= 0:
        raise ValueError("提前还款金额须大于零")
    if prepay_fen > balance_fen:
        raise ValueError("提前还款金额不能超过贷款余额")
    before = schedule(balance_fen, rate, remaining_months, method)
    left = balance_fen - prepay_fen
    if left == 0:
        after = Schedule(principal=0, annual_rate=rate, method=method, periods=[])
    else:
        months = remaining_months if mode == "lower_payment" else _shortened_term(
            left, rate, remaining_months, method, before)
        after = schedule(left, rate, months, method)
    return PrepaymentResult(mode=mode, prepay=prepay_fen, before=Summary.of(before), after=Summary.of(after),
                            after_schedule=after)


def band(term_months: int) -> Literal["up_to_5_years", "over_5_years"]:
    """The rate band of a term: up to 60 months is "5 年（含）以内", longer is "5 年以上"."""
    return "up_to_5_years" if term_months <= UP_TO_5_YEARS_MONTHS else "over_5_years"


def rate_for(policy_rates: Any, on: date, term_months: int, home: Home = "first") -> Decimal:
    """The HPF loan rate (percent a year) in force ``on`` for a term and a first or second home.

    ``policy_rates`` is ``policy.get().rates``: its ``loan`` table, in increasing ``effective_from``
    order, each row with ``first_home``/``second_home`` bands. A date before the first row takes the first.
    """
    if term_months < 1:
        raise ValueError("贷款期限须至少 1 个月")
    if home not in ("first", "second"):
        raise ValueError("住房套数须为首套（first）或二套（second）")
    table = list(policy_rates.loan)
    if not table:
        raise ValueError("利率表为空")
    row = table[0]
    for candidate in table:
        if candidate.effective_from <= on:
            row = candidate
    bands = row.first_home if home == "first" else row.second_home
    return Decimal(getattr(bands, band(term_months)))


def deposit_rate_for(policy_rates: Any, on: date) -> Decimal:
    """The deposit rate (percent a year) in force ``on``."""
    table = list(policy_rates.deposit)
    row = table[0]
    for candidate in table:
        if candidate.effective_from <= on:
            row = candidate
    return Decimal(row.rate)


# ---------------------------------------------------------------- servicing a loan (还款、提前还款、结清)
#
# A loan's remaining plan is always recomputed from what is left: ``schedule(balance, rate, term − paid, method)``.
# Without prepayments that is the original plan again (up to a fen of rounding); after a prepayment it is the new
# plan, so a loan needs no stored schedule and the offset deduction, the prepayment and the settlement agree.

OPEN_LOAN_STATUSES = ("normal", "overdue")


def remaining_months(term_months: int, paid_periods: int) -> int:
    return max(0, term_months - paid_periods)


def next_installment(balance_fen: int, annual_rate: Decimal, months_left: int, method: Method) -> Period:
    """The next installment (本期应还) of a loan with ``balance_fen`` left over ``months_left`` months."""
    if months_left < 1 or balance_fen <= 0:
        raise ValueError("贷款已还清")
    return schedule(balance_fen, annual_rate, months_left, method).periods[0]


def accrued_interest(balance_fen: int, annual_rate: Decimal, days: int, days_per_year: int) -> int:
    """Interest accrued over ``days`` on ``balance_fen`` (``balance × rate / days_per_year × days``, HALF_UP)."""
    if days <= 0 or balance_fen <= 0:
        return 0
    with decimal.localcontext(_context()):
        return _fen(Decimal(balance_fen) * Decimal(annual_rate) / 100 / days_per_year * days)


def check_prepayment(*, status: str, paid_periods: int, balance_fen: int, amount_fen: int, used_this_year: int,
                     rules: Any, principal_fen: int | None = None) -> None:
    """提前还本 conditions of the policy's ``loans.prepayment`` (raises the refusal a borrower understands).

    ``amount_fen`` is what the borrower pays; ``principal_fen`` what is left of it for the balance once the interest
    accrued since the last installment is paid (default: all of it)."""
    principal_fen = amount_fen if principal_fen is None else principal_fen

    check_servicing(status)
    if paid_periods < rules.min_months_repaid:
        raise refusals.NotEligible(f"正常还款满 {rules.min_months_repaid} 期后方可提前还款，已还 {paid_periods} 期",
                                 details={"reason": "min_months_repaid"})
    if used_this_year >= rules.times_per_year:
        raise refusals.NotEligible(f"每年可提前还款 {rules.times_per_year} 次，本年度已办理",
                                 details={"reason": "times_per_year"})
    if amount_fen < rules.min_amount:
        raise refusals.InvalidField.field("amount", f"每次提前还款不少于 {money.format(rules.min_amount)} 元",
                                            message="提前还款金额低于最低金额")
    if principal_fen >= balance_fen:
        raise refusals.InvalidField.field("amount", f"须小于贷款余额 {money.format(balance_fen)} 元",
                                            message="提前还款金额须小于贷款余额；一次还清请办理提前结清")


def check_servicing(status: str) -> None:
    """Prepayment and settlement need a loan in normal repayment (no arrears: 没有贷款结欠)."""

    if status == "overdue":
        raise refusals.NotEligible("贷款有逾期未还款项，请先归还逾期款项", details={"reason": "overdue"})
    if status == "settled":
        raise refusals.AlreadyDone("贷款已结清")
    if status != "normal":
        raise refusals.NotEligible("贷款尚未发放，不能办理", details={"reason": "not_disbursed"})


# ---------------------------------------------------------------- installments as the center charges them


def due_on(disbursed_on: date, period_no: int, repayment_day: int) -> date:
    """The due date of period ``period_no``: the repayment day, ``period_no`` months after disbursement (period 0 is
    the disbursement itself)."""
    return disbursed_on if period_no <= 0 else add_months(disbursed_on, period_no, repayment_day)


def charged_interest(balance_fen: int, annual_rate: Decimal, monthly_interest: int, convention: str,
                     interest_from: date, due: date, period_start: date, days_per_year: int) -> int:
    """The interest an installment charges (还款明细 利息).

    ``monthly``: the plan's ``balance × rate / 12`` (``monthly_interest``), except when interest was already paid
    within the period (a prepayment on ``interest_from`` after ``period_start``): then the days left,
    ``balance × rate / days_per_year × (due − interest_from)``, so no day is charged twice.
    ``actual_days``: ``balance × rate / days_per_year × days`` from ``interest_from`` (the previous due date, or the
    later date interest was paid to) to ``due`` — seed 004's 贷款明细 (balance 192897.15 at 3.575 % over the 31 days
    2018-07-14 → 2018-08-14: 593.83)."""
    if convention == "monthly" and interest_from <= period_start:
        return monthly_interest
    if convention not in ("monthly", "actual_days"):
        raise ValueError(f"unknown interest convention {convention!r}")
    return accrued_interest(balance_fen, annual_rate, (due - interest_from).days, days_per_year)


def penalty_interest(overdue_fen: int, annual_rate: Decimal, days_late: int, factor: Decimal,
                     days_per_year: int) -> int:
    """罚息 on an overdue installment: ``overdue × rate / days_per_year × factor × days late`` (HALF_UP to the fen).

    Source: domain-research §2.3 (the Bijie center's CommLoanAlgorithm: annual rate / 360 × 1.5 × days overdue)."""
    if days_late <= 0 or overdue_fen <= 0:
        return 0
    with decimal.localcontext(_context()):
        return _fen(Decimal(overdue_fen) * Decimal(annual_rate) / 100 / days_per_year * Decimal(factor) * days_late)


def repriced_rate(current: Decimal, in_force: Decimal, term_months: int, term_over_months: int) -> Decimal | None:
    """The rate a loan moves to on the repricing day (重定价), or None when it keeps its rate: loans with a term over
    ``term_over_months`` take the rate in force; a shorter loan keeps its contract rate (PBOC, domain-research §2.1)."""
    if term_months <= term_over_months or Decimal(current) == Decimal(in_force):
        return None
    return Decimal(in_force)
