"""SMS verification codes (短信验证码) for every purpose.

6 random digits from ``secrets``; valid ``sms_code_ttl_seconds`` (5 min); single use; bound to the
phone and the purpose (and, for step-up, to the session; for phone change and subscription, to the
user); void after ``sms_code_max_wrong`` (5) wrong tries; ``sms_resend_seconds`` (60 s) between sends
to a phone for one purpose; at most ``sms_daily_cap`` (10) a phone and ``sms_ip_daily_cap`` a source
IP a China-time day. Codes are stored only as argon2id hashes and never logged; they are sent at once
through the SMS adapter, and a send the provider refuses answers 503 (the code is dropped and nothing
stays counted). The 60-second slot is taken before anything is counted and the source pays before the
phone, so a burst of requests cannot burn a victim's daily quota (see :func:`send`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib import clock, errors, policy
from chalicelib.adapters import sms as sms_adapter
from chalicelib.services import passwords
from chalicelib.store.kv import StateItem
from chalicelib.store.users import SmsCode

PURPOSES = ("register", "login", "reset_password", "change_phone", "sms_subscription", "step_up")
LABELS = {
    "register": "注册",
    "login": "登录",
    "reset_password": "找回密码",
    "change_phone": "更换手机号",
    "sms_subscription": "短信签约/解约",
    "step_up": "业务身份验证",
}
_CODE_RE = re.compile(r"^\d{6}$")


def new_code() -> str:
    """Six digits from the operating system's CSPRNG (≈20 bits)."""
    return f"{secrets.randbelow(10**6):06d}"


def _key(phone: str, purpose: str) -> str:
    return f"{phone}#{purpose}"


def _seconds_to_midnight(now: datetime) -> int:
    local = now.astimezone(clock.CHINA)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - local).total_seconds()))


def _cap_item(kind: str, who: str, now: datetime):
    return StateItem(pk=f"sms-cap#{kind}#{who}", sk=now.astimezone(clock.CHINA).strftime("%Y%m%d"))


def _take_daily(kind: str, who: str, cap: int, now: datetime) -> None:
    """Count one send against a daily cap; 429 when the cap is reached (nothing counted then)."""

    item = _cap_item(kind, who, now)
    try:
        item.update(actions=[StateItem.count.add(1),
                             StateItem.ttl.set(now + timedelta(days=2))],
                    condition=StateItem.count.does_not_exist() | (StateItem.count < cap))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.RateLimited("今日获取验证码的次数已达上限，请明天再试",
                                     retry_after=_seconds_to_midnight(now)) from None
        raise


take_daily = _take_daily


def _give_back(kind: str, who: str, now: datetime) -> None:
    """Undo one count of :func:`_take_daily` (the SMS it paid for was never sent)."""

    try:
        _cap_item(kind, who, now).update(actions=[StateItem.count.add(-1)], condition=StateItem.count > 0)
    except UpdateError:
        pass


def take_free(kind: str, who: str, free: int, now: datetime) -> bool:
    """Count one use of ``who`` today; False (nothing counted) once ``free`` uses were counted."""
    try:
        _take_daily(kind, who, free, now)
        return True
    except errors.RateLimited:
        return False


def count_anyway(kind: str, who: str, now: datetime) -> None:
    _cap_item(kind, who, now).update(actions=[StateItem.count.add(1), StateItem.ttl.set(now + timedelta(days=2))])


def give_back(kind: str, who: str, now: datetime) -> None:
    _give_back(kind, who, now)


