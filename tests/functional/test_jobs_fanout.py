"""Jobs that fan out across workers (issue 18, chalicelib/jobs_fanout.py), on settle-annual-interest: shards
partition the accounts, the coordinator run twice starts nothing new, a worker out of time sends its continuation,
a poisoned message is dead-lettered. Locally on the in-process queue; the SQS path on moto's SQS.

Expected interest: every account here carried its balance all year (created before the year's postings, none
since), so it earns balance × 1.50 % (rates.deposit since 2016-02-21, 银发〔2016〕43号), half up to the fen,
computed below in integers."""

from __future__ import annotations

import json

import pytest

from chalicelib import clock, fanout, jobs, jobs_fanout
from chalicelib.adapters import queue as work_queue
from chalicelib.services import interest
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from tests.support import factories
from tests.support.job_runs import receive_all

JUNE_30 = clock.parse("2026-06-30T23:00:00+08:00")


def year_interest(fen: int) -> int:
    return (fen * 150 + 5_000) // 10_000       # × 1.50 %, half up


def accounts(n: int) -> dict[str, int]:
    out = {}
    for i in range(n):
        fen = 0 if i == 4 else 100_000 * (i + 1) + 37 * i
        out[factories.account(factories.person(), balance=fen).account_no] = fen
    return out


def settled(account_nos) -> dict[str, list[int]]:
    return {no: [int(e.amount) for e in LedgerEntry.flow_index.query(no) if e.kind == "interest"]
            for no in account_nos}


def shard_items(year: int = 2026) -> list[StateItem]:
    return list(StateItem.query(interest.progress_key(year)[0], StateItem.sk.startswith("shard#")))


def assert_each_settled_once(balances: dict[str, int]) -> None:
    got = settled(balances)
    assert got == {no: ([year_interest(fen)] if year_interest(fen) else []) for no, fen in balances.items()}


@pytest.mark.parametrize("shards", [1, 2, 4])
def test_shards_partition_the_accounts_and_each_is_settled_exactly_once(backend, monkeypatch, shards):
    monkeypatch.setattr(interest, "PAGE", 2)
    balances = accounts(11)
    summary = jobs_fanout.start(interest.FANOUT, JUNE_30, shards=shards)
    assert summary["done"] is True
    assert summary["posted"] == sum(1 for fen in balances.values() if year_interest(fen))
    assert_each_settled_once(balances)
    # the shards' ranges (lo exclusive, hi inclusive) hold every account exactly once
    ranges = [(s.data.as_dict()["lo"], s.data.as_dict()["hi"]) for s in shard_items()]
    assert len(ranges) == shards and all(s.status == "done" for s in shard_items())
    for no in balances:
        assert sum(1 for lo, hi in ranges if (lo is None or no > lo) and (hi is None or no <= hi)) == 1
    for s, (lo, hi) in zip(shard_items(), ranges, strict=True):   # no worker went past its range
        earning = [no for no, fen in balances.items() if year_interest(fen)
                   and (lo is None or no > lo) and (hi is None or no <= hi)]
        assert int(s.count) == len(earning)
        assert s.value is None or hi is None or s.value <= hi
    if shards > 1:      # cut evenly: no shard holds more than its share rounded up
        sizes = [sum(1 for no in balances if (lo is None or no > lo) and (hi is None or no <= hi))
                 for lo, hi in ranges]
        assert max(sizes) <= -(-len(balances) // shards)
    run = StateItem.get(*interest.progress_key(2026))
    assert run.status == "done" and int(run.count) == shards
    assert jobs_fanout.start(interest.FANOUT, JUNE_30, shards=shards)["posted"] == 0
    assert_each_settled_once(balances)




def lambda_workers(client, url, q) -> int:
    """What the job_worker Lambda does, one message at a time, until the queue is empty."""
    handled = 0
    while True:
        bodies = receive_all(client, url)
        if not bodies:
            return handled
        for body in bodies:
            jobs_fanout.work(body, queue=q)
            handled += 1


def test_the_coordinator_run_twice_starts_nothing_new(sqs, monkeypatch):
    client, url, q = sqs
    monkeypatch.setattr(interest, "PAGE", 3)
    balances = accounts(9)
    first = jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=3)
    second = jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=3)
    assert (first["sent"], second["sent"]) == (3, 0)
    bodies = receive_all(client, url)
    assert sorted(b["shard"] for b in bodies) == [0, 1, 2]
    assert settled(balances) == {no: [] for no in balances}          # the coordinator settles nothing itself
    for body in bodies:
        client.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    assert lambda_workers(client, url, q) == 3
    assert_each_settled_once(balances)
    assert StateItem.get(*interest.progress_key(2026)).status == "done"
    again = jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=3)
    assert again["done"] is True and again["posted"] == 0 and receive_all(client, url) == []


def test_a_shard_whose_worker_vanished_is_sent_again_once_its_lease_is_over(sqs):
    client, url, q = sqs
    accounts(3)
    assert jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=2)["sent"] == 2
    receive_all(client, url)                                        # lost: no worker ever ran them
    [first, _] = shard_items()
    first.update(actions=[StateItem.data["lease"].set(0)])          # the lease of one ran out
    assert jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=2)["sent"] == 1
    assert [b["shard"] for b in receive_all(client, url)] == [0]


