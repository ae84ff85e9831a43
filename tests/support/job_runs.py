"""Test helpers for the jobs that fan out: forgetting their run items between tests that share one set of tables,
and the jobs queue on moto's SQS (the ``sqs`` fixture, registered for every test by ``tests/conftest.py``'s
``pytest_plugins``, and :func:`receive_all`).

A fanned-out job (chalicelib/jobs_fanout.py) runs once per moment: its run item (``job#<job>#<moment>``) stays done,
so in a module whose tests share tables (tests/support/moto_module.py) the second test to run the job for the same
day would find the day done and do nothing. Each test there starts from no run, as it would on a fresh table.
"""

from __future__ import annotations

import pytest


def forget(*prefixes: str) -> int:
    """Delete every ``state`` item whose pk starts with one of ``prefixes``; the number deleted."""
    from chalicelib.store.kv import StateItem

    gone = 0
    for item in StateItem.scan():
        if item.pk.startswith(prefixes):
            item.delete()
            gone += 1
    return gone


@pytest.fixture
def sqs(aws):
    """The jobs queue on moto's SQS: (client, url, the adapter the coordinator and workers send through)."""
    import boto3

    from chalicelib.adapters import queue as work_queue

    client = boto3.client("sqs", region_name="us-east-1")
    url = client.create_queue(QueueName="gjj-test-jobs")["QueueUrl"]
    return client, url, work_queue.SqsQueue("gjj-test-jobs", client=client)


def receive_all(client, url) -> list[dict]:
    """Every message waiting on the queue, taken off it (as a worker Lambda's event source would), parsed."""
    from chalicelib.adapters import queue as work_queue

    out = []
    while True:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            out.append(work_queue.parse(m["Body"]))
