"""Issue 17 item 5: burning a victim's daily SMS quota.

The attacker fires twelve requests for the victim's phone at once: they used to yield one SMS and ten counted
tries, so the victim could get no login, step-up or reset code for the rest of the day. Then the attacker simply
keeps asking for registration codes for other people's phones from one source.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import clock, errors, policy
from chalicelib.services import sms_codes
from tests.support.identity import body, captcha, last_code, post, registered, request_code, sent_to

T0 = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(T0)
    return client


def _charged(kind: str, who: str) -> int:
    """How many sends ``who`` was charged today (read straight from the counter the service keeps)."""
    from chalicelib.store.kv import StateItem

    day = clock.now().astimezone(clock.CHINA).strftime("%Y%m%d")
    try:
        return int(StateItem.get(f"sms-cap#{kind}#{who}", day).count or 0)
    except StateItem.DoesNotExist:
        return 0


def test_twelve_parallel_requests_send_one_sms_and_count_one(env):
    victim = registered()
    now = clock.now()
    start = threading.Barrier(12)

    def burst(i: int) -> str:
        start.wait()
        try:
            sms_codes.send(victim.phone, "login", now=now, source_ip="203.0.113.7")
            return "sent"
        except errors.RateLimited:
            return "refused"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(burst, range(12)))
    assert sorted(outcomes) == ["refused"] * 11 + ["sent"]
    assert sent_to(victim.phone) == 1
    assert _charged("phone", victim.phone) == 1
    assert _charged("ip", "203.0.113.7") == 1


def test_the_victim_can_still_log_in_by_sms_after_bursts_a_minute_apart(env, clock_file):
    """Nine bursts of twelve, each a minute after the last, leave the victim a code of their own."""
    victim = registered()
    for minute in range(9):
        clock_file(f"2026-07-15T09:{minute:02d}:00+08:00")
        now, start = clock.now(), threading.Barrier(12)
        with ThreadPoolExecutor(max_workers=12) as pool:
            list(pool.map(_try, [victim.phone] * 12, [now] * 12, [start] * 12))
    assert _charged("phone", victim.phone) == 9
    clock_file("2026-07-15T09:30:00+08:00")
    assert request_code(env, "login", phone=victim.phone).status_code == 202
    response = post(env, "/v1/auth/login/sms", {"phone": victim.phone, "sms_code": last_code(victim.phone)})
    assert response.status_code == 200


def _try(phone, now, start):
    start.wait()
    try:
        sms_codes.send(phone, "login", now=now, source_ip="203.0.113.7")
    except errors.RateLimited:
        pass


def test_a_source_over_its_cap_does_not_spend_the_victims_quota(env, monkeypatch):
    sec = policy.get().security
    monkeypatch.setattr(type(sec), "sms_ip_daily_cap", property(lambda self: 1), raising=False)
    victim = registered()
    now = clock.now()
    sms_codes.send("13900000001", "register", now=now, source_ip="203.0.113.9")     # the source's one send
    with pytest.raises(errors.RateLimited):
        sms_codes.send(victim.phone, "login", now=now, source_ip="203.0.113.9")
    assert _charged("phone", victim.phone) == 0 and sent_to(victim.phone) == 0


def test_sends_the_provider_refused_are_not_counted(env, monkeypatch):
    from chalicelib.adapters import sms

    class Down:
        def send(self, phone, text):
            raise sms.SmsError("provider down")

    victim = registered()
    monkeypatch.setattr(sms, "_sender", Down())
    with pytest.raises(errors.ServiceUnavailable):
        sms_codes.send(victim.phone, "login", now=clock.now(), source_ip="203.0.113.7")
    assert _charged("phone", victim.phone) == 0 and _charged("ip", "203.0.113.7") == 0


def test_registration_codes_from_one_source_need_a_captcha_after_a_few(env):
    free = policy.get().security.register_codes_before_captcha
    phones = [f"1390000{i:04d}" for i in range(free + 1)]
    for phone in phones[:free]:
        assert request_code(env, "register", phone=phone).status_code == 202
    refused = request_code(env, "register", phone=phones[free])
    assert refused.status_code == 400 and body(refused)["error"]["code"] == "CAPTCHA_REQUIRED"
    assert sent_to(phones[free]) == 0
    wrong = request_code(env, "register", phone=phones[free], captcha_id="nope", captcha_answer="AAAA")
    assert body(wrong)["error"]["code"] == "CAPTCHA_REQUIRED"
    assert request_code(env, "register", phone=phones[free], **captcha()).status_code == 202
    assert sent_to(phones[free]) == 1
