"""DynamoDB round trips per citizen money route (issue 18, part 2: "fewer round trips per money route").

Each route is called the way the fault suite calls it (``tests.reliability.test_money_faults``: a fresh owner,
account and card per request), twice: the first run warms the in-process caches (policy, the remittance window),
the second is counted. The calls are counted by a botocore ``before-call.dynamodb`` hook on the shared client
(``tests.support.faults.DynamoWatch``, the counter ``bench/routes.py`` uses). The targets are issue 18's: a count,
not a timing, so it is asserted here. A roster payment's calls must grow with its batches, not its employees:
the test computes the calls its extra batches add from DynamoDB's batch limits.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.reliability import test_money_faults as money
from tests.support.faults import DynamoWatch

# issue 18 part 2: the most DynamoDB calls one request of each route may make
TARGETS = {
    "POST /v1/withdrawals": 11,
    "POST /v1/me/loans/{contract_no}/prepayments": 9,
    "POST /v1/me/loans/{contract_no}/settlement": 9,
    "POST /v1/flexible/remittances": 8,
}
ROUTES = {r.route: r for r in money.MONEY_ROUTES}


world = money.world      # the fault suite's world: its clock, an open remittance window, a fresh bank simulator


def _count(client, prepare, key: str, status: int) -> list[str]:
    call = prepare()
    with DynamoWatch() as watch:
        resp = money._send(client, call, key)
    assert resp.status_code == status, resp.json_body
    return watch.calls


@pytest.mark.parametrize("route", list(TARGETS))
def test_a_money_route_makes_at_most_its_target_of_dynamodb_calls(client, world, route):
    money_route = ROUTES[route]
    _count(client, money_route.prepare, "warm", money_route.ok_status)
    calls = _count(client, money_route.prepare, "counted", money_route.ok_status)
    print(route, len(calls), calls)
    assert len(calls) <= TARGETS[route], (len(calls), calls)


def _roster_of(employees: int, *, subscribed: bool = False):
    """A unit whose ``employees`` are all due for 202607 (one roster line each); ``subscribed``: each is a registered
    user who signed up for SMS (短信签约), so telling them reads users and people and queues an SMS each."""
    import datetime as dt
    import itertools
    import os

    from chalicelib.http import auth
    from chalicelib.services import roster
    from tests.support import factories

    def prepare() -> money.Call:
        n = next(money._cards)
        unit_no = f"UR{os.getpid() % 1000:03d}{n:05d}"
        account = money._card_no()
        factories.unit(unit_no=unit_no, bank_account=account)
        openings = {}
        for _ in itertools.repeat(None, employees):
            person = factories.person()
            if subscribed:
                factories.user(person, sms_subscribed=True)
            a = factories.account(person, unit_no=unit_no, base=500_000, paid_through="202606", balance=10_000)
            openings[a.account_no] = 10_000
        r = roster.create_remittance(unit_no, serial=f"HJR{unit_no}", period="202607",
                                     now=dt.datetime.fromisoformat(money.NOW))
        return money.Call(factories.login(unit_no, auth.UNIT), f"/v1/units/me/rosters/{r.roster_no}/payment", {},
                          next(iter(openings)), 10_000, account[-4:], accounts=openings)

    return prepare


def _batches(items: int, size: int) -> int:
    return -(-items // size)


# DynamoDB's published limits (Amazon DynamoDB Developer Guide, "Quotas": TransactWriteItems up to 100 actions,
# BatchGetItem up to 100 keys, BatchWriteItem up to 25 puts)
TRANSACTION_ITEMS, BATCH_GET_KEYS, BATCH_WRITE_ITEMS = 100, 100, 25
# one employee's line in a ledger transaction is two items (the account's update and its ledger entry); the
# transaction also carries the audit event and the payment's progress item
LINES_PER_TRANSACTION = (TRANSACTION_ITEMS - 2) // 2


def _batch_calls(employees: int, subscribed: int) -> Counter:
    """The calls of a roster payment that depend on how many employees it has, from the batch sizes alone:

    * each ledger transaction (``LINES_PER_TRANSACTION`` employees): the accounts read (BatchGetItem), the
      transaction, then the payment's progress read (GetItem);
    * telling them: their messages (BatchWriteItem), which entries were credited (BatchGetItem), the users of
      their ID numbers (BatchGetItem of the ID claims);
    * for the ``subscribed`` (here the only registered ones): their users (BatchGetItem), their phones on record
      (BatchGetItem of people) and their SMS (TransactWriteItems)."""
    ledger = _batches(employees, LINES_PER_TRANSACTION)
    return Counter({
        "TransactWriteItems": ledger + _batches(subscribed, TRANSACTION_ITEMS),
        "GetItem": ledger,
        "BatchWriteItem": _batches(employees, BATCH_WRITE_ITEMS),
        "BatchGetItem": ledger + 2 * _batches(employees, BATCH_GET_KEYS)
                        + 2 * _batches(subscribed, BATCH_GET_KEYS),
    })


@pytest.mark.parametrize("subscribed", [False, True], ids=["nobody-subscribed", "everyone-subscribed"])
def test_a_roster_payment_calls_grow_with_batches_not_employees(client, world, subscribed):
    """Issue 18: a roster of 120 employees makes the calls of a roster of 10 plus those of its extra batches, and
    not one call more (telling the employees used to look up each one's user: 152 calls against 31)."""
    from chalicelib.store.messages import OutboundSms

    _count(client, _roster_of(2), "warm", 200)
    small = Counter(_count(client, _roster_of(10, subscribed=subscribed), "ten", 200))
    prepare = _roster_of(120, subscribed=subscribed)
    big = Counter(_count(client, prepare, "hundred-twenty", 200))
    print("roster 10:", sum(small.values()), small, "\nroster 120:", sum(big.values()), big)
    each = 1 if subscribed else 0
    extra = _batch_calls(120, 120 * each)
    extra.subtract(_batch_calls(10, 10 * each))
    grown = Counter(big)
    grown.subtract(small)
    assert {op: n for op, n in grown.items() if n} == {op: n for op, n in extra.items() if n}, (small, big)
    assert sum(big.values()) - sum(small.values()) == sum(extra.values())
    # and they were told: one SMS for each subscribed employee of the two rosters (the warm-up's subscribed none)
    assert sum(1 for x in OutboundSms.scan() if x.sms_id.startswith("deposit#")) == (10 + 120) * each


@pytest.mark.parametrize("route, transaction", [
    ("POST /v1/flexible/remittances", 0),                     # the posting carries the message
    ("POST /v1/withdrawals", 1),                              # the second: entry paid + record paid + message
    ("POST /v1/me/loans/{contract_no}/prepayments", 0),
])
def test_the_message_written_with_the_money_is_written_once_when_the_answer_is_lost(client, world, route,
                                                                                     transaction):
    """The owner's message now rides in a money transaction: a transaction applied whose answer was lost, then the
    client's retry with the same key, must leave exactly one message for the business serial."""
    from chalicelib.store.accounts import Account
    from chalicelib.store.messages import Message

    money_route = ROUTES[route]
    call = money_route.prepare()
    with DynamoWatch(fault="lost", at=("TransactWriteItems", transaction)) as watch:
        first = money._send(client, call, "lost-once")
    assert watch.injected == "TransactWriteItems", watch.calls
    assert first.status_code == 503, first.json_body
    status, body = money._settle(client, call, "lost-once", world)
    assert status == money_route.ok_status, body
    owner = Account.get(call.account_no).id_number
    told = [m for m in Message.query(owner) if m.serial_no == body["serial_no"]]
    assert len(told) == 1, [(m.title, m.body) for m in told]
