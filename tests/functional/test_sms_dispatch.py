"""The dispatch-sms job: queued notification SMS sent once, retried with back-off, given up with an audit event."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib import clock, jobs, policy
from chalicelib.adapters import sms
from chalicelib.services import audit, notify, sms_dispatch
from chalicelib.store.messages import OutboundSms

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=clock.CHINA)


class Phone:
    """A sender fake: records what it sends; fails the first ``fail`` sends (or always)."""

    def __init__(self, fail: int = 0, during_send=None):
        self.sent: list[tuple[str, str]] = []
        self.tries = 0
        self.fail = fail
        self.during_send = during_send

    def send(self, phone: str, text: str) -> str:
        self.tries += 1
        if self.during_send:
            hook, self.during_send = self.during_send, None
            hook()
        if self.tries <= self.fail:
            raise sms.SmsError("provider timeout")
        self.sent.append((phone, text))
        return f"m{self.tries}"


@pytest.fixture
def queue(aws):
    def add(n=1, at=T0, prefix="payment"):
        for i in range(n):
            notify.queue_sms(f"{prefix}#{i}", f"1380000{i:04d}", f"【公积金】第{i}条", now=at)
    return add


def _item(sms_id="payment#0") -> OutboundSms:
    return OutboundSms.get(sms_id, consistent_read=True)


def test_due_sms_are_sent_once_and_leave_the_queue(queue):
    queue(3)
    phone = Phone()
    assert sms_dispatch.dispatch(T0, sender=phone)["sent"] == 3
    assert sorted(phone.sent) == [(f"1380000{i:04d}", f"【公积金】第{i}条") for i in range(3)]
    item = _item()
    assert (item.status, item.queue, item.attempts, item.sent_at) == ("sent", None, 1, clock.iso(T0))
    assert sms_dispatch.dispatch(T0, sender=phone) == {"sent": 0, "failed": 0, "given_up": 0, "skipped": 0}
    assert len(phone.sent) == 3


def test_an_sms_not_yet_due_waits(queue):
    queue(1, at=T0 + timedelta(minutes=5))
    phone = Phone()
    sms_dispatch.dispatch(T0, sender=phone)
    assert phone.sent == [] and _item().status == "pending"
    sms_dispatch.dispatch(T0 + timedelta(minutes=5), sender=phone)
    assert len(phone.sent) == 1


def test_a_failed_send_is_retried_after_a_growing_back_off(queue):
    rules = policy.get().sms_dispatch
    queue(1)
    phone = Phone(fail=2)
    assert sms_dispatch.dispatch(T0, sender=phone)["failed"] == 1
    item = _item()
    assert (item.status, item.attempts, item.last_error) == ("pending", 1, "provider timeout")
    assert item.due_at == int(T0.timestamp()) + rules.backoff_base_seconds
    # not before it is due again
    sms_dispatch.dispatch(T0 + timedelta(seconds=rules.backoff_base_seconds - 1), sender=phone)
    assert phone.tries == 1
    second = T0 + timedelta(seconds=rules.backoff_base_seconds)
    sms_dispatch.dispatch(second, sender=phone)
    assert _item().due_at == int(second.timestamp()) + 2 * rules.backoff_base_seconds   # doubled
    third = second + timedelta(seconds=2 * rules.backoff_base_seconds)
    assert sms_dispatch.dispatch(third, sender=phone)["sent"] == 1
    assert phone.sent == [("13800000000", "【公积金】第0条")] and _item().attempts == 3


def test_after_the_last_attempt_the_sms_is_given_up_and_audited(queue):
    rules = policy.get().sms_dispatch
    queue(1)
    phone = Phone(fail=10_000)
    now = T0
    for _ in range(rules.max_attempts):
        sms_dispatch.dispatch(now, sender=phone)
        now += timedelta(seconds=rules.backoff_max_seconds)
    item = _item()
    assert (item.status, item.queue, item.attempts) == ("given_up", None, rules.max_attempts)
    assert sms_dispatch.dispatch(now + timedelta(days=1), sender=phone)["given_up"] == 0
    assert phone.tries == rules.max_attempts
    [event] = audit.events_of("system", "dispatch-sms")
    assert (event.event, event.result) == ("sms.given_up", "error")
    assert event.details["sms_id"] == "payment#0" and event.details["phone"] == "138****0000"


def test_two_runs_at_the_same_moment_send_nothing_twice(queue):
    queue(3)
    inner = Phone()
    outer = Phone(during_send=lambda: sms_dispatch.dispatch(T0, sender=inner))   # a second run mid-send
    sms_dispatch.dispatch(T0, sender=outer)
    sent = sorted(outer.sent + inner.sent)
    assert sent == sorted(set(sent)) and len(sent) == 3


def test_a_run_reads_the_queue_in_pages_up_to_its_limit(queue, monkeypatch):
    current = policy.get()
    smaller = current.sms_dispatch.model_copy(update={"batch_size": 2, "max_per_run": 5})
    changed = current.model_copy(update={"sms_dispatch": smaller})
    monkeypatch.setattr(policy, "get", lambda: changed)
    queue(7)
    phone = Phone()
    assert sms_dispatch.dispatch(T0, sender=phone)["sent"] == 5
    assert sms_dispatch.dispatch(T0, sender=phone)["sent"] == 2
    assert len(set(phone.sent)) == 7


def test_the_scheduled_job_sends_through_the_stage_sender(queue, local_dir):
    queue(1)
    sms.reset()
    try:
        jobs.run("dispatch-sms", T0)
        jobs.run("dispatch-sms", T0)            # the second run of the same moment sends nothing
    finally:
        sms.reset()
    assert [m["text"] for m in sms.LocalOutbox(local_dir / "sms.jsonl").read()] == ["【公积金】第0条"]
