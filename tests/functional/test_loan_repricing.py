"""The ``reprice-loans`` job (重定价): on 1 January existing loans over a year move to the rate in force.

Expected rates come from the PBOC tables (domain-research §2.1): from 2024-05-18 first home 2.35 % (≤ 5 years) /
2.85 % (> 5 years), second home 2.775 % / 3.325 %; from 2025-05-08 first home 2.10 % / 2.60 %, second home
2.525 % / 3.075 %, reaching loans issued before it on 2026-01-01. A loan of one year or less keeps its rate.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib import clock, jobs
from chalicelib.store.loans import Loan, Repayment
from chalicelib.store.messages import Message
from tests.support import factories, job_runs, loan_data
from tests.support.moto_module import shared_tables  # noqa: F401  (fixture)

NEW_YEAR = "2026-01-01T00:00:00+08:00"


@pytest.fixture
def aws(request, local_dir):
    request.getfixturevalue("shared_tables")


@pytest.fixture(autouse=True)
def _fresh_runs(request):
    """The module shares its tables: the day's run of a fanned-out job one test did is not another test's."""
    yield
    if "shared_tables" in request.fixturenames:
        job_runs.forget("job#reprice-loans#", "job#loan-offset-deduction#", "offset-pending#")


@pytest.fixture
def now(aws, clock_file):
    clock_file(NEW_YEAR)
    return clock.now()


def _loan(**kw):
    p = factories.person()
    factories.account(p, balance=10_000_000)
    kw.setdefault("disbursed_on", "2024-11-20")
    return p, loan_data.loan(p.id_number, **kw)


def _fresh(loan) -> Loan:
    return Loan.get(loan.contract_no, consistent_read=True)


def _run(at=NEW_YEAR):
    return jobs.run("reprice-loans", clock.parse(at))


def test_existing_loans_over_a_year_move_to_the_rate_in_force_on_1_january_once(now):
    # GIVEN loans issued in 2024-11 at the 2024-05-18 rates: first home > 5 years, second home > 5 years, and a
    # first-home loan of 12 months (not over a year), plus a loan issued after the cut and a settled one
    first, a = _loan(annual_rate="2.85", term_months=240)
    second, b = _loan(annual_rate="3.325", term_months=240)
    short_p, short = _loan(annual_rate="2.35", term_months=12, paid_periods=5)
    _, new = _loan(annual_rate="2.60", term_months=240, disbursed_on="2025-06-20", paid_periods=3)
    _, done = _loan(annual_rate="2.85", term_months=240, status="settled")
    # WHEN the job runs at 00:00 on 2026-01-01, and again
    first_run, second_run = _run(), _run()
    # THEN the two long loans take the 2025-05-08 rates; the others keep theirs
    assert (_fresh(a).annual_rate, _fresh(a).repriced_on) == ("2.60", "2026-01-01")
    assert _fresh(b).annual_rate == "3.075"
    assert (_fresh(short).annual_rate, _fresh(new).annual_rate, _fresh(done).annual_rate) == ("2.35", "2.60", "2.85")
    assert first_run["repriced"] >= 2 and second_run["repriced"] == 0
    assert _fresh(a).version == a.version + 1                                # the second run wrote nothing
    [msg] = Message.query(first.id_number)
    assert msg.title == "贷款利率调整" and "由 2.85% 调整为 2.60%" in msg.body
    assert len(list(Message.query(second.id_number))) == 1 and list(Message.query(short_p.id_number)) == []


def test_before_1_january_the_cut_does_not_reach_existing_loans(now):
    _, loan = _loan(annual_rate="2.85", term_months=240)
    _run("2025-12-31T23:00:00+08:00")        # the last repricing day was 2025-01-01: the 2024-05-18 rate, 2.85
    assert _fresh(loan).annual_rate == "2.85"


def test_the_next_installment_charges_the_new_rate(now):
    # GIVEN a first-home loan at 2.85 % repriced on 2026-01-01, with offset signed, 13 installments paid
    p, loan = _loan(annual_rate="2.85", term_months=240, paid_periods=13, offset_signed=True)
    balance = int(_fresh(loan).balance)
    _run()
    # WHEN period 14 falls due on 2026-01-20 (2024-11-20 + 14 months)
    jobs.run("loan-offset-deduction", clock.parse("2026-01-20T06:00:00+08:00"))
    # THEN its interest is the balance × 2.60 % / 12, by hand
    rep = Repayment.get(loan.contract_no, 14)
    assert rep.interest == int((Decimal(balance) * Decimal("0.026") / 12).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def test_the_job_is_scheduled_at_midnight_china_time_on_1_january():
    job = jobs.JOBS["reprice-loans"]
    assert job.cron[1:4] == ("16", "31", "12")          # 16:00 UTC on 31 December = 00:00 on 1 January, UTC+8
