"""The two reminder jobs fanned out across workers (issue 18, chalicelib/jobs_fanout.py).

``send-appointment-reminders``: shards are key ranges of tomorrow's part of the ``remind-index`` (``sort_key``).
``send-remittance-reminders``: shards are parallel-scan segments of the sparse ``remit-index`` (its range key,
``paid_through``, is shared by many accounts, so it cannot be cut into key ranges).

Who is due a reminder is decided here from how each test built its people, not by the code under test: an
appointment booked for tomorrow and not cancelled (CONTRACT section 9: ``send-appointment-reminders`` "the day
before, 18:00"); a flexible depositor, account normal, paid through a month before this period (CONTRACT section 9:
``send-remittance-reminders`` "flexible depositors unpaid for the current period on the 20th"). "Exactly once"
(section 9: "the second run changes nothing and sends nothing") is counted on the depositor's messages (one written
per reminder, nothing stops a second) and on the SMS outbox.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from chalicelib import clock, fanout, jobs, jobs_fanout
from chalicelib.services import appointments, remittance
from chalicelib.store.content import Branch
from chalicelib.store.kv import StateItem
from chalicelib.store.messages import Message, OutboundSms
from tests.support import factories
from tests.support.job_runs import receive_all

MORNING = clock.parse("2026-07-15T09:00:00+08:00")      # a Wednesday
EVENING = clock.parse("2026-07-15T18:00:00+08:00")      # the reminder job's hour (policy appointments.reminder_hour)
TOMORROW = dt.date(2026, 7, 16)
LATER = dt.date(2026, 7, 17)
APPT_RUN = "job#send-appointment-reminders#2026-07-16"
REMIND_AT = clock.parse("2026-07-20T09:00:00+08:00")    # the 20th, 09:00: period 202607
REMIT_RUN = "job#send-remittance-reminders#202607"
SLOTS = ["09:00-10:00", "10:00-11:00", "14:00-15:00"]


def titled(id_number: str, title: str) -> int:
    return [m.title for m in Message.query(id_number)].count(title)


def shards_of(run: str) -> list[StateItem]:
    return [s for s in StateItem.query(run, consistent_read=True) if s.sk.startswith("shard#")]


# ---------------------------------------------------------------- appointments


def branch() -> None:
    Branch("B01", name="小店区网点", address="太原市小店区", phone="0351-1234567", slots=SLOTS,
           capacity_per_slot=20).save()


_ids = itertools.count(1)


def book(n: int, day: dt.date) -> list:
    """``n`` people each booked once on ``day`` (through the booking service, so slots are counted)."""
    out = []
    for i in range(n):
        p = factories.person()
        appt = appointments.book(appointment_id=f"APT{next(_ids):06d}", id_number=p.id_number,
                                 branch_id="B01", day=day, slot=SLOTS[i % len(SLOTS)], now=MORNING)
        out.append(appt)
    assert len({a.appointment_id for a in out}) == n
    return out


def appointment_reminders(appts) -> dict[str, tuple[int, int]]:
    """Per appointment: (reminder messages of its person, reminder SMS queued for it)."""
    sms = {s.sms_id for s in OutboundSms.scan()}
    return {a.appointment_id: (titled(a.id_number, "预约提醒"), int(f"appointment-reminder#{a.appointment_id}" in sms))
            for a in appts}


@pytest.mark.parametrize("shards", [2, 3])
def test_appointment_shards_remind_each_of_tomorrows_appointments_exactly_once(backend, monkeypatch, shards):
    monkeypatch.setattr(appointments, "PAGE", 2)
    branch()
    due = book(8, TOMORROW)
    later = book(2, LATER)
    gone = book(1, TOMORROW)
    appointments.cancel(gone[0].appointment_id, id_number=gone[0].id_number, now=MORNING)
    out = jobs_fanout.start(appointments.FANOUT, EVENING, shards=shards)
    assert (out["done"], out["day"], out["reminded"]) == (True, "2026-07-16", 8)
    assert appointment_reminders(due) == {a.appointment_id: (1, 1) for a in due}
    assert appointment_reminders(later + gone) == {a.appointment_id: (0, 0) for a in later + gone}
    # the shards' ranges (lo exclusive, hi inclusive) hold each due appointment once, and each shard reminded
    # exactly the appointments of its range
    items = shards_of(APPT_RUN)
    ranges = [(s.data.as_dict()["lo"], s.data.as_dict()["hi"]) for s in items]
    assert len(items) == shards and all(s.status == "done" for s in items)

    def inside(key, lo, hi):
        return (lo is None or key > lo) and (hi is None or key <= hi)

    keys = [a.sort_key for a in due]
    assert all(sum(1 for lo, hi in ranges if inside(k, lo, hi)) == 1 for k in keys)
    assert [int(s.count) for s in items] == [sum(1 for k in keys if inside(k, lo, hi)) for lo, hi in ranges]
    assert sum(1 for s in items if int(s.count) > 0) >= 2          # the work really was split
    assert StateItem.get(APPT_RUN, "-").status == "done"
    # a second run (a later firing of the evening) sends nothing
    again = jobs.run("send-appointment-reminders", EVENING)
    assert again["reminded"] == 0 and again["done"] is True
    assert appointment_reminders(due) == {a.appointment_id: (1, 1) for a in due}
    assert len(list(OutboundSms.scan())) == 8




def lambda_workers(client, url, q, extra=()) -> None:
    """What the job_worker Lambda does, one message at a time, until the queue is empty."""
    bodies = list(extra)
    while True:
        bodies += receive_all(client, url)
        if not bodies:
            return
        for body in bodies:
            jobs_fanout.work(body, queue=q)
        bodies = []


def test_an_appointment_worker_stopped_by_its_deadline_resumes_without_duplicates_and_skips_a_cancellation(
        sqs, monkeypatch):
    client, url, q = sqs
    monkeypatch.setattr(appointments, "PAGE", 2)
    branch()
    booked = sorted(book(7, TOMORROW), key=lambda a: a.sort_key)
    assert jobs_fanout.start(appointments.FANOUT, EVENING, queue=q, shards=1)["sent"] == 1
    [body] = receive_all(client, url)
    with fanout.deadline(0):                                     # the worker Lambda's time is already up
        out = jobs_fanout.work(body, queue=q)
    assert out["continued"] is True and out["pages"] == 1 and out["posted"] == 2
    assert appointment_reminders(booked) == {a.appointment_id: ((1, 1) if i < 2 else (0, 0))
                                             for i, a in enumerate(booked)}
    # the run has started; the last appointment of the day is cancelled before any worker reaches it
    cancelled = booked[-1]
    appointments.cancel(cancelled.appointment_id, id_number=cancelled.id_number, now=EVENING)
    # the continuation, and the first message delivered again (a twin worker on the same shard), finish the run
    lambda_workers(client, url, q, extra=[body])
    reminded = booked[:-1]
    assert appointment_reminders(reminded) == {a.appointment_id: (1, 1) for a in reminded}
    assert appointment_reminders([cancelled]) == {cancelled.appointment_id: (0, 0)}
    assert titled(cancelled.id_number, "预约已取消") == 1
    assert StateItem.get(APPT_RUN, "-").status == "done"
    assert int(StateItem.get(APPT_RUN, "-").count) == 1             # the one shard counted once
    assert jobs_fanout.start(appointments.FANOUT, EVENING, queue=q, shards=1)["done"] is True
    assert receive_all(client, url) == []


# ---------------------------------------------------------------- remittance


def flexible(paid_through: str, *, status: str = "normal", kind: str = "flexible"):
    p = factories.person()
    a = factories.account(p, kind=kind, status=status, paid_through=paid_through, monthly_amount=50_000,
                          opened_on="2020-03-01")
    factories.user(p, sms_subscribed=True)
    return p, a


def remittance_reminders(people) -> dict[str, tuple[int, int]]:
    """Per account: (reminder messages of its person, reminder SMS queued for it this period)."""
    sms = {s.sms_id for s in OutboundSms.scan()}
    return {a.account_no: (titled(p.id_number, "汇缴提醒"), int(f"reminder#202607#{a.account_no}" in sms))
            for p, a in people}


def unpaid_and_others():
    behind = [flexible("202606") for _ in range(6)] + [flexible("202603") for _ in range(3)]
    others = [flexible("202607"), flexible("202601", status="sealed"), flexible("202601", kind="employee")]
    return behind, others


@pytest.mark.parametrize("shards", [2, 3])
def test_remittance_scan_segments_remind_each_unpaid_depositor_exactly_once(backend, monkeypatch, shards):
    monkeypatch.setattr(remittance, "REMIND_PAGE", 2)
    behind, others = unpaid_and_others()
    out = jobs_fanout.start(remittance.FANOUT, REMIND_AT, shards=shards)
    assert (out["done"], out["period"], out["reminded"]) == (True, "202607", len(behind))
    assert remittance_reminders(behind) == {a.account_no: (1, 1) for _, a in behind}
    assert remittance_reminders(others) == {a.account_no: (0, 0) for _, a in others}
    items = shards_of(REMIT_RUN)
    assert sorted(int(s.data.as_dict()["segment"]) for s in items) == list(range(shards))
    assert {int(s.data.as_dict()["segments"]) for s in items} == {shards}
    assert all(s.status == "done" for s in items) and sum(int(s.count) for s in items) == len(behind)
    # a second run answers as a done period always has, and sends nothing
    again = jobs.run("send-remittance-reminders", REMIND_AT)
    assert again == {"period": "202607", "reminded": 0, "note": "already done"}
    assert remittance_reminders(behind) == {a.account_no: (1, 1) for _, a in behind}
    assert len(list(OutboundSms.scan())) == len(behind)


def test_a_remittance_segment_stopped_by_its_deadline_resumes_without_duplicates(sqs, monkeypatch):
    client, url, q = sqs
    monkeypatch.setattr(remittance, "REMIND_PAGE", 2)
    behind, others = unpaid_and_others()
    assert jobs_fanout.start(remittance.FANOUT, REMIND_AT, queue=q, shards=2)["sent"] == 2
    bodies = sorted(receive_all(client, url), key=lambda b: b["shard"])
    with fanout.deadline(0):                                     # each worker Lambda's time is already up
        firsts = [jobs_fanout.work(b, queue=q) for b in bodies]
    assert all(f["pages"] == 1 for f in firsts) and any(f.get("continued") for f in firsts)
    so_far = remittance_reminders(behind)
    assert sum(m for m, _ in so_far.values()) == sum(f["posted"] for f in firsts) < len(behind)
    assert all(m <= 1 for m, _ in so_far.values())
    assert StateItem.get(REMIT_RUN, "-").status == "running"
    # a segment's checkpoint is DynamoDB's LastEvaluatedKey of the index as JSON: the account number and the index's
    # keys, nothing about the person
    accounts = {a.account_no: a for _, a in behind + others}
    secrets = [p.id_number for p, _ in behind + others] + [p.phone for p, _ in behind + others]
    cursors = [s.value for s in shards_of(REMIT_RUN) if s.value != "end"]   # "end": a segment read in one page
    assert cursors
    for value in cursors:
        cursor = json.loads(value)
        assert set(cursor) == {"account_no", "remit_group", "paid_through"}
        assert cursor["remit_group"] == {"S": "flexible"}
        assert cursor["paid_through"] == {"S": accounts[cursor["account_no"]["S"]].paid_through}
        assert not any(secret in value for secret in secrets)
    # the continuations, and both first messages delivered again (twin workers), finish the period
    lambda_workers(client, url, q, extra=bodies)
    assert remittance_reminders(behind) == {a.account_no: (1, 1) for _, a in behind}
    assert remittance_reminders(others) == {a.account_no: (0, 0) for _, a in others}
    run = StateItem.get(REMIT_RUN, "-")
    assert run.status == "done" and int(run.count) == 2
    assert sum(int(s.count) for s in shards_of(REMIT_RUN)) == len(behind)    # a page done twice counts no one twice
    assert jobs.run("send-remittance-reminders", REMIND_AT)["note"] == "already done"