def test_a_worker_out_of_time_sends_its_continuation_and_the_run_completes(sqs, monkeypatch):
    client, url, q = sqs
    monkeypatch.setattr(interest, "PAGE", 2)
    balances = accounts(7)
    jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=1)
    [body] = receive_all(client, url)
    with fanout.deadline(0):                                        # the Lambda's time is already up
        out = jobs_fanout.work(body, queue=q)
    assert out["continued"] is True and out["pages"] == 1            # one page, then the continuation
    [continuation] = receive_all(client, url)
    assert (continuation["shard"], continuation["hop"], continuation["run"]) == (0, 1, body["run"])
    done_first = sum(1 for v in settled(balances).values() if v)
    assert 0 < done_first < sum(1 for fen in balances.values() if year_interest(fen))
    assert StateItem.get(*interest.progress_key(2026)).status == "running"
    client.send_message(QueueUrl=url, MessageBody=json.dumps(continuation))
    lambda_workers(client, url, q)
    assert_each_settled_once(balances)
    assert StateItem.get(*interest.progress_key(2026)).status == "done"


def test_a_redelivered_message_of_a_done_shard_does_nothing(sqs):
    client, url, q = sqs
    balances = accounts(3)
    jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=1)
    [body] = receive_all(client, url)
    jobs_fanout.work(body, queue=q)
    assert jobs_fanout.work(body, queue=q)["posted"] == 0
    assert_each_settled_once(balances)


def test_a_poisoned_message_is_recorded_as_failed_locally_and_the_next_firing_finishes(aws, monkeypatch):
    monkeypatch.setattr(interest, "PAGE", 2)
    balances = accounts(8)
    ordered = sorted(balances)
    real = interest._settle_page

    def poisoned(keys, *args):
        if ordered[5] in keys:
            raise RuntimeError("poisoned page")
        return real(keys, *args)

    monkeypatch.setattr(interest, "_settle_page", poisoned)
    monkeypatch.setattr(work_queue, "_queue", work_queue.LocalQueue())
    with pytest.raises(RuntimeError, match="poisoned page"):
        jobs.run("settle-annual-interest", JUNE_30)
    [dead] = work_queue.get().failed
    assert dead["body"]["job"] == "settle-annual-interest" and dead["error"] == "RuntimeError: poisoned page"
    assert [s.status for s in shard_items()] == ["failed"]
    assert StateItem.get(*interest.progress_key(2026)).status == "running"
    monkeypatch.setattr(interest, "_settle_page", real)
    assert jobs.run("settle-annual-interest", JUNE_30)["done"] is True
    assert_each_settled_once(balances)


def test_the_job_worker_lambda_works_a_shard_message(aws, client):
    # the app's on_sqs_message function, fed the message the coordinator queued, as SQS would deliver it
    balances = accounts(3)

    class Outbox:            # stands in for SQS: keeps what the coordinator sends
        def __init__(self):
            self.sent = []

        def send(self, body):
            self.sent.append(json.loads(json.dumps(body)))
            return str(len(self.sent))

    outbox = Outbox()
    assert jobs_fanout.start(interest.FANOUT, JUNE_30, queue=outbox, shards=1)["sent"] == 1
    [body] = outbox.sent
    event = client.events.generate_sqs_event(message_bodies=[json.dumps(body)], queue_name="gjj-local-jobs")
    client.lambda_.invoke("job_worker", event)
    assert_each_settled_once(balances)
    assert StateItem.get(*interest.progress_key(2026)).status == "done"


def test_gjj_jobs_run_settles_the_year_through_the_local_queue(aws, monkeypatch, capsys):
    from chalicelib import cli

    monkeypatch.setenv("GJJ_JOB_SHARDS", "3")
    monkeypatch.setenv("GJJ_JOB_WORKERS", "2")
    from chalicelib import settings

    settings.reset()
    balances = accounts(6)
    assert cli.main(["jobs", "run", "settle-annual-interest", "--at", "2026-06-30T23:00:00+08:00"]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith('{"job": "settle-annual-interest"')]
    result = json.loads(line)["result"]
    assert result["done"] is True and result["posted"] == sum(1 for f in balances.values() if year_interest(f))
    assert len(shard_items()) == 3
    assert_each_settled_once(balances)


