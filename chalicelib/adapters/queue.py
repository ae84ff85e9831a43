"""The jobs' work queue (issue 18): Amazon SQS in AWS stages, an in-process queue in the local stage.

A fan-out job's coordinator sends one message per shard; a worker takes one message at a time (Chalice
``on_sqs_message``, batch size 1) and may send its own continuation. In AWS the queue redelivers a message whose
worker failed and, after ``maxReceiveCount`` receives, moves it to the dead-letter queue (deploy/template.py, with
an alarm). Locally :class:`LocalQueue` keeps the messages in memory and :meth:`LocalQueue.drain` runs them in this
process with ``GJJ_JOB_WORKERS`` threads, continuations included; a message whose handler raises is not retried but
recorded as failed (``failed``, and a line in ``.local/jobs-dlq.jsonl``: the local dead-letter queue) and the first
error is raised once the queue is empty, as a failed Lambda would report it.
"""

from __future__ import annotations

import collections
import contextvars
import json
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from chalicelib import adapters, clock, settings


class WorkQueue(Protocol):
    def send(self, body: dict[str, Any]) -> str:
        """Queue one message (a JSON object); returns its id."""


class LocalQueue:
    """In memory, drained in this process (local stage and tests)."""

    def __init__(self, dlq_path=None):
        self._messages: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._sent = 0
        self._dlq_path = dlq_path
        self.failed: list[dict[str, Any]] = []

    @property
    def dlq_path(self):
        return self._dlq_path or settings.get().local_dir / "jobs-dlq.jsonl"

    def send(self, body: dict[str, Any]) -> str:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)   # what SQS would carry: JSON only
        with self._lock:
            self._sent += 1
            self._messages.append(json.loads(text))
            return f"local-{self._sent}"

    def __len__(self) -> int:
        return len(self._messages)

    def _take(self) -> dict[str, Any] | None:
        with self._lock:
            return self._messages.popleft() if self._messages else None

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def drain(self, handler: Callable[[dict[str, Any]], Any], workers: int | None = None,
              until: Callable[[], bool] | None = None) -> int:
        """Run ``handler`` on every message, including those sent while draining, ``workers`` at a time, taking no
        new one once ``until()`` is true (those are left in the queue). Returns the number handled; raises the first
        handler error after the others have finished (every failed message is recorded)."""
        workers = max(1, workers if workers is not None else settings.get().job_workers)
        handled = 0
        first_error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gjj-queue") as pool:
            pending: dict[Future, dict[str, Any]] = {}
            while True:
                while len(pending) < workers and not (until is not None and until()):
                    body = self._take()
                    if body is None:
                        break
                    pending[pool.submit(contextvars.copy_context().run, handler, body)] = body
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    body = pending.pop(future)
                    handled += 1
                    error = future.exception()
                    if error is not None:
                        self._dead_letter(body, error)
                        first_error = first_error or error
        if first_error is not None:
            raise first_error
        return handled

    def _dead_letter(self, body: dict[str, Any], error: BaseException) -> None:
        record = {"body": body, "error": f"{type(error).__name__}: {error}", "failed_at": clock.iso(clock.now())}
        with self._lock:
            self.failed.append(record)
            self.dlq_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.dlq_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")


class SqsQueue:
    """Amazon SQS: the stage's jobs queue (``GJJ_JOBS_QUEUE``), looked up by name on first send."""

    def __init__(self, name: str | None = None, client=None):
        self.name = name or settings.get().jobs_queue
        self._client = client
        self._url: str | None = None

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs", region_name=settings.get().region)
        return self._client

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self.client.get_queue_url(QueueName=self.name)["QueueUrl"]
        return self._url

    def send(self, body: dict[str, Any]) -> str:
        answer = self.client.send_message(QueueUrl=self.url,
                                          MessageBody=json.dumps(body, ensure_ascii=False, sort_keys=True))
        return answer["MessageId"]


def parse(record_body: str) -> dict[str, Any]:
    """A message's body as the worker reads it (Chalice's ``SQSRecord.body``)."""
    body = json.loads(record_body)
    if not isinstance(body, dict):
        raise ValueError("a jobs message is a JSON object")
    return body


_queue: WorkQueue | None = None


def get() -> WorkQueue:
    global _queue
    if _queue is None:
        _queue = adapters.pick(LocalQueue, SqsQueue)
    return _queue


def reset() -> None:
    global _queue
    _queue = None
