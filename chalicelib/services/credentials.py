"""Passwords after registration: reset (找回密码) and change (修改密码).

A reset needs the code sent to the phone on record; unknown people get exactly the answer of a wrong
code. Both end sessions: a reset ends every session of the user, a change every other session.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import errors, policy
from chalicelib.http import auth
from chalicelib.rules.identity import normalize_id_number
from chalicelib.services import audit, identity, lockout, notify, passwords, sms_codes
from chalicelib.store.users import User


def _tell(user, what: str, now: datetime) -> None:
    """Tell the holder by SMS that a credential changed (ASVS 6.3.7)."""
    text = f"【住房公积金】您的公积金账户登录密码已{what}。如非本人操作，请立即找回密码或联系公积金中心。"
    notify.queue_sms(f"password-{what}#{user.user_id}#{int(now.timestamp())}", user.phone, text, now=now)


def reset_password(*, name: str, id_number: str, sms_code: str, new_password: str, now: datetime,
                   source: str = "") -> None:
    """找回密码. The order matters (issue 17 item 3): the attempt is counted against the ID number and the
    source, then the code is checked, and only a caller who holds the code sent to the phone on record learns
    anything about the new password (it may not contain that phone). Every failure before the code is the
    same ``SMS_CODE_INVALID``; the code stays usable when only the new password is refused."""

    id_number = normalize_id_number(id_number)
    _count_attempt(id_number, source, now=now)
    user = identity.user_by_id_number(id_number)
    person = identity.person_in_records(id_number) if user else None
    if person is not None and person.name.strip() != name.strip():
        person = None
    phone = user.phone if person else ""
    try:
        sms_codes.verify(phone, "reset_password", sms_code, now=now, consume=False)
    except errors.SmsCodeInvalid:
        audit.record("auth.password.reset", role=auth.DEPOSITOR, who=user.user_id if person else id_number,
                     result=audit.REFUSED, now=now, source=source, details={"reason": "sms_code"})
        raise
    identity.check_password(new_password, id_number=id_number, phone=user.phone, field="new_password")
    sms_codes.verify(phone, "reset_password", sms_code, now=now)   # now used up (a racing twin loses here)
    user.update(actions=[User.password_hash.set(passwords.hash_password(new_password)),
                         User.version.add(1)])
    ended = auth.revoke_sessions_of(user.user_id, role=auth.DEPOSITOR)
    lockout.reset(lockout.key_for("depositor", user.user_id))
    _tell(user, "重置", now)
    audit.record("auth.password.reset", role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now,
                 source=source, details={"sessions_ended": ended})


def _count_attempt(id_number: str, source: str, *, now: datetime) -> None:
    """At most ``reset_attempts_per_id_per_day`` tries for one ID number and ``..._per_source_per_day`` from
    one source a China-time day, known or unknown ID alike; 429 beyond."""
    sec = policy.get().security
    try:
        if source:
            sms_codes.take_daily("reset-src", source, sec.reset_attempts_per_source_per_day, now)
        sms_codes.take_daily("reset-id", id_number or "-", sec.reset_attempts_per_id_per_day, now)
    except errors.RateLimited as exc:
        raise errors.RateLimited("找回密码尝试次数过多，请明天再试或到公积金中心网点办理",
                                 retry_after=exc.details["retry_after"]) from None


def change_password(principal: auth.Principal, *, old_password: str, new_password: str, now: datetime,
                    source: str = "") -> None:
    user = identity.current_user(principal.subject)
    key = lockout.key_for("depositor", user.user_id)
    lockout.check(key, now=now, captcha_ok=True)
    if not passwords.verify(user.password_hash, old_password):
        audit.record("auth.password.change", role=auth.DEPOSITOR, who=user.user_id, result=audit.REFUSED,
                     now=now, source=source, details={"reason": "wrong_old_password"})
        failure = lockout.failed_login(key, now=now, message="原密码不正确")
        if isinstance(failure, errors.AccountLocked):
            raise failure
        raise errors.ValidationFailed("原密码不正确", details={"fields": {"old_password": "原密码不正确"}})
    identity.check_password(new_password, id_number=user.id_number, phone=user.phone, field="new_password")
    if new_password == old_password:
        raise errors.ValidationFailed.field("new_password", "新密码不能与原密码相同")
    user.update(actions=[User.password_hash.set(passwords.hash_password(new_password)), User.version.add(1)])
    lockout.reset(key)
    ended = auth.revoke_sessions_of(user.user_id, role=auth.DEPOSITOR, keep=principal.session_id)
    _tell(user, "修改", now)
    audit.record("auth.password.change", role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now,
                 source=source, details={"sessions_ended": ended})
