"""A unit of 2,000 employees pays a month's roster (汇缴清册), on moto and on AWS's DynamoDB Local.

The payment is cut into 41 ledger transactions of at most 49 employees (each transaction also advances the
payment's progress). The 21st transaction commits but its answer is lost (the Lambda dies): the payment is
asked for again with the same key and resumes at the 22nd; every employee's deposit record shows the month
once, every employee gets one message, and the unit is debited once.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.adapters import bank
from chalicelib.http import auth
from chalicelib.services import ledger, roster
from chalicelib.store.accounts import Account
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.messages import Message
from chalicelib.store.people import Person
from chalicelib.store.rosters import Roster
from tests.support import factories, fast_moto

NOW = "2026-07-15T09:00:00+08:00"
EMPLOYEES = 2000
MONTHLY = 120_000          # 5,000.00 × (12 % + 12 %)


@pytest.fixture
def big_unit(backend, clock_file):
    clock_file(NOW)
    bank.reset()
    factories.unit(unit_no="U5000")
    with Person.batch_write() as people, Account.batch_write() as accounts:
        for i in range(EMPLOYEES):
            id_number = factories.new_id_number()
            people.save(Person(id_number=f"{id_number[:14]}{i:04d}", name=f"职工{i}", phone="13900000000"))
            accounts.save(Account(f"GR5{i:07d}", id_number=f"{id_number[:14]}{i:04d}", kind="employee",
                                  unit_no="U5000", status="normal", base=500_000, ratio_unit="12", ratio_person="12",
                                  monthly_amount=MONTHLY, balance=0, paid_through="202606", opened_on="2020-01-01"))
    # moto only (no effect on DynamoDB Local): the same answers with less copying and serializing
    with fast_moto.item_level_rollback(), fast_moto.fast_item_responses():
        yield factories.login("U5000", auth.UNIT)
    bank.reset()


def test_a_unit_of_2000_pays_its_roster_once_even_when_the_answer_of_a_batch_is_lost(client, big_unit,
                                                                                    monkeypatch):
    login = big_unit
    created = client.http.post("/v1/units/me/rosters", headers=login.with_headers(**{"Idempotency-Key": "r1"}),
                               body=json.dumps({"period": "202607"}))
    assert created.status_code == 201, created.body
    r = created.json_body
    assert (r["employees"], r["total"]) == (EMPLOYEES, f"{EMPLOYEES * MONTHLY // 100}.00")

    real_post, calls = ledger.post, {"n": 0}

    def answer_lost_on_21st(*args, **kwargs):
        result = real_post(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 21:
            raise ConnectionError("the transaction committed, its answer never came back")
        return result

    def pay():
        return client.http.post(f"/v1/units/me/rosters/{r['roster_no']}/payment",
                                headers=login.with_headers(**{"Idempotency-Key": "pay-1"}), body="{}")

    monkeypatch.setattr(roster.ledger, "post", answer_lost_on_21st)
    assert pay().status_code == 500
    assert roster.progress(r["roster_no"]) == 21
    assert Roster.get(r["roster_no"]).status == "paying"

    monkeypatch.setattr(roster.ledger, "post", real_post)
    resumed = pay()
    assert resumed.status_code == 200, resumed.body
    assert (resumed.json_body["status"], resumed.json_body["credited"]) == ("paid", EMPLOYEES)
    assert roster.progress(r["roster_no"]) == 41

    entries = [e for e in LedgerEntry.scan() if e.business_serial == r["roster_no"]]
    per_account = Counter((e.account_no, e.period, e.kind) for e in entries)
    assert len(per_account) == EMPLOYEES and set(per_account.values()) == {1}
    assert {period for _, period, _ in per_account} == {"202607"}
    accounts = [a for a in Account.scan() if a.unit_no == "U5000"]
    assert {(int(a.balance), a.paid_through) for a in accounts} == {(MONTHLY, "202607")}
    debits = [x for x in bank.gateway().read() if x["op"] == "debit"]
    assert [(x["reference"], x["amount"]) for x in debits] == [(r["roster_no"], EMPLOYEES * MONTHLY)]
    # every employee is told once, those of the batch whose answer was lost too
    told = Counter(m.id_number for m in Message.scan() if m.serial_no == r["roster_no"])
    assert len(told) == EMPLOYEES and set(told.values()) == {1}


@pytest.mark.ddblocal
def test_two_runs_of_one_payment_at_once_credit_each_employee_once(ddb_local, clock_file):
    """Two Lambdas resume the same roster payment at the same time (DynamoDB Local: real transactions)."""
    import threading

    from chalicelib import clock, errors

    clock_file(NOW)
    bank.reset()
    factories.unit(unit_no="U6000")
    accounts = [factories.account(factories.person(), unit_no="U6000", base=500_000, paid_through="202606",
                                  balance=0) for _ in range(150)]
    r = roster.create_remittance("U6000", serial="HJ-TWIN", period="202607", now=clock.now())
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            outcomes.append(roster.pay("U6000", r.roster_no, bank_account=None, now=clock.now(), actor="t").status)
        except errors.ApiError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["paid", "paid"]
    entries = Counter(e.account_no for e in LedgerEntry.scan() if e.business_serial == r.roster_no)
    assert len(entries) == 150 and set(entries.values()) == {1}
    assert {int(Account.get(a.account_no).balance) for a in accounts} == {MONTHLY}
    assert len([x for x in bank.gateway().read() if x["op"] == "debit"]) == 1
    bank.reset()
