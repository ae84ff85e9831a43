"""The money core's state machine (tests/functional/test_flexible_stateful.py) with withdrawals added: random
汇缴/补缴, seals, exits, window closings, automatic and reviewed withdrawals (approved or rejected), declined
cards and retries, checked after every step:

* the balance equals the opening balance plus the ledger, and is never negative (inherited);
* no serial applies twice: each application has at most one withdrawal and one reversal on the ledger;
* the bank agrees with the ledger (inherited: paid out = withdrawn − reversed);
* each withdrawal's record tells the truth about the ledger: paid ⇒ posted and not reversed; cancelled ⇒ reversed
  or never posted; submitted or rejected ⇒ nothing posted.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test
from moto import mock_aws

from chalicelib import errors
from chalicelib.adapters import bank
from chalicelib.services import business, withdrawals
from chalicelib.store.business import BusinessRecord
from tests.functional.test_flexible_stateful import FlexibleAccountMachine

DETAILS = {"purchase": {"purchase_contract_no": "GF-1"},
           "retirement": {"retire_unit": "单位", "retire_cert_no": "TX-1", "approved_on": "2025-12-31"}}


class WithdrawalMachine(FlexibleAccountMachine):
    def __init__(self):
        super().__init__()
        self.pending: list[str] = []

    def _run(self, op, serial, arg, card):
        if op != "withdraw":
            return super()._run(op, serial, arg, card)
        kind, amount = arg
        try:
            record = withdrawals.apply(id_number=self.person.id_number, kind=kind, amount=amount, card_id=card,
                                       details=DETAILS.get(kind, {}), serial=serial, now=self.now, actor="test")
        except errors.ApiError as exc:
            return ("refused", exc.code)
        if record.status == "submitted" and serial not in self.pending:
            self.pending.append(serial)
        return record.status

    @rule(target=FlexibleAccountMachine.payments,
          kind=st.sampled_from(["rent", "property_fee", "purchase", "retirement"]),
          amount=st.none() | st.integers(1, 30_000), good=st.booleans())
    def withdraw(self, kind, amount, good):
        if kind == "retirement":
            amount = None          # an account-closing type takes the whole balance
        return self._new("withdraw", (kind, amount), self._card(good))

    @precondition(lambda self: self.pending)
    @rule(approve=st.booleans(), which=st.integers(0, 5))
    def decide(self, approve, which):
        serial = self.pending[which % len(self.pending)]
        try:
            business.decide(serial, approve=approve, opinion="同意" if approve else "不同意", operator="op",
                            now=self.now)
        except errors.ApiError as exc:
            assert exc.code in ("NOT_ELIGIBLE", "INSUFFICIENT_BALANCE", "CONFLICT", "ALREADY_DONE"), exc.code
            if exc.code == "ALREADY_DONE":
                self.pending.remove(serial)
            return
        self.pending.remove(serial)

    @invariant()
    def no_serial_applies_twice(self):
        per_serial = Counter((e.business_serial, e.kind) for e in self._entries()
                             if e.kind in ("withdrawal", "reversal", "interest"))
        assert all(n == 1 for n in per_serial.values()), per_serial

    @invariant()
    def withdrawal_records_tell_the_truth_about_the_ledger(self):
        entries = self._entries()
        for record in BusinessRecord.owner_index.query(self.person.id_number):
            if record.kind != "withdrawal":
                continue
            kinds = sorted(e.kind for e in entries if e.business_serial == record.serial_no)
            # an account-closing type (离退休) also posts its 销户结息, when there is any, as one "interest" entry in
            # the closing's transaction; that interest is the fund's and stays paid when the bank declines the payout
            interest = kinds.count("interest")
            assert interest == 0 or (record.type == "retirement" and interest == 1), (record.type, kinds)
            kinds = [k for k in kinds if k != "interest"]
            if record.status == "paid":
                assert kinds == ["withdrawal"], (record.status, kinds)
            elif record.status == "cancelled":
                assert kinds in (["reversal", "withdrawal"], []), (record.status, kinds)
            else:
                assert record.status in ("submitted", "rejected") and kinds == [], (record.status, kinds)


def test_random_remittances_and_withdrawals_keep_the_books_straight(local_dir, monkeypatch):
    monkeypatch.delenv("GJJ_DDB_ENDPOINT", raising=False)
    bank.reset()
    with mock_aws():
        from chalicelib.store import base

        base.configure()
        base.create_tables()
        run_state_machine_as_test(WithdrawalMachine, settings=settings(
            max_examples=8, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    bank.reset()
    from chalicelib.store import base

    base.configure()