def test_a_run_whose_last_worker_died_before_finishing_it_is_finished_by_the_next_firing(sqs, monkeypatch):
    client, url, q = sqs
    balances = accounts(4)
    jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=2)

    def dies(*args, **kwargs):
        raise RuntimeError("Lambda killed")

    real = jobs_fanout._finish_run
    monkeypatch.setattr(jobs_fanout, "_finish_run", dies)
    bodies = receive_all(client, url)
    jobs_fanout.work(bodies[0], queue=q)
    with pytest.raises(RuntimeError):
        jobs_fanout.work(bodies[1], queue=q)           # its shard is done and counted; the run is not finished
    monkeypatch.setattr(jobs_fanout, "_finish_run", real)
    assert jobs_fanout.work(bodies[1], queue=q)["note"] == "shard already done"    # SQS redelivers it
    assert StateItem.get(*interest.progress_key(2026)).status == "running"
    assert all(s.status == "done" for s in shard_items())
    assert jobs_fanout.start(interest.FANOUT, JUNE_30, queue=q, shards=2)["done"] is True
    assert StateItem.get(*interest.progress_key(2026)).status == "done" and receive_all(client, url) == []
    assert_each_settled_once(balances)
    run = StateItem.get(*interest.progress_key(2026))
    assert int(run.count) == 2                       # each shard counted once


# ---------------------------------------------------------------- shards as parallel-scan segments

SEEN: list[str] = []


def _probe_page(context, shard, now):
    """Reads its segment of the accounts table a page of 2 at a time and records what it saw."""
    from chalicelib.store.accounts import Account

    start = {"account_no": {"S": shard.cursor}} if shard.cursor else None
    found = Account.scan(segment=shard.segment, total_segments=shard.segments, limit=2, last_evaluated_key=start)
    keys = [a.account_no for a in found]
    SEEN.extend(keys)
    last = (found.last_evaluated_key or {}).get("account_no", {}).get("S")
    if keys:
        jobs_fanout.checkpoint(shard, last or keys[-1], len(keys), 0, now)
    return jobs_fanout.Page(last or (keys[-1] if keys else None), len(keys), 0, more=last is not None)


PROBE = jobs_fanout.FanoutJob("probe-scan", plan=lambda now: jobs_fanout.Plan("job#probe-scan#1", {}),
                              keys=lambda context: [], page=_probe_page, finished=lambda *a: None,
                              summary=lambda context, totals: dict(totals or {}), scan=True)


@pytest.mark.parametrize("shards", [1, 2, 4])
def test_scan_segment_shards_read_every_item_exactly_once(backend, monkeypatch, shards):
    monkeypatch.setitem(jobs_fanout.REGISTRY, "probe-scan", "tests.functional.test_jobs_fanout:PROBE")
    SEEN.clear()
    balances = accounts(9)
    out = jobs_fanout.start(PROBE, JUNE_30, shards=shards)
    assert out["done"] is True and out["posted"] == 9
    assert sorted(SEEN) == sorted(balances)
    assert sorted(int(s.data.as_dict()["segment"]) for s in StateItem.query("job#probe-scan#1")
                  if s.sk.startswith("shard#")) == list(range(shards))


def test_the_job_worker_lambda_with_its_time_nearly_gone_sends_its_continuation(aws, client, monkeypatch):
    monkeypatch.setattr(interest, "PAGE", 2)
    balances = accounts(5)
    asked = []
    monkeypatch.setattr(jobs, "budget_ms", lambda ms: asked.append(ms) or 0)     # no time left to start a page
    monkeypatch.setattr(work_queue, "_queue", work_queue.LocalQueue())
    outbox = []

    class Outbox:
        def send(self, body):
            outbox.append(json.loads(json.dumps(body)))
            return "1"

    jobs_fanout.start(interest.FANOUT, JUNE_30, queue=Outbox(), shards=1)
    [body] = outbox
    event = client.events.generate_sqs_event(message_bodies=[json.dumps(body)], queue_name="gjj-local-jobs")
    client.lambda_.invoke("job_worker", event)
    assert asked and asked[0] > 0                                   # the deadline came from the Lambda's context
    [continuation] = list(work_queue.get()._messages)               # sent to the stage's queue
    assert (continuation["shard"], continuation["hop"]) == (0, 1)
    assert sum(1 for v in settled(balances).values() if v) == 2     # one page (2 accounts) before it handed over


def test_gjj_jobs_status_shows_an_operator_where_the_run_stands(aws, monkeypatch, capsys):
    from chalicelib import cli

    at = "2026-06-30T23:00:00+08:00"
    assert cli.main(["jobs", "status", "settle-annual-interest", "--at", at]) == 0
    before = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert before["status"] is None and before["run"] == "job#settle-annual-interest#2026"
    monkeypatch.setenv("GJJ_JOB_SHARDS", "3")
    from chalicelib import settings

    settings.reset()
    balances = accounts(7)
    assert cli.main(["jobs", "run", "settle-annual-interest", "--at", at]) == 0
    capsys.readouterr()
    assert cli.main(["jobs", "status", "settle-annual-interest", "--at", at]) == 0
    after = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    earning = sum(1 for fen in balances.values() if year_interest(fen))
    assert (after["status"], after["shards_done"], after["shards"]) == ("done", 3, 3)
    assert after["items"] == earning == sum(s["items"] for s in after["by_shard"])
    assert {s["status"] for s in after["by_shard"]} == {"done"} and len(after["by_shard"]) == 3
    assert after["furthest"] == max(balances)       # the last account number, in the book's order
    # a job that does not fan out is refused with the names of those that do
    assert cli.main(["jobs", "status", "dispatch-sms"]) == 2
    assert "settle-annual-interest" in capsys.readouterr().err
