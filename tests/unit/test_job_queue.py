"""The jobs' work queue (chalicelib/adapters/queue.py): the local queue drains in-process, continuations
included, and records a failing message as dead; the SQS queue sends JSON bodies (moto) that the worker parses."""

from __future__ import annotations

import json
import threading

import pytest
from moto import mock_aws

from chalicelib.adapters import queue


def test_local_queue_drains_messages_sent_while_draining(tmp_path):
    q = queue.LocalQueue(dlq_path=tmp_path / "dlq.jsonl")
    seen, lock = [], threading.Lock()

    def handler(body):
        with lock:
            seen.append(body["n"])
        if body["n"] < 5:
            q.send({"n": body["n"] + 10})      # a continuation

    for n in range(5):
        q.send({"n": n})
    assert q.drain(handler, workers=3) == 10
    assert sorted(seen) == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]
    assert len(q) == 0 and q.failed == []


def test_a_poisoned_message_is_recorded_as_failed_and_its_error_raised(tmp_path):
    q = queue.LocalQueue(dlq_path=tmp_path / "dlq.jsonl")
    done = []

    def handler(body):
        if body["n"] == 2:
            raise ValueError("poison")
        done.append(body["n"])

    for n in range(4):
        q.send({"n": n})
    with pytest.raises(ValueError, match="poison"):
        q.drain(handler, workers=2)
    assert sorted(done) == [0, 1, 3]                       # the others were still handled
    assert [f["body"] for f in q.failed] == [{"n": 2}]
    [line] = (tmp_path / "dlq.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["error"] == "ValueError: poison"


def test_the_local_queue_carries_json_only(tmp_path):
    q = queue.LocalQueue(dlq_path=tmp_path / "dlq.jsonl")
    with pytest.raises(TypeError):
        q.send({"when": object()})


def test_the_stage_picks_the_queue(monkeypatch):
    from chalicelib import settings

    queue.reset()
    assert isinstance(queue.get(), queue.LocalQueue)       # tests run the local stage
    monkeypatch.setenv("GJJ_STAGE", "dev")
    settings.reset()
    queue.reset()
    try:
        q = queue.get()
        assert isinstance(q, queue.SqsQueue) and q.name == "gjj-dev-jobs"
    finally:
        monkeypatch.setenv("GJJ_STAGE", "local")
        settings.reset()
        queue.reset()


def test_sqs_queue_sends_json_a_worker_parses_and_failures_reach_the_dead_letter_queue():
    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="t-jobs-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName="t-jobs", Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
        q = queue.SqsQueue("t-jobs", client=sqs)
        q.send({"job": "settle-annual-interest", "shard": 3, "name": "张三"})
        [msg] = sqs.receive_message(QueueUrl=url)["Messages"]
        assert queue.parse(msg["Body"]) == {"job": "settle-annual-interest", "name": "张三", "shard": 3}
        # a worker that keeps failing never deletes it: after maxReceiveCount receives it is dead-lettered
        sqs.receive_message(QueueUrl=url)
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        [dead] = sqs.receive_message(QueueUrl=dlq)["Messages"]
        assert queue.parse(dead["Body"])["shard"] == 3


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError):
        queue.parse("[1, 2]")
