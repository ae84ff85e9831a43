"""Who may borrow (贷款申请条件), beyond the amount limits. Pure: facts in, a problem (or None) out.

* The borrower's age at the end of the term: the last installment falls due at most ``years_after_retirement``
  (policy ``loans``; 5 in most cities) years after the day the borrower reaches the statutory retirement age
  (:mod:`chalicelib.rules.retirement`; domain-research 2.2: "Age at application + term must not pass statutory
  retirement age + 5 years", with the 2025 reform's new ages). The term of a loan starting ``start`` ends on
  ``add_months(start, term_months)``.
* No unsettled HPF loan (未结清的住房公积金贷款) of the buyer: one HPF loan at a time.
* The rate is the one in force on the day of disbursement (贷款发放), not of the application.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from chalicelib.rules.loans import add_months

UNSETTLED_LOAN_STATUSES = ("applying", "approved", "normal", "overdue")


def latest_term_end(retires_on: dt.date, years_after_retirement: int) -> dt.date:
    """The last day a loan's term may end: the statutory retirement day plus the policy's years."""
    return add_months(retires_on, 12 * years_after_retirement, day=retires_on.day)


def longest_term(start: dt.date, latest_end: dt.date) -> int:
    """The most months a term starting ``start`` may run and still end by ``latest_end`` (0 when none)."""
    months = (latest_end.year - start.year) * 12 + (latest_end.month - start.month)
    while months > 0 and add_months(start, months) > latest_end:
        months -= 1
    return max(months, 0)


def age_problem(*, start: dt.date, term_months: int, retires_on: dt.date, retirement_age: str,
                years_after_retirement: int) -> str | None:
    """Why the borrower is too old for this term (a sentence for the term_months field), or None."""
    latest = latest_term_end(retires_on, years_after_retirement)
    if add_months(start, term_months) <= latest:
        return None
    longest = longest_term(start, latest)
    said = (f"贷款到期时借款人不能超过法定退休年龄（{retirement_age}）后 {years_after_retirement} 年，"
            f"即最晚 {latest.isoformat()} 到期")
    if longest < 1:
        return f"{said}，借款人已超过可申请住房公积金贷款的年龄"
    return f"{said}，本申请贷款期限最长 {longest} 个月"


def has_unsettled(statuses: Iterable[str]) -> bool:
    return any(s in UNSETTLED_LOAN_STATUSES for s in statuses)
