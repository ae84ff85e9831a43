"""``settle-annual-interest`` on AWS's DynamoDB Local over 1,000 accounts, killed part-way twice and re-run:
every account ends with exactly one interest posting of the right amount and the balances add up."""

from __future__ import annotations

import random

import pytest

from chalicelib import clock, jobs
from chalicelib.services import interest, ledger
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry

JUNE_30 = clock.parse("2026-06-30T23:00:00+08:00")
N = 1000


class Killed(Exception):
    """The Lambda ran out of time."""


@pytest.mark.ddblocal
def test_a_thousand_accounts_settled_across_two_crashes_get_one_posting_each(ddb_local, monkeypatch):
    # GIVEN 1,000 accounts with assorted balances (some empty)
    rng = random.Random(20260630)
    balances = {f"IA{i:06d}": (0 if i % 97 == 0 else rng.randint(1, 50_000_000)) for i in range(N)}
    # half moved through the ledger this year (updated_at), half imported and untouched since (none)
    touched = clock.parse("2026-06-08T10:00:00+08:00")
    with Account.batch_write() as batch:
        for i, (no, fen) in enumerate(balances.items()):
            batch.save(Account(no, id_number=f"1401051985061500{no[-2:]}", kind="employee", unit_no="U1",
                               status="normal", balance=fen, opened_on="2015-07-01", paid_through="202606",
                               updated_at=touched if i % 2 else None))
    # none moved during the year: a balance present all year earns balance × 1.50 % (rates.deposit since
    # 2016-02-21), half up to the fen, computed here in integers
    expected = {no: (fen * 150 + 5_000) // 10_000 for no, fen in balances.items()}

    # WHEN the first run dies in the middle of a page's transactions ...
    real_post, real_advance = ledger.post, interest._advance
    posts = []

    def dying_post(*args, **kwargs):
        posts.append(1)
        if len(posts) == 7:
            raise Killed()
        return real_post(*args, **kwargs)

    monkeypatch.setattr(interest.ledger, "post", dying_post)
    with pytest.raises(Killed):
        jobs.run("settle-annual-interest", JUNE_30)
    monkeypatch.setattr(interest.ledger, "post", real_post)
    first_cursor = StateItem.get(*interest.progress_key(2026), consistent_read=True).value

    # ... and the second dies after posting a page but before recording it
    advances = []

    def dying_advance(*args, **kwargs):
        advances.append(1)
        if len(advances) == 2:
            raise Killed()
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(interest, "_advance", dying_advance)
    with pytest.raises(Killed):
        jobs.run("settle-annual-interest", JUNE_30)
    monkeypatch.setattr(interest, "_advance", real_advance)
    second_cursor = StateItem.get(*interest.progress_key(2026), consistent_read=True).value
    assert first_cursor < second_cursor < max(balances)

    # THEN the third run finishes, and nothing is posted twice
    summary = jobs.run("settle-annual-interest", JUNE_30)
    assert summary["done"] and StateItem.get(*interest.progress_key(2026)).status == "done"
    serials = [interest.serial_for(2026, no) for no in balances]
    found = {e.account_no: e for e in LedgerEntry.batch_get(serials)}
    earning = {no for no, x in expected.items() if x > 0}
    assert set(found) == earning
    assert all(int(found[no].amount) == expected[no] for no in earning)
    interest_entries = [e for e in LedgerEntry.scan(LedgerEntry.kind == "interest")]
    assert len(interest_entries) == len(earning)
    fresh = {a.account_no: int(a.balance) for a in Account.batch_get(list(balances))}
    assert all(fresh[no] == balances[no] + expected[no] for no in balances)
    assert jobs.run("settle-annual-interest", JUNE_30)["posted"] == 0
