"""Twenty people book the last places of a slot at once, on AWS's DynamoDB Local (moto cannot judge
concurrency: it restores whole tables on a failed transaction)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from chalicelib import clock, errors
from chalicelib.services import appointments
from chalicelib.store.appointments import Appointment, slot_pk
from chalicelib.store.content import Branch
from chalicelib.store.kv import StateItem
from tests.support import factories

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=clock.CHINA)
DAY = dt.date(2026, 7, 16)


@pytest.mark.ddblocal
@pytest.mark.parametrize("capacity", [1, 5])
def test_twenty_concurrent_bookings_of_a_slot_with_capacity_n_give_exactly_n(ddb_local, capacity):
    Branch("B9", name="网点", address="地址", phone="1", slots=["09:00-10:00"], capacity_per_slot=capacity).save()
    people = [factories.person() for _ in range(20)]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def book(i: int) -> None:
        start.wait()
        try:
            appointments.book(appointment_id=f"AP-C{i}", id_number=people[i].id_number, branch_id="B9", day=DAY,
                              slot="09:00-10:00", now=NOW)
            result = "booked"
        except errors.Conflict as exc:
            result = "full" if "约满" in exc.message else "busy"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    booked = [a for p in people for a in Appointment.owner_index.query(p.id_number) if a.status == "booked"]
    counter = StateItem.get(slot_pk("B9", DAY.isoformat()), "09:00-10:00", consistent_read=True)
    assert outcomes.count("booked") == len(booked) == int(counter.count) == capacity
    assert outcomes.count("full") == 20 - capacity


@pytest.mark.ddblocal
def test_a_cancelled_place_goes_to_exactly_one_of_the_concurrent_bookers(ddb_local):
    Branch("B8", name="网点", address="地址", phone="1", slots=["09:00-10:00"], capacity_per_slot=2).save()
    holders = [factories.person() for _ in range(2)]
    for i, p in enumerate(holders):
        appointments.book(appointment_id=f"AP-H{i}", id_number=p.id_number, branch_id="B8", day=DAY,
                          slot="09:00-10:00", now=NOW)
    waiting = [factories.person() for _ in range(8)]
    start = threading.Barrier(9)

    def cancel() -> None:
        start.wait()
        appointments.cancel("AP-H0", id_number=holders[0].id_number, now=NOW)

    def book(i: int) -> None:
        start.wait()
        for _ in range(5):     # they keep trying while the slot is full
            try:
                appointments.book(appointment_id=f"AP-W{i}", id_number=waiting[i].id_number, branch_id="B8",
                                  day=DAY, slot="09:00-10:00", now=NOW)
                return
            except errors.Conflict:
                continue

    threads = [threading.Thread(target=cancel)] + [threading.Thread(target=book, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everyone = holders + waiting
    booked = [a for p in everyone for a in Appointment.owner_index.query(p.id_number) if a.status == "booked"]
    counter = StateItem.get(slot_pk("B8", DAY.isoformat()), "09:00-10:00", consistent_read=True)
    assert len(booked) == int(counter.count) <= 2
    assert Appointment.get("AP-H0").status == "cancelled"
