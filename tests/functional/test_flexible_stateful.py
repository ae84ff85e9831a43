"""A Hypothesis state machine drives random 汇缴, 补缴, seals, unseals, exits, window closings and
retries (same serial again) against the real services on moto, and checks after every step:

* the balance equals the sum of the account's ledger entries and is never negative;
* a retried payment returns the first outcome and never posts twice;
* the bank agrees with the ledger: money debited minus money refunded equals what was credited, and
  money paid out equals what left the ledger minus what was reversed.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto import mock_aws

from chalicelib import clock, errors
from chalicelib.adapters import bank
from chalicelib.rules import remittance as periods
from chalicelib.services import flexible, remittance
from chalicelib.store.accounts import Account
from chalicelib.store.ledger import LedgerEntry
from tests.support import factories

_machines = itertools.count()


class FlexibleAccountMachine(RuleBasedStateMachine):
    payments = Bundle("payments")

    def __init__(self):
        super().__init__()
        self.prefix = f"M{next(_machines)}-"
        self.now = dt.datetime(2026, 1, 12, 9, 0, tzinfo=clock.CHINA)
        self.person = factories.person()
        self.account = factories.account(self.person, kind="flexible", balance=50_000, paid_through="202512",
                                         monthly_amount=30_000, opened_on="2024-01-01")
        self.good = factories.card(self.person)
        self.bad = factories.card(self.person, card_no="6222020200112230000")
        self.outcomes: dict[str, object] = {}
        self.keys = itertools.count()
        remittance.reset_cache()
        remittance.open_window(self.now)

    # ------------------------------------------------------------ actions

    def _run(self, op: str, serial: str, arg: str, card: str):
        try:
            if op == "remit":
                return remittance.remit(id_number=self.person.id_number, period=arg, card_id=card, serial=serial,
                                        now=self.now, actor="test")
            if op == "backpay":
                return remittance.back_pay(id_number=self.person.id_number, end_period=arg, card_id=card,
                                           serial=serial, now=self.now, actor="test")
            if op == "exit":
                return flexible.exit_withdrawal(id_number=self.person.id_number, card_id=card, serial=serial,
                                                now=self.now, actor="test").serial_no
            if op == "seal":
                return flexible.set_sealed(id_number=self.person.id_number, sealed=True, serial=serial,
                                           now=self.now).status
            if op == "unseal":
                return flexible.set_sealed(id_number=self.person.id_number, sealed=False, serial=serial,
                                           now=self.now).status
        except errors.ApiError as exc:
            return ("refused", exc.code)
        raise AssertionError(op)

    def _card(self, good: bool) -> str:
        return self.good.card_id if good else self.bad.card_id

    @rule(target=payments, good=st.booleans())
    def remit(self, good):
        return self._new("remit", periods.period_of(self.now), self._card(good))

    @rule(target=payments, back=st.integers(1, 4), good=st.booleans())
    def back_pay(self, back, good):
        return self._new("backpay", periods.shift(periods.period_of(self.now), -back), self._card(good))

    @precondition(lambda self: len(self.outcomes) >= 6)     # late, so that most runs pay for a while first
    @rule(target=payments, good=st.booleans())
    def exit(self, good):
        return self._new("exit", "", self._card(good))

    @rule(target=payments)
    def seal(self):
        return self._new("seal", "", "")

    @rule(target=payments)
    def unseal(self):
        return self._new("unseal", "", "")

    def _new(self, op, arg, card):
        serial = f"{self.prefix}{next(self.keys)}"
        self.outcomes[serial] = self._run(op, serial, arg, card)
        return (op, serial, arg, card)

    @rule(payment=payments)
    def retry(self, payment):
        op, serial, arg, card = payment
        first = self.outcomes[serial]
        again = self._run(op, serial, arg, card)
        if op in ("remit", "backpay") and isinstance(first, remittance.Payment):
            assert isinstance(again, remittance.Payment) and (again.serial_no, again.amount, again.periods) == (
                first.serial_no, first.amount, first.periods)
        if first == ("refused", "PAYMENT_DECLINED"):
            assert again == first
        if op == "exit" and isinstance(first, str):
            assert again == first

    @rule(months=st.integers(0, 2), day=st.integers(1, 28))
    def time_passes(self, months, day):
        first = (self.now.replace(day=1) + dt.timedelta(days=32 * months)).replace(day=1)
        self.now = max(self.now, first.replace(day=day, hour=9))
        remittance.open_window(self.now)

    @rule()
    def window_closes(self):
        remittance._set_window("closed", self.now)

    # ------------------------------------------------------------ invariants

    def _entries(self):
        return list(LedgerEntry.flow_index.query(self.account.account_no))

    @invariant()
    def balance_is_the_sum_of_the_ledger_and_never_negative(self):
        acct = Account.get(self.account.account_no, consistent_read=True)
        entries = self._entries()
        total = 50_000 + sum(e.amount if e.direction == "D" else -e.amount for e in entries)
        assert int(acct.balance) == total >= 0
        assert all(int(e.balance_after) >= 0 for e in entries)

    @invariant()
    def each_month_is_credited_at_most_once(self):
        months = [e.period for e in self._entries() if e.kind in ("remit", "backpay")]
        assert len(months) == len(set(months))

    @invariant()
    def the_bank_agrees_with_the_ledger(self):
        ops = [x for x in bank.gateway().read() if x["reference"].startswith(self.prefix) and x["ok"]]
        debited = sum(x["amount"] for x in ops if x["op"] == "debit")
        refunded = sum(x["amount"] for x in ops if x["op"] == "payout" and x["reference"].endswith("R"))
        paid_out = sum(x["amount"] for x in ops if x["op"] == "payout" and not x["reference"].endswith("R"))
        entries = self._entries()
        credited = sum(e.amount for e in entries if e.kind in ("remit", "backpay"))
        withdrawn = sum(e.amount for e in entries if e.kind == "withdrawal")
        reversed_ = sum(e.amount for e in entries if e.kind == "reversal")
        assert debited - refunded == credited
        assert paid_out == withdrawn - reversed_


def test_random_payments_seals_and_exits_keep_the_books_straight(local_dir, monkeypatch):
    monkeypatch.delenv("GJJ_DDB_ENDPOINT", raising=False)
    bank.reset()
    with mock_aws():
        from chalicelib.store import base

        base.configure()
        base.create_tables()
        run_state_machine_as_test(FlexibleAccountMachine, settings=settings(
            max_examples=25, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    bank.reset()
    from chalicelib.store import base

    base.configure()
