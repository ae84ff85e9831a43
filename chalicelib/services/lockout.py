"""Failed-login counting (登录失败锁定) for every password login: depositors, operators, face + password.

After ``captcha_after_failures`` (3) consecutive failures a captcha is required; after
``lock_after_failures`` (10) the account locks for ``lock_minutes`` (30) (PCI DSS 8.3.4). Counters are
kept per account and, for principals that match no account, per principal, so an unknown principal
goes through exactly the same answers as a known one (ASVS 6.3.8). A success resets the counter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib import errors, policy
from chalicelib.store.kv import StateItem


@dataclass
class State:
    failures: int
    locked_until: int | None   # epoch seconds


def _locked(until: int, now: datetime) -> errors.AccountLocked:
    retry = max(1, until - int(now.timestamp()))
    minutes = policy.get().security.lock_minutes
    return errors.AccountLocked(f"密码错误次数过多，账户已锁定{minutes}分钟，请稍后再试或使用短信验证码登录",
                                details={"retry_after": retry}, headers={"Retry-After": str(retry)})


def key_for(kind: str, ident: str) -> str:
    """A counter key; identifiers are hashed so no ID number or phone lands in the key."""
    return f"lockout#{kind}#{hashlib.sha256(ident.encode()).hexdigest()[:32]}"


def state(key: str, *, now: datetime) -> State:
    try:
        item = StateItem.get(key, "-")
    except StateItem.DoesNotExist:
        return State(0, None)
    locked = int(item.value) if item.value else None
    if locked is not None and locked <= int(now.timestamp()):
        return State(0, None)   # the lock has run out: a fresh start
    return State(int(item.count or 0), locked)


def check(key: str, *, now: datetime, captcha_ok: bool) -> State:
    """Refuse while locked (``ACCOUNT_LOCKED``) or when a needed captcha is missing or wrong
    (``CAPTCHA_REQUIRED``). Neither counts as a failure."""
    sec = policy.get().security
    current = state(key, now=now)
    if current.locked_until is not None:
        raise _locked(current.locked_until, now)
    if current.failures >= sec.captcha_after_failures and not captcha_ok:
        raise errors.CaptchaRequired(details={"captcha_required": True})
    return current


def fail(key: str, *, now: datetime) -> State:
    """Count one failure (atomically: concurrent guesses each count); the one that reaches the limit
    locks the account. Returns the new state."""

    sec = policy.get().security
    ts = int(now.timestamp())
    ttl = now + timedelta(days=1)
    if state(key, now=now).failures == 0:
        # nothing counted, or a lock that has run out: start again from zero
        try:
            # only over nothing, a zero count, or a lock that has really run out (epoch seconds as 10-digit
            # strings compare in order): a thread that read "0 failures" long ago must not wipe counts since
            StateItem(pk=key, sk="-", count=0, ttl=ttl).save(
                condition=StateItem.pk.does_not_exist() | (StateItem.count == 0)
                | (StateItem.value.exists() & (StateItem.value <= str(ts))))
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise   # otherwise a concurrent failure has just started counting: add to it
    item = StateItem(pk=key, sk="-")
    item.update(actions=[StateItem.count.add(1), StateItem.ttl.set(ttl)])
    failures = int(item.count or 0)
    locked = None
    if failures >= sec.lock_after_failures:
        locked = int((now + timedelta(minutes=sec.lock_minutes)).timestamp())
        item.update(actions=[StateItem.value.set(str(locked))])
    elif item.value and int(item.value) > ts:
        locked = int(item.value)
    return State(failures, locked)


def reset(key: str) -> None:
    StateItem(pk=key, sk="-").delete()


def failed_login(key: str, *, now: datetime, message: str) -> errors.ApiError:
    """Count a failure and return the error to raise: 401 with whether a captcha is now needed, or
    ``ACCOUNT_LOCKED`` when this failure locked the account."""
    sec = policy.get().security
    after = fail(key, now=now)
    if after.locked_until is not None:
        return _locked(after.locked_until, now)
    return errors.Unauthenticated(message, details={"captcha_required": after.failures >= sec.captcha_after_failures})