def send(phone: str, purpose: str, *, now: datetime, source_ip: str = "", bound_to: str | None = None,
         pretend: bool = False) -> None:
    """Issue a new code for (phone, purpose) and text it. Replaces any earlier code of that pair.

    The order defends the phone's daily quota (issue 17 item 5): first the 60-second slot of (phone,
    purpose) is taken with one conditional write, so of many parallel requests exactly one goes on and the
    others are refused without counting anything; then the caller's source pays (a source over its cap
    cannot spend the phone's quota); then the phone's daily count; a send the provider refuses gives both
    counts back, so only SMS actually sent are counted.

    ``pretend``: go through the same limits and storage but send nothing and keep a code that can never
    match (for requests about nobody, which must look exactly like requests about somebody).
    """

    if purpose not in PURPOSES:
        raise errors.ValidationFailed.field("purpose", "不支持的用途")
    sec = policy.get().security
    ts = int(now.timestamp())
    slot = StateItem(pk=f"sms-slot#{_key(phone, purpose)}", sk="-", count=ts,
                     ttl=now + timedelta(seconds=sec.sms_resend_seconds + 3600))
    try:   # 1. the slot: one conditional write decides who goes on; the current code is not touched yet
        slot.save(condition=StateItem.pk.does_not_exist() | (StateItem.count <= ts - sec.sms_resend_seconds))
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        try:
            waited = ts - int(StateItem.get(slot.pk, "-", consistent_read=True).count or 0)
        except StateItem.DoesNotExist:
            waited = 0
        raise errors.RateLimited("验证码发送过于频繁，请稍后再试",
                                 retry_after=max(1, sec.sms_resend_seconds - waited)) from None
    charged: list[tuple[str, str]] = []
    item = None
    try:
        if source_ip:      # 2. the caller's source pays first
            _take_daily("ip", source_ip, sec.sms_ip_daily_cap, now)
            charged.append(("ip", source_ip))
        _take_daily("phone", phone, sec.sms_daily_cap, now)     # 3. then the phone's quota
        charged.append(("phone", phone))
        code = new_code()
        stored = passwords.hash_password(secrets.token_urlsafe(24) if pretend else code)
        item = SmsCode(key=_key(phone, purpose), code_hash=stored, issued_at=ts,
                       expires_at=ts + sec.sms_code_ttl_seconds, wrong=0, used=False, bound_to=bound_to,
                       ttl=now + timedelta(days=1))
        item.save()
        if not pretend:
            _text(phone, purpose, code, sec)
    except (errors.RateLimited, errors.ServiceUnavailable):
        if item is not None:
            _drop(item)
        try:
            slot.delete(condition=StateItem.count == ts)
        except DeleteError:
            pass
        for kind, who in charged:
            _give_back(kind, who, now)
        raise


def _text(phone: str, purpose: str, code: str, sec) -> None:
    minutes = max(1, sec.sms_code_ttl_seconds // 60)
    text = (f"【住房公积金】您的{LABELS[purpose]}验证码为{code}，{minutes}分钟内有效。"
            f"工作人员不会向您索取验证码，请勿告诉他人。")
    try:
        sms_adapter.sender().send(phone, text)
    except sms_adapter.SmsError:
        raise errors.ServiceUnavailable("短信发送失败，请稍后重试") from None


def _drop(item) -> None:
    """Delete the code this request stored (only if it is still this request's)."""

    try:
        item.delete(condition=(SmsCode.issued_at == item.issued_at) & (SmsCode.code_hash == item.code_hash))
    except DeleteError:
        pass


def verify(phone: str, purpose: str, code: str, *, now: datetime, bound_to: str | None = None,
           consume: bool = True) -> None:
    """Accept ``code`` once for (phone, purpose[, bound_to]); raise ``SmsCodeInvalid`` otherwise.

    ``consume=False`` checks (a wrong code still counts) but leaves the code usable, for a flow that must
    know the code is right before it looks at the rest of the request and may refuse that rest.

    A wrong code (or one presented for another session/user) counts as a wrong try; after the
    limit the code is void even when the right digits come.
    """

    invalid = errors.SmsCodeInvalid()
    if purpose not in PURPOSES or not phone:
        passwords.burn_time(code if isinstance(code, str) else "-")
        raise invalid
    sec = policy.get().security
    try:
        item = SmsCode.get(_key(phone, purpose))
    except SmsCode.DoesNotExist:
        passwords.burn_time(code or "-")
        raise invalid from None
    ts = int(now.timestamp())
    if item.used or ts >= item.expires_at or item.wrong >= sec.sms_code_max_wrong:
        raise invalid
    good = (isinstance(code, str) and bool(_CODE_RE.match(code)) and item.bound_to == bound_to
            and passwords.verify(item.code_hash, code))
    if not good:
        try:
            item.update(actions=[SmsCode.wrong.add(1)], condition=SmsCode.issued_at == item.issued_at)
        except UpdateError:
            pass
        raise invalid
    if not consume:
        return
    try:
        item.update(actions=[SmsCode.used.set(True)],
                    condition=(SmsCode.used == False) & (SmsCode.issued_at == item.issued_at)  # noqa: E712
                    & (SmsCode.wrong < sec.sms_code_max_wrong))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise invalid from None
        raise
