"""The fan-out benchmark's smallest run (issue 18): ``bench.fanout_scale.measure`` of ``settle-annual-interest``
over 120 seeded accounts with 2 workers on DynamoDB Local behind a 5 ms latency store; and its second-run check,
which must see a change when there is one."""

from __future__ import annotations

import json
import uuid

import pytest

from bench import fanout_scale, throughput

N = 120


@pytest.fixture
def endpoint(ddb_local_server, local_dir, monkeypatch):
    """DynamoDB Local for the bench, which makes (and drops) its own tables under fresh prefixes."""
    from chalicelib.store import base

    monkeypatch.setenv("GJJ_DDB_ENDPOINT", ddb_local_server.endpoint)
    monkeypatch.setenv("GJJ_TABLE_PREFIX", f"t{uuid.uuid4().hex[:8]}-")
    yield ddb_local_server.endpoint
    monkeypatch.delenv("GJJ_DDB_ENDPOINT")
    monkeypatch.setenv("GJJ_TABLE_PREFIX", "test-")
    base.configure()


@pytest.mark.ddblocal
def test_the_smallest_scale_run_settles_every_account_once(endpoint):
    row = fanout_scale.measure("settle-annual-interest", N, workers=2, delay_ms=5, page_threads=2)

    assert row["workers"] == 2 and row["shards"] == 2 and row["finished"]
    assert row["done"] == N
    assert row["second_run"] == "unchanged"
    # the seeded accounts (bench.throughput: balance 1,000,000 + i fen, no movement in the year) earn a whole year
    # at 1.50 % (policy rates.deposit, 银发〔2016〕43号), half up to the fen, computed here in integers
    expected = sum(((1_000_000 + i) * 150 + 5_000) // 10_000 for i in range(N))
    summary = json.loads(row["summary"])
    assert summary["posted"] == N and summary["amount"] == f"{expected // 100}.{expected % 100:02d}"
    # each account's interest is a ledger entry and its balance, in one transaction (CONTRACT: every balance
    # change is a ledger entry in the same transaction): at least two transactional item writes per account
    assert row["written_tx_per_item"] >= 2.0
    meter = row["meter"]
    assert meter["calls"] == sum(meter["by_operation"].values()) and meter["calls"] >= meter["by_operation"].get(
        "TransactWriteItems", 0) >= 1
    # every request of the first run waited its 5 ms
    assert meter["slept_s"] >= meter["sent"] * 0.005 * 0.95
    assert abs(row["items_per_s"] - N / row["first_s"]) <= 0.01 * N / row["first_s"] + 1    # first_s is rounded


@pytest.mark.ddblocal
def test_the_second_run_check_sees_a_changed_table(endpoint):
    from chalicelib.store.accounts import Account

    throughput._fresh_tables("chk")
    try:
        throughput._write(throughput.seed_interest_accounts(3, fanout_scale.dt.datetime(2026, 6, 30)))
        before = fanout_scale.fingerprint()
        assert fanout_scale.changed_tables(before, fanout_scale.fingerprint()) == []
        assert before["accounts"][0] == 3 and before["people"][0] == 3
        Account.get("T000000001").update(actions=[Account.balance.add(1)])
        assert fanout_scale.changed_tables(before, fanout_scale.fingerprint()) == ["accounts"]
    finally:
        throughput._drop_tables()
