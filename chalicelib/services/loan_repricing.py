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

Fanned out across workers (:mod:`chalicelib.jobs_fanout`, issue 18): one run per repricing day
(``job#reprice-loans#<day>``, ``state`` table). No index holds the loans by status, so the shards are segments of
a parallel Scan of the loans table (``GJJ_JOB_SHARDS`` segments); each worker reads its segment :data:`PAGE`
loans at a time (open ones only, contract numbers only), reprices them side by side and checkpoints the last key
the Scan evaluated, from which a continuation (or a worker sent again) goes on. Once every segment is done a
further firing for that day reads the run item and nothing else.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pynamodb.exceptions import UpdateError

from chalicelib import clock, fanout, jobs_fanout, log, policy
from chalicelib.rules import loans as rules
from chalicelib.services import notify
from chalicelib.store.loans import Loan

logger = log.get("loan_repricing")
JOB = "reprice-loans"
PAGE = 100                 # open loans read per Scan page and per checkpoint
OUTCOMES = ("repriced", "unchanged", "skipped")
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


def run_key(day: dt.date) -> str:
    """The repricing day's run item (``state`` table, sk ``-``)."""
    return f"job#{JOB}#{day.isoformat()}"


def reprice_all(now: dt.datetime) -> dict:
    """The scheduled function: the coordinator of the repricing day's run (locally it also drains the queue)."""
    return jobs_fanout.start(FANOUT, now)


def _plan(now: dt.datetime) -> jobs_fanout.Plan:
    day = repricing_day(now.astimezone(clock.CHINA).date())
    return jobs_fanout.Plan(run_key(day), {"day": day.isoformat()})


def _page(context: dict, shard: jobs_fanout.Shard, now: dt.datetime) -> jobs_fanout.Page:
    """The next :data:`PAGE` open loans of the shard's Scan segment, repriced side by side and checkpointed at the
    last key the Scan evaluated (None when the segment is exhausted: the shard is done)."""
    day = dt.date.fromisoformat(context["day"])
    start = {"contract_no": {"S": shard.cursor}} if shard.cursor is not None else None
    found = Loan.scan(Loan.status.is_in(*rules.OPEN_LOAN_STATUSES), segment=shard.segment,
                      total_segments=shard.segments, limit=PAGE, last_evaluated_key=start,
                      attributes_to_get=["contract_no"])
    contracts = [loan.contract_no for loan in found]
    last = (found.last_evaluated_key or {}).get("contract_no", {}).get("S")
    cursor = last if last is not None else (contracts[-1] if contracts else None)
    if cursor is None:
        return jobs_fanout.Page(None, more=False)
    outcomes = fanout.run_all(lambda contract_no: reprice(contract_no, day, now), contracts)
    counts = jobs_fanout.tally(outcomes)
    jobs_fanout.checkpoint(shard, cursor, counts.get("repriced", 0), 0, now, counts=counts)
    return jobs_fanout.Page(cursor, counts.get("repriced", 0), 0, more=last is not None, counts=counts)


def _finished(context: dict, totals: dict, now: dt.datetime) -> None:
    log.event(logger, "loan repricing", day=context["day"], **jobs_fanout.by_outcome(totals, OUTCOMES))


def _summary(context: dict, totals: dict | None) -> dict:
    out: dict = {"day": context["day"]}
    if totals is not None:
        out.update(jobs_fanout.by_outcome(totals, OUTCOMES))
    return out


FANOUT = jobs_fanout.FanoutJob(JOB, plan=_plan, keys=lambda context: [], page=_page, finished=_finished,
                               summary=_summary, scan=True)


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
