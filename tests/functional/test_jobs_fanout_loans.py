"""The loan jobs that fan out (issue 18, chalicelib/jobs_fanout.py): ``loan-offset-deduction`` (key-range shards over
the day's ``offset-index``, pending loans retried at the day's later firings) and ``reprice-loans`` (parallel-Scan
segments). Each test has its own moto tables, so a run item is never another test's.

Expected installments are computed here by hand: the test loans are 等额本息 (equal installments) at 2.60 %, so a
period costs ``round(b × r × (1 + r)^n / ((1 + r)^n − 1))`` with ``r = 2.60 % / 12``, ``b`` the balance the loan was
created with and ``n`` the months left; the HPF account (50,000.00) covers it whole (月对冲, domain-research §2.3).
Expected rates: the PBOC 2025-05-08 cut, first home over 5 years 2.85 % → 2.60 %, reaches loans issued before it on
2026-01-01 (domain-research §2.1; policy ``rates.loan`` and ``loans.repricing``).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from chalicelib import clock, fanout, jobs, jobs_fanout
from chalicelib.adapters import bank
from chalicelib.services import loan_offset, loan_repricing
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.loans import Loan, Repayment
from chalicelib.store.messages import Message
from tests.support import factories, loan_data

REPAY_DAY = "2026-09-20T06:00:00+08:00"      # period 22 of a loan disbursed 2024-11-20 on the 20th
HPF = 5_000_000


@pytest.fixture(autouse=True)
def _bank():
    bank.reset()
    yield
    bank.reset()


def installment(balance: int, months_left: int) -> int:
    r = Decimal("0.026") / 12
    growth = (1 + r) ** months_left
    return int((Decimal(balance) * r * growth / (growth - 1)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def borrower(*, balance: int = HPF, **loan_kw):
    p = factories.person()
    a = factories.account(p, balance=balance)
    loan_kw.setdefault("offset_signed", True)
    loan = loan_data.loan(p.id_number, with_repayments=False, **loan_kw)
    return p, a, loan


def offset_entries(account_no: str) -> list[LedgerEntry]:
    return [e for e in LedgerEntry.flow_index.query(account_no) if e.kind == "offset"]


def fresh(loan) -> Loan:
    return Loan.get(loan.contract_no, consistent_read=True)


def run_offset(at: str = REPAY_DAY, shards: int | None = None) -> dict:
    return jobs_fanout.start(loan_offset.FANOUT, clock.parse(at), shards=shards) if shards else \
        loan_offset.run_deduction(clock.parse(at))


def shards_of(pk: str) -> list[StateItem]:
    return list(StateItem.query(pk, StateItem.sk.startswith("shard#"), consistent_read=True))


def count_calls(monkeypatch, module, name: str) -> list[str]:
    """Record the contract number of every call of ``module.name`` (the per-loan step the pages call)."""
    calls: list[str] = []
    real = getattr(module, name)

    def spy(contract_no, *args, **kwargs):
        calls.append(contract_no)
        return real(contract_no, *args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def assert_paid_once(people, period: int, months_left: int, day: str) -> None:
    for _p, a, loan in people:
        due = installment(int(loan.balance), months_left)
        [entry] = offset_entries(a.account_no)
        assert (entry.amount, entry.serial_no) == (due, f"DC{loan.contract_no}-{period:03d}")
        assert int(Account.get(a.account_no, consistent_read=True).balance) == HPF - due
        assert fresh(loan).paid_periods == period
        assert Repayment.get(loan.contract_no, period).date == day


class Outbox:
    """Stands in for SQS: keeps what is sent."""

    def __init__(self):
        self.sent: list[dict] = []

    def send(self, body):
        self.sent.append(json.loads(json.dumps(body)))
        return str(len(self.sent))


# ---------------------------------------------------------------- loan-offset-deduction


@pytest.mark.parametrize("shards", [1, 2, 3])
def test_offset_shards_cover_every_due_loan_once(backend, monkeypatch, shards):
    # GIVEN 7 loans with offset signed due on the 20th, one due on the 19th, and one on the 20th without offset
    monkeypatch.setattr(loan_offset, "PAGE", 2)
    due = [borrower() for _ in range(7)]
    other_day = borrower(repayment_day=19)
    unsigned = borrower(offset_signed=False)
    calls = count_calls(monkeypatch, loan_offset, "deduct")
    # WHEN the day's run is cut into shards
    out = run_offset(shards=shards)
    # THEN every due loan was deducted exactly once, and paid its installment once
    assert out["done"] is True and out["full"] == 7
    assert sorted(calls) == sorted(loan.contract_no for _, _, loan in due)
    assert_paid_once(due, 22, 240 - 21, "2026-09-20")
    assert offset_entries(other_day[1].account_no) == [] and offset_entries(unsigned[1].account_no) == []
    # the shards' key ranges (lo exclusive, hi inclusive) hold each due loan's key exactly once
    items = shards_of(loan_offset.run_key(clock.parse(REPAY_DAY).date()))
    ranges = [(s.data.as_dict()["lo"], s.data.as_dict()["hi"]) for s in items]
    assert len(ranges) == shards and all(s.status == "done" for s in items)
    for _, _, loan in due:
        key = f"20#{loan.contract_no}"
        assert sum(1 for lo, hi in ranges if (lo is None or key > lo) and (hi is None or key <= hi)) == 1
    # the outcome counts kept on the shards add up to the loans
    assert sum(int(s.data.as_dict().get("count_full", 0)) for s in items) == 7


def test_a_second_offset_run_changes_nothing_and_reads_no_loan(aws, monkeypatch):
    monkeypatch.setattr(loan_offset, "PAGE", 3)
    people = [borrower() for _ in range(5)]
    run_offset(shards=2)

    def snapshot():
        return ([(e.serial_no, e.amount, e.balance_after) for _, a, _ in people for e in offset_entries(a.account_no)],
                [int(Account.get(a.account_no, consistent_read=True).balance) for _, a, _ in people],
                [(fresh(loan).version, fresh(loan).paid_periods) for _, _, loan in people],
                [sorted(m.message_id for m in Message.query(p.id_number)) for p, _, _ in people],
                len(bank.gateway().read()))

    before = snapshot()
    calls = count_calls(monkeypatch, loan_offset, "deduct")
    # WHEN the job fires again at 06:15 THEN it reads no loan, writes nothing, sends nothing
    again = run_offset("2026-09-20T06:15:00+08:00")
    assert again["note"] == "already done" and again["full"] == 0 and "retried" not in again
    assert calls == [] and snapshot() == before


class FlakyBank:
    """The local bank, except that it does not answer for the cards in ``down``."""

    def __init__(self):
        self.real = bank.gateway()
        self.down: set[str] = set()

    def debit(self, card_no, amount, reference):
        if card_no in self.down:
            raise bank.BankUnavailable("timeout")
        return self.real.debit(card_no, amount, reference)

    def payout(self, *args):
        return self.real.payout(*args)


def test_a_pending_loan_is_retried_at_the_later_firings_of_the_day_and_only_it(aws, monkeypatch):
    # GIVEN three loans due today; one borrower has no HPF money, so the bank pays, and the bank does not answer
    flaky = FlakyBank()
    monkeypatch.setattr(bank, "_gateway", flaky)
    paid_by_hpf = [borrower(), borrower()]
    p, a, loan = borrower(balance=0, repay_account="6217000010009876543")
    flaky.down.add(loan.repay_account)
    calls = count_calls(monkeypatch, loan_offset, "deduct")
    today = clock.parse(REPAY_DAY).date()
    # WHEN the job fires at 06:00
    first = run_offset()
    # THEN the two are paid, the third is pending and written down; nothing is recorded paid for it
    assert (first["full"], first["pending"]) == (2, 1)
    assert [i.sk for i in StateItem.query(loan_offset.pending_key(today))] == [loan.contract_no]
    assert fresh(loan).paid_periods == 21 and fresh(loan).status == "normal"
    assert_paid_once(paid_by_hpf, 22, 240 - 21, "2026-09-20")
    # WHEN it fires at 06:15 with the bank still silent THEN only the pending loan is tried again, and stays pending
    calls.clear()
    second = run_offset("2026-09-20T06:15:00+08:00")
    assert calls == [loan.contract_no] and (second["pending"], second["retried"], second["full"]) == (1, 1, 0)
    assert [i.sk for i in StateItem.query(loan_offset.pending_key(today))] == [loan.contract_no]
    # WHEN the bank answers again at 06:30 THEN only it is tried, the bank pays the installment once, it is crossed off
    flaky.down.clear()
    calls.clear()
    third = run_offset("2026-09-20T06:30:00+08:00")
    assert calls == [loan.contract_no] and (third["bank_only"], third["pending"]) == (1, 0)
    due = installment(int(loan.balance), 240 - 21)
    assert [(d["op"], d["reference"], d["amount"], d["ok"]) for d in flaky.real.read()] == [
        ("debit", f"DK{loan.contract_no}-022-20260920", due, True)]
    rep = Repayment.get(loan.contract_no, 22)
    assert (rep.from_hpf, rep.from_bank, rep.amount) == (0, due, due) and fresh(loan).paid_periods == 22
    assert list(StateItem.query(loan_offset.pending_key(today))) == []
    # WHEN it fires at 06:45 with nothing pending THEN it reads no loan at all
    calls.clear()
    fourth = run_offset("2026-09-20T06:45:00+08:00")
    assert calls == [] and fourth["note"] == "already done" and "retried" not in fourth
    assert len(flaky.real.read()) == 1 and [m.title for m in Message.query(p.id_number)] == ["月对冲还款"]


@pytest.mark.parametrize(("at", "due_days", "period"), [
    ("2026-09-30T06:00:00+08:00", (30, 31), 22),          # September has 30 days: the 31st is paid on the 30th
    ("2027-02-28T06:00:00+08:00", (28, 29, 30, 31), 27),  # February 2027 has 28: the 29th to the 31st with it
])
def test_a_months_last_day_covers_the_due_days_it_does_not_have_across_shards(aws, monkeypatch, at, due_days, period):
    monkeypatch.setattr(loan_offset, "PAGE", 2)
    paid = period - 1
    due = [borrower(repayment_day=day, paid_periods=paid) for day in due_days for _ in range(3)]
    earlier = borrower(repayment_day=due_days[0] - 1, paid_periods=paid)   # its day is over: not today's
    calls = count_calls(monkeypatch, loan_offset, "deduct")
    out = run_offset(at, shards=3)
    assert out["done"] is True and out["full"] == len(due)
    assert sorted(calls) == sorted(loan.contract_no for _, _, loan in due)
    assert_paid_once(due, period, 240 - paid, at[:10])
    assert offset_entries(earlier[1].account_no) == []


def test_the_offset_run_through_gjj_jobs_run_reports_its_outcomes(aws, monkeypatch):
    # the scheduled body is the coordinator: jobs.run drains the shards locally and answers with the day's counts
    monkeypatch.setenv("GJJ_JOB_SHARDS", "2")
    from chalicelib import settings

    settings.reset()
    people = [borrower() for _ in range(3)]
    declined = borrower(balance=0, repay_account="6217000010001230000")   # the local bank declines ...0000
    out = jobs.run("loan-offset-deduction", clock.parse(REPAY_DAY))
    assert {k: out[k] for k in loan_offset.OUTCOMES} == {"full": 3, "partial": 0, "bank_only": 0, "overdue": 1,
                                                         "pending": 0, "already": 0, "skipped": 0}
    assert out["done"] is True and out["date"] == "2026-09-20"
    assert_paid_once(people, 22, 240 - 21, "2026-09-20")
    assert fresh(declined[2]).status == "overdue"


def test_an_offset_worker_out_of_time_hands_over_and_no_loan_is_deducted_twice(aws, monkeypatch):
    monkeypatch.setattr(loan_offset, "PAGE", 2)
    people = [borrower() for _ in range(5)]
    calls = count_calls(monkeypatch, loan_offset, "deduct")
    outbox = Outbox()
    assert jobs_fanout.start(loan_offset.FANOUT, clock.parse(REPAY_DAY), queue=outbox, shards=1)["sent"] == 1
    [body], outbox.sent = outbox.sent, []
    with fanout.deadline(0):                                # the worker's Lambda has no time left after a page
        first = jobs_fanout.work(body, queue=outbox)
    assert first["continued"] is True and first["counts"] == {"full": 2} and len(calls) == 2
    [continuation] = outbox.sent
    assert (continuation["hop"], continuation["shard"]) == (1, 0)
    rest = jobs_fanout.work(continuation, queue=outbox)
    assert rest["counts"] == {"full": 3}
    assert sorted(calls) == sorted(loan.contract_no for _, _, loan in people)
    assert_paid_once(people, 22, 240 - 21, "2026-09-20")
    run = StateItem.get(loan_offset.run_key(clock.parse(REPAY_DAY).date()), jobs_fanout.RUN_SK)
    assert run.status == "done"


# ---------------------------------------------------------------- reprice-loans


NEW_YEAR = "2026-01-01T00:00:00+08:00"


def old_loans(n: int) -> list[Loan]:
    """``n`` open first-home loans over 5 years issued at the 2024-05-18 rate (2.85 %), some overdue."""
    out = []
    for i in range(n):
        p = factories.person()
        out.append(loan_data.loan(p.id_number, annual_rate="2.85", term_months=240, with_repayments=False,
                                  status="overdue" if i % 4 == 3 else "normal"))
    return out


def run_reprice(at: str = NEW_YEAR, shards: int | None = None, queue=None) -> dict:
    return jobs_fanout.start(loan_repricing.FANOUT, clock.parse(at), queue=queue, shards=shards)


def assert_repriced_once(loans: list[Loan]) -> None:
    for loan in loans:
        after = fresh(loan)
        assert (after.annual_rate, after.repriced_on, after.version) == ("2.60", "2026-01-01", loan.version + 1)
        assert [m.title for m in Message.query(loan.id_number)] == ["贷款利率调整"]


@pytest.mark.parametrize("segments", [1, 3, 4])
def test_scan_segments_reprice_every_open_loan_exactly_once(backend, monkeypatch, segments):
    # on DynamoDB Local too: a Scan's Limit counts the items it evaluates before the filter drops the settled ones,
    # so a page may hold fewer open loans than PAGE, or none, and still not be the segment's end
    monkeypatch.setattr(loan_repricing, "PAGE", 2)
    loans = old_loans(9)
    settled = [loan_data.loan(factories.person().id_number, annual_rate="2.85", status="settled",
                              with_repayments=False) for _ in range(6)]
    calls = count_calls(monkeypatch, loan_repricing, "reprice")
    out = run_reprice(shards=segments)
    assert out["done"] is True and (out["repriced"], out["unchanged"], out["skipped"]) == (9, 0, 0)
    assert sorted(calls) == sorted(loan.contract_no for loan in loans)      # the settled loan is not even read
    assert_repriced_once(loans)
    assert all((fresh(x).annual_rate, fresh(x).version) == ("2.85", x.version) for x in settled)
    items = shards_of(loan_repricing.run_key(clock.parse(NEW_YEAR).date()))
    assert sorted(int(s.data.as_dict()["segment"]) for s in items) == list(range(segments))
    assert all(s.status == "done" for s in items)
    assert sum(int(s.count) for s in items) == 9


def test_a_second_repricing_run_changes_nothing(aws, monkeypatch):
    loans = old_loans(4)
    run_reprice(shards=2)
    calls = count_calls(monkeypatch, loan_repricing, "reprice")
    again = jobs.run("reprice-loans", clock.parse("2026-01-01T00:15:00+08:00"))
    assert again["note"] == "already done" and again["repriced"] == 0 and calls == []
    assert_repriced_once(loans)


def test_a_repricing_worker_out_of_time_hands_over_and_its_continuation_finishes_without_repeats(aws, monkeypatch):
    monkeypatch.setattr(loan_repricing, "PAGE", 2)
    loans = old_loans(7)
    calls = count_calls(monkeypatch, loan_repricing, "reprice")
    outbox = Outbox()
    assert run_reprice(shards=2, queue=outbox)["sent"] == 2
    bodies, outbox.sent = outbox.sent, []
    # WHEN each worker's Lambda has no time left after its first page
    with fanout.deadline(0):
        firsts = [jobs_fanout.work(body, queue=outbox) for body in bodies]
    continued = [out for out in firsts if out.get("continued")]
    assert continued and all(out["pages"] == 1 for out in continued)
    assert len(outbox.sent) == len(continued) and all(b["hop"] == 1 for b in outbox.sent)
    done_first = sorted(calls)
    assert 0 < len(done_first) < 7
    # THEN the continuations go on from the checkpoints: every loan repriced once, none read twice
    while outbox.sent:
        body = outbox.sent.pop(0)
        jobs_fanout.work(body, queue=outbox)
    assert sorted(calls) == sorted(loan.contract_no for loan in loans)
    assert_repriced_once(loans)
    assert StateItem.get(loan_repricing.run_key(clock.parse(NEW_YEAR).date()), jobs_fanout.RUN_SK).status == "done"


def test_a_repricing_firing_out_of_time_is_finished_by_the_next_firing(aws, monkeypatch):
    # locally the coordinator drains the queue itself; when the firing's time is up the next firing goes on
    monkeypatch.setattr(loan_repricing, "PAGE", 2)
    loans = old_loans(6)
    calls = count_calls(monkeypatch, loan_repricing, "reprice")
    looks = {"n": 0}

    def out_of_time():          # the deadline passes after the first page (one look between pages)
        if fanout._deadline.get() is None:
            return False
        looks["n"] += 1
        return looks["n"] > 1

    monkeypatch.setattr(fanout, "out_of_time", out_of_time)
    first = jobs.run("reprice-loans", clock.parse(NEW_YEAR), budget_ms=600_000)
    done_first = len(calls)
    assert first["done"] is False and 0 < done_first < 6
    monkeypatch.setattr(fanout, "out_of_time", lambda: False)
    second = jobs.run("reprice-loans", clock.parse("2026-01-01T00:15:00+08:00"))
    assert second["done"] is True and second["repriced"] == 6 - done_first
    assert sorted(calls) == sorted(loan.contract_no for loan in loans)
    assert_repriced_once(loans)
