"""Loan repricing (重定价): the ``reprice-loans`` job, on 1 January (China time).

PBOC: a change of the HPF loan rate applies to new loans at once and to existing loans on 1 January of the following
year (the 2025-05-08 cut reaches existing loans on 2026-01-01; domain-research §2.1, policy ``loans.repricing`` and the
``rates.loan`` rows' ``source``). On the repricing day every open loan (normal, overdue) disbursed before it, with a
term over ``term_over_months`` (a year), moves to the rate in force that day for its band (up to / over 5 years) and
its home (first or second: the loan's ``home``, or read from its rate when the loan does not say). A loan of a year
or less keeps its contract rate. The remaining plan follows (installments are always recomputed from the balance,
the rate and the months left).

Idempotent: a loan already at the rate is left alone (no write, no message); the write is conditioned on the
version and the old rate; the borrower's message is keyed ``<contract>#<day>`` so a re-run sends nothing twice.
A run on another day applies the last repricing day's decision again (the same result).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pynamodb.exceptions import UpdateError

from chalicelib import clock, fanout, log, policy
from chalicelib.rules import loans as rules
from chalicelib.services import notify
from chalicelib.store.loans import Loan

logger = log.get("loan_repricing")
_ATTEMPTS = 5


def repricing_day(today: dt.date) -> dt.date:
    """The latest repricing day (``loans.repricing`` month/day) on or before ``today``."""
    cfg = policy.get().loans.repricing
    this_year = dt.date(today.year, cfg.month, cfg.day)
    return this_year if this_year <= today else dt.date(today.year - 1, cfg.month, cfg.day)


def home_of(loan: Loan) -> str:
    """first | second: the loan's own, or read from its rate (a rate that is only ever a second-home band)."""
    if loan.home in ("first", "second"):
        return loan.home
    rate = Decimal(loan.annual_rate)
    band = rules.band(int(loan.term_months))
    rows = policy.get().rates.loan
    seconds = {Decimal(getattr(r.second_home, band)) for r in rows}
    firsts = {Decimal(getattr(r.first_home, band)) for r in rows}
    return "second" if rate in seconds and rate not in firsts else "first"


def reprice_all(now: dt.datetime) -> dict:
    day = repricing_day(now.astimezone(clock.CHINA).date())
    counts = {"repriced": 0, "unchanged": 0, "skipped": 0}
    loans = Loan.scan(Loan.status.is_in(*rules.OPEN_LOAN_STATUSES), attributes_to_get=["contract_no"])
    for outcome in fanout.each(lambda item: reprice(item.contract_no, day, now), loans):
        counts[outcome] += 1
    log.event(logger, "loan repricing", day=day.isoformat(), **counts)
    return {"day": day.isoformat(), **counts}


def reprice(contract_no: str, day: dt.date, now: dt.datetime) -> str:
    """Move one loan to the rate in force on ``day``; returns repriced | unchanged | skipped."""
    cfg = policy.get()
    for _attempt in range(_ATTEMPTS):
        try:
            loan = Loan.get(contract_no, consistent_read=True)
        except Loan.DoesNotExist:
            return "skipped"
        if loan.status not in rules.OPEN_LOAN_STATUSES or not loan.disbursed_on \
                or dt.date.fromisoformat(loan.disbursed_on) >= day:
            return "skipped"
        old = Decimal(loan.annual_rate)
        in_force = rules.rate_for(cfg.rates, day, int(loan.term_months), home_of(loan))
        new = rules.repriced_rate(old, in_force, int(loan.term_months), cfg.loans.repricing.term_over_months)
        if new is None:
            return "unchanged"
        try:
            loan.update(actions=[Loan.annual_rate.set(str(new)), Loan.repriced_on.set(day.isoformat()),
                                 Loan.version.set(int(loan.version or 0) + 1), Loan.updated_at.set(now)],
                        condition=(Loan.version == int(loan.version or 0)) & (Loan.annual_rate == loan.annual_rate))
        except UpdateError:
            continue            # the loan moved (an installment, a prepayment): read again
        row = cfg.rates.loan_rate_on(day)
        notify.citizen(loan.id_number, title="贷款利率调整",
                       body=f"根据中国人民银行公积金贷款利率调整（{row.effective_from.isoformat()} 起执行），"
                            f"您的公积金贷款 {contract_no} 自 {day.isoformat()} 起年利率由 {old}% 调整为 {new}%，"
                            f"此后各期还款额按新利率重新计算。",
                       kind="loan", now=now, key=f"{contract_no}#{day.isoformat()}")
        return "repriced"
    logger.warning("repricing gave up after retries", extra={"fields": {"contract": contract_no}})
    return "skipped"
