"""The ledger (账务): balance and entries move together, never negative, never twice."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors
from chalicelib.services import ledger
from chalicelib.services.ledger import Extra, Posting
from chalicelib.store.accounts import Account
from chalicelib.store.audit import AuditEvent
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from tests.support import factories

NOW = datetime(2026, 11, 10, 9, 30, tzinfo=clock.CHINA)


def _entries(account_no: str) -> list[LedgerEntry]:
    return list(LedgerEntry.flow_index.query(account_no))


def test_deposit_moves_balance_and_writes_one_entry(backend):
    acct = factories.account(factories.person(), balance=10_000)

    result = ledger.post([Posting(acct.account_no, "S1", "D", 2_500, "remit", period="202611")], now=NOW)

    assert result.balances == {acct.account_no: 12_500}
    assert not result.replayed
    fresh = Account.get(acct.account_no, consistent_read=True)
    assert (fresh.balance, fresh.version) == (12_500, acct.version + 1)
    [entry] = _entries(acct.account_no)
    assert (entry.balance_before, entry.balance_after, entry.amount, entry.date) == (10_000, 12_500, 2_500,
                                                                                     "2026-11-10")
    assert entry.acct_dir == f"{acct.account_no}#D"


def test_same_serial_applies_once_and_replays_the_first_entry(backend):
    acct = factories.account(factories.person(), balance=0)
    posting = Posting(acct.account_no, "S-dup", "D", 100, "remit")

    first = ledger.post([posting], now=NOW)
    second = ledger.post([posting], now=NOW)

    assert second.replayed
    assert second.entries[0].balance_after == first.entries[0].balance_after == 100
    assert Account.get(acct.account_no, consistent_read=True).balance == 100
    assert len(_entries(acct.account_no)) == 1


def test_withdrawal_beyond_balance_is_refused_and_writes_nothing(backend):
    acct = factories.account(factories.person(), balance=500)

    with pytest.raises(errors.InsufficientBalance):
        ledger.post([Posting(acct.account_no, "W1", "W", 501, "withdrawal")], now=NOW)

    assert Account.get(acct.account_no, consistent_read=True).balance == 500
    assert _entries(acct.account_no) == []


def test_retry_after_a_lost_answer_is_a_replay_even_though_the_balance_moved(backend):
    # GIVEN a withdrawal of the whole balance that went through
    acct = factories.account(factories.person(), balance=800)
    posting = Posting(acct.account_no, "W-all", "W", 800, "withdrawal")
    ledger.post([posting], now=NOW)
    # WHEN the caller (not knowing) posts it again: the balance alone would refuse it
    again = ledger.post([posting], now=NOW)
    # THEN it is recognised as the same posting, not refused and not applied
    assert again.replayed and again.balances == {acct.account_no: 0}


def test_many_accounts_in_one_transaction(backend):
    accounts = [factories.account(factories.person(), balance=i) for i in range(5)]
    postings = [Posting(a.account_no, f"R#{a.account_no}", "D", 1_000, "remit") for a in accounts]

    ledger.post(postings, now=NOW)

    assert [Account.get(a.account_no).balance for a in accounts] == [1_000 + i for i in range(5)]


def test_several_postings_on_one_account_chain_their_balances(backend):
    acct = factories.account(factories.person(), balance=0)
    postings = [Posting(acct.account_no, f"B{m}", "D", 300, "backpay", period=f"2026{m:02d}") for m in (1, 2, 3)]

    result = ledger.post(postings, now=NOW)

    assert [(e.balance_before, e.balance_after) for e in result.entries] == [(0, 300), (300, 600), (600, 900)]
    assert Account.get(acct.account_no).balance == 900


def test_failed_extra_condition_refuses_with_its_own_error_and_writes_nothing(backend):
    acct = factories.account(factories.person(), balance=0)
    StateItem(pk="window#remittance", status="closed").save()

    def window_is_open(tx: TransactWrite) -> None:
        tx.condition_check(StateItem, "window#remittance", "-", condition=StateItem.status == "open")

    with pytest.raises(errors.WindowClosed):
        ledger.post([Posting(acct.account_no, "R-late", "D", 100, "remit")], now=NOW,
                    extras=[Extra(window_is_open, errors.WindowClosed())])

    assert Account.get(acct.account_no, consistent_read=True).balance == 0
    assert _entries(acct.account_no) == []


def test_account_updates_ride_in_the_same_transaction(backend):
    acct = factories.account(factories.person(), balance=700, status="sealed")

    ledger.post([Posting(acct.account_no, "X1", "W", 700, "withdrawal", type="exit")], now=NOW,
                updates={acct.account_no: [Account.status.set("closed")]})

    fresh = Account.get(acct.account_no, consistent_read=True)
    assert (fresh.balance, fresh.status) == (0, "closed")


def test_before_write_refusal_is_raised_but_a_replay_is_still_recognised(backend):
    acct = factories.account(factories.person(), balance=700, status="sealed")
    posting = Posting(acct.account_no, "X2", "W", 700, "withdrawal")

    def must_be_sealed(accounts):
        if accounts[acct.account_no].status != "sealed":
            raise errors.NotEligible("账户未封存")

    ledger.post([posting], now=NOW, before_write=must_be_sealed,
                updates={acct.account_no: [Account.status.set("closed")]})
    assert ledger.post([posting], now=NOW, before_write=must_be_sealed).replayed
    with pytest.raises(errors.NotEligible):
        ledger.post([Posting(acct.account_no, "X3", "W", 1, "withdrawal")], now=NOW, before_write=must_be_sealed)


def test_every_posting_is_audited(backend):
    acct = factories.account(factories.person(), balance=0)

    ledger.post([Posting(acct.account_no, "A1", "D", 100, "remit")], now=NOW, actor="depositor:u1", source="1.2.3.4")

    [event] = list(AuditEvent.day_index.query("2026-11-10"))
    assert (event.event, event.actor, event.source) == ("money.remit", "depositor:u1", "1.2.3.4")
    assert event.details["total_in"] == "100"


def test_unknown_account_is_not_found(backend):
    with pytest.raises(errors.NotFound):
        ledger.post([Posting("A-none", "N1", "D", 100, "remit")], now=NOW)


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_a_posting_needs_positive_integer_fen(amount):
    with pytest.raises(ValueError):
        Posting("A1", "S", "D", amount, "remit")


def test_too_many_items_for_one_transaction_is_refused_before_any_write(aws):
    postings = [Posting(f"A{i}", f"S{i}", "D", 1, "remit") for i in range(ledger.accounts_per_transaction() + 1)]
    with pytest.raises(ValueError):
        ledger.post(postings, now=NOW)


@pytest.mark.ddblocal
def test_concurrent_withdrawals_never_overdraw(ddb_local):
    # (DynamoDB Local only: moto rolls a failed transaction back by restoring a copy of the whole
    # table, which can erase another thread's committed write, so it cannot judge concurrency.)
    # GIVEN 1,000 fen and ten threads each taking 300
    acct = factories.account(factories.person(), balance=1_000)
    outcomes: list[str] = []

    def take(i: int) -> None:
        try:
            ledger.post([Posting(acct.account_no, f"C{i}", "W", 300, "withdrawal")], now=NOW)
            outcomes.append("ok")
        except errors.InsufficientBalance:
            outcomes.append("refused")
        except ledger.Race:
            outcomes.append("busy")

    threads = [threading.Thread(target=take, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN at most three succeed and the balance equals what the ledger says
    fresh = Account.get(acct.account_no, consistent_read=True)
    taken = sum(e.amount for e in _entries(acct.account_no))
    assert outcomes.count("ok") == len(_entries(acct.account_no)) <= 3
    assert fresh.balance == 1_000 - taken >= 0


def test_a_withdrawal_is_reversed_once_and_only_for_its_own_account_and_amount(backend):
    # GIVEN a posted withdrawal of 300
    acct = factories.account(factories.person(), balance=1_000)
    other = factories.account(factories.person(), balance=0)
    ledger.post([Posting(acct.account_no, "W9", "W", 300, "withdrawal", type="rent")], now=NOW)

    # WHEN a reversal names another account or another amount THEN nothing is written
    for wrong in (Posting(other.account_no, "W9R", "D", 300, "reversal", reverses="W9"),
                  Posting(acct.account_no, "W9R", "D", 299, "reversal", reverses="W9")):
        with pytest.raises(errors.Conflict):
            ledger.post([wrong], now=NOW)
    assert Account.get(acct.account_no, consistent_read=True).balance == 700
    assert Account.get(other.account_no, consistent_read=True).balance == 0

    # WHEN it is reversed THEN the money is back and the withdrawal reads "reversed"; the same reversal replays
    posting = Posting(acct.account_no, "W9R", "D", 300, "reversal", reverses="W9")
    ledger.post([posting], now=NOW)
    assert ledger.post([posting], now=NOW).replayed
    assert LedgerEntry.get("W9", consistent_read=True).status == "reversed"
    assert Account.get(acct.account_no, consistent_read=True).balance == 1_000

    # AND a second reversal under another serial is refused, and a reversed withdrawal is never "paid"
    with pytest.raises(errors.Conflict):
        ledger.post([Posting(acct.account_no, "W9R2", "D", 300, "reversal", reverses="W9")], now=NOW)
    assert Account.get(acct.account_no, consistent_read=True).balance == 1_000
    assert ledger.mark_paid("W9") is False and LedgerEntry.get("W9", consistent_read=True).status == "reversed"


def test_a_transaction_conflict_is_retried_and_posts_once(aws, monkeypatch):
    # GIVEN real DynamoDB's answer under contention: the first transaction is cancelled for a conflict
    # (neither moto nor DynamoDB Local raise it themselves, so it is injected at the botocore call)
    import botocore.client
    from botocore.exceptions import ClientError

    acct = factories.account(factories.person(), balance=1_000)
    real = botocore.client.BaseClient._make_api_call
    conflicts = []

    def flaky(self, operation, params):
        if operation == "TransactWriteItems" and not conflicts:
            conflicts.append(operation)
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] + \
                      [{"Code": "None"}] * (len(params["TransactItems"]) - 1)
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                               "CancellationReasons": reasons}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", flaky)

    # WHEN a withdrawal is posted THEN it is retried and applied exactly once
    result = ledger.post([Posting(acct.account_no, "WC1", "W", 400, "withdrawal")], now=NOW)
    assert conflicts and not result.replayed
    assert Account.get(acct.account_no, consistent_read=True).balance == 600
    assert [e.serial_no for e in _entries(acct.account_no)] == ["WC1"]


def test_the_interest_jishu_moves_with_the_balance_and_not_without_it(backend):
    # 积数 (条例 第二十一条, rules/interest.py): 100.00 carried into the HPF year begun 1 July 2026 × 360 days, plus
    # 25.00 from 10 November: 10 Nov → 10 Jun seven months (210 days) + 10-30 June (21) = 231 days
    acct = factories.account(factories.person(), balance=10_000)
    ledger.post([Posting(acct.account_no, "J1", "D", 2_500, "remit", period="202611")], now=NOW)
    jishu = Account.get(acct.account_no, consistent_read=True).interest_accruals.as_dict()
    assert {k: int(v["jishu"]) for k, v in jishu.items()} == {"2026": 10_000 * 360 + 2_500 * 231}
    StateItem(pk="window#remittance", status="closed").save()

    def window_is_open(tx: TransactWrite) -> None:
        tx.condition_check(StateItem, "window#remittance", "-", condition=StateItem.status == "open")

    with pytest.raises(errors.WindowClosed):
        ledger.post([Posting(acct.account_no, "J2", "D", 100, "remit")], now=NOW,
                    extras=[Extra(window_is_open, errors.WindowClosed())])
    after = Account.get(acct.account_no, consistent_read=True)
    assert (int(after.balance), after.interest_accruals.as_dict()) == (12_500, jishu)    # nothing half-written
