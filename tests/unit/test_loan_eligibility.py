"""Loan applications' age limit and one-loan-at-a-time rule (chalicelib/rules/loan_eligibility.py).

Expected dates are counted here by hand from the calendar (domain-research 2.2: the term ends by the statutory
retirement age + 5 years)."""

from __future__ import annotations

import datetime as dt

from chalicelib.rules import loan_eligibility as rules

D = dt.date


def test_the_latest_end_is_five_years_after_the_retirement_day():
    assert rules.latest_term_end(D(2048, 6, 15), 5) == D(2053, 6, 15)
    assert rules.latest_term_end(D(2028, 2, 29), 5) == D(2033, 2, 28)       # no 29 February in 2033


def test_the_longest_term_ends_on_or_before_the_latest_day():
    assert rules.longest_term(D(2026, 7, 15), D(2053, 6, 15)) == 323        # 26 years 11 months
    assert rules.longest_term(D(2026, 7, 16), D(2053, 6, 15)) == 322        # one day later: a month less
    assert rules.longest_term(D(2026, 1, 31), D(2026, 2, 28)) == 1          # 31 January + 1 month = 28 February
    assert rules.longest_term(D(2026, 7, 15), D(2026, 7, 1)) == 0


def test_the_age_problem_names_the_latest_day_and_the_longest_term():
    kw = dict(start=D(2026, 7, 15), retires_on=D(2048, 6, 15), retirement_age="63岁", years_after_retirement=5)
    assert rules.age_problem(term_months=323, **kw) is None
    said = rules.age_problem(term_months=324, **kw)
    assert "63岁" in said and "2053-06-15" in said and "最长 323 个月" in said
    old = rules.age_problem(term_months=12, **{**kw, "retires_on": D(2020, 3, 15), "retirement_age": "60岁"})
    assert "已超过可申请住房公积金贷款的年龄" in old


def test_only_settled_loans_allow_another():
    assert not rules.has_unsettled(["settled", "settled"])
    for status in ("applying", "approved", "normal", "overdue"):
        assert rules.has_unsettled(["settled", status])
