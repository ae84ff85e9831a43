"""A job that runs out of its Lambda's time stops between items; its next firing goes on where it stopped."""

from __future__ import annotations

import pytest

from chalicelib import clock, fanout, jobs
from chalicelib.services import interest
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.messages import Message
from tests.support import factories

REMIND_AT = clock.parse("2026-07-20T09:00:00+08:00")
JUNE_30 = clock.parse("2026-06-30T23:00:00+08:00")


def time_runs_out_after(monkeypatch, checks: int):
    """The deadline passes after ``checks`` looks at the clock (deterministic, whatever the threads do)."""
    seen = {"n": 0}

    def out_of_time():
        if fanout._deadline.get() is None:       # inside a started item, or a run without a deadline
            return False
        seen["n"] += 1
        return seen["n"] > checks

    monkeypatch.setattr(fanout, "out_of_time", out_of_time)


def reminders(people):
    return sum([m.title for m in Message.query(p.id_number)].count("汇缴提醒") for p in people)


@pytest.mark.parametrize("workers", ["1", "8"])
def test_remittance_reminders_out_of_time_go_on_at_the_next_firing(aws, monkeypatch, workers):
    # GIVEN 12 flexible depositors unpaid this period, read 2 index entries a page
    monkeypatch.setenv("GJJ_JOB_WORKERS", workers)
    from chalicelib import settings
    from chalicelib.services import remittance

    settings.reset()
    monkeypatch.setattr(remittance, "REMIND_PAGE", 2)
    people = [factories.depositor(kind="flexible", paid_through="202601")[0] for _ in range(12)]
    # WHEN the first firing's time runs out after 5 looks at the clock (the worker looks once between pages)
    time_runs_out_after(monkeypatch, 5)
    first = jobs.run("send-remittance-reminders", REMIND_AT, budget_ms=600_000)
    # THEN it says it is not done, reminded whole pages only, not everyone, and did not mark the period done
    assert first["done"] is False
    done_first = reminders(people)
    assert 0 < done_first < 12 and done_first % 2 == 0
    assert StateItem.get("job#send-remittance-reminders#202607", "-").status == "running"
    # WHEN the next firing has time THEN the others are reminded, nobody twice, and the period is done
    monkeypatch.undo()
    assert jobs.run("send-remittance-reminders", REMIND_AT)["reminded"] == 12 - done_first
    assert reminders(people) == 12
    assert all(reminders([p]) == 1 for p in people)
    assert StateItem.get("job#send-remittance-reminders#202607", "-").status == "done"


def test_a_done_period_is_not_gone_through_again(aws):
    first_person = factories.depositor(kind="flexible", paid_through="202601")[0]
    assert jobs.run("send-remittance-reminders", REMIND_AT)["reminded"] == 1
    # a later firing the same day reads the marker, not every unpaid account again
    late = factories.depositor(kind="flexible", paid_through="202601")[0]
    again = jobs.run("send-remittance-reminders", REMIND_AT)
    assert again == {"period": "202607", "reminded": 0, "note": "already done"}
    assert reminders([first_person]) == 1 and reminders([late]) == 0


def test_interest_out_of_time_stops_between_pages_and_the_next_firing_finishes(aws, monkeypatch):
    monkeypatch.setattr(interest, "PAGE", 4)
    accounts = [factories.account(factories.person(), balance=100_000) for _ in range(10)]
    # the time runs out after the first page: each() looks at the clock once per batch, check_time once a page
    time_runs_out_after(monkeypatch, 2)
    assert jobs.run("settle-annual-interest", JUNE_30, budget_ms=600_000)["done"] is False
    progress = StateItem.get(*interest.progress_key(2026))
    assert progress.status == "running" and progress.value is not None
    posted = [a for a in accounts if list(LedgerEntry.flow_index.query(a.account_no))]
    assert 0 < len(posted) < 10
    monkeypatch.setattr(fanout, "out_of_time", lambda: False)
    finished = jobs.run("settle-annual-interest", JUNE_30)
    assert finished["done"] is True and finished["posted"] == 10 - len(posted)
    for a in accounts:
        assert [e.amount for e in LedgerEntry.flow_index.query(a.account_no) if e.kind == "interest"] == [1_500]


def test_a_scheduled_lambda_runs_its_job_under_a_deadline_from_its_remaining_time(aws, client, clock_file,
                                                                                   monkeypatch):
    # GIVEN a Lambda context whose time is as good as gone
    clock_file("2026-07-20T09:00:00+08:00")
    factories.depositor(kind="flexible", paid_through="202601")
    asked = []
    monkeypatch.setattr(jobs, "budget_ms", lambda ms: asked.append(ms) or 0)
    # WHEN EventBridge fires the job THEN it stops at once and says so, leaving the work to the next firing
    out = client.lambda_.invoke("send_remittance_reminders", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload
    assert out["done"] is False and asked and asked[0] > 0


@pytest.mark.parametrize(("remaining_ms", "budget"), [(900_000, 840_000), (300_000, 270_000), (3_000, 2_000)])
def test_a_tenth_of_the_lambdas_time_is_kept_to_finish(remaining_ms, budget):
    assert jobs.budget_ms(remaining_ms) == budget


def test_the_jobs_with_work_per_item_fire_again_within_their_hour():
    for name in ("send-appointment-reminders", "send-remittance-reminders", "loan-offset-deduction",
                 "settle-annual-interest"):
        assert jobs.get(name).cron[0] == "0/15"
