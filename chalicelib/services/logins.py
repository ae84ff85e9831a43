"""Depositor logins (登录): password (with captcha and lock), SMS code, Alipay authorization, face + password.

Every attempt leaves an audit record. An unknown principal and a wrong password get the same answer,
the same captcha and lock behaviour and about the same time (ASVS 6.3.8). Face is never enough alone.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from chalicelib import errors, policy
from chalicelib.adapters import alipay as alipay_adapter
from chalicelib.adapters import face as face_adapter
from chalicelib.http import auth
from chalicelib.rules.identity import normalize_id_number, normalize_phone
from chalicelib.services import audit, captchas, identity, lockout, passwords, sessions, sms_codes
from chalicelib.services.sessions import TokenPair
from chalicelib.store.kv import StateItem
from chalicelib.store.users import User

WRONG = "账号或密码错误"
MAX_FACE_BYTES = 5 * 1024 * 1024


def lock_key(user, principal: str) -> str:
    """Failures count per user; a principal that matches no user gets a counter of its own."""
    if user is not None:
        return lockout.key_for("depositor", user.user_id)
    return lockout.key_for("depositor-unknown", principal.strip().upper())


def _ok(event: str, user, *, now: datetime, source: str) -> TokenPair:
    audit.record(event, role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now, source=source)
    return sessions.start(user.user_id, auth.DEPOSITOR, now=now)


def _upgrade_hash(user, password: str) -> None:
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.update(actions=[User.password_hash.set(passwords.hash_password(password))])


def password_login(principal: str, password: str, *, captcha_id: str | None, captcha_answer: str | None,
                   now: datetime, source: str = "") -> TokenPair:
    user = identity.user_by_principal(principal)
    key = lock_key(user, principal)
    who = user.user_id if user else principal
    captcha_ok = captchas.check(captcha_id, captcha_answer, now=now) if captcha_id else False
    try:
        lockout.check(key, now=now, captcha_ok=captcha_ok)
    except (errors.AccountLocked, errors.CaptchaRequired) as exc:
        audit.record("auth.login.password", role=auth.DEPOSITOR, who=who, result=audit.REFUSED, now=now,
                     source=source, details={"reason": exc.code.lower()})
        raise
    if user is None or not passwords.verify(user.password_hash, password):
        if user is None:
            passwords.burn_time(password)
        audit.record("auth.login.password", role=auth.DEPOSITOR, who=who, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "wrong_credentials"})
        raise lockout.failed_login(key, now=now, message=WRONG)
    lockout.reset(key)
    _upgrade_hash(user, password)
    return _ok("auth.login.password", user, now=now, source=source)


def sms_login(phone: str, sms_code: str, *, now: datetime, source: str = "") -> TokenPair:
    phone = normalize_phone(phone)
    user = identity.user_by_phone(phone) if phone else None
    try:
        sms_codes.verify(phone, "login", sms_code, now=now)
        if user is None:
            raise errors.SmsCodeInvalid()
    except errors.SmsCodeInvalid:
        audit.record("auth.login.sms", role=auth.DEPOSITOR, who=user.user_id if user else phone,
                     result=audit.REFUSED, now=now, source=source)
        raise
    # the phone proved who this is: a password lock ends here (PCI 8.3.4 "until identity is confirmed")
    lockout.reset(lock_key(user, phone))
    return _ok("auth.login.sms", user, now=now, source=source)


def alipay_login(auth_code: str, *, now: datetime, source: str = "") -> TokenPair:
    """Alipay user → bound user; else the person in the records (simulator: the code names them) is
    bound, registered if needed; else 404 "register first"."""

    try:
        who = alipay_adapter.client().identify(auth_code)
    except alipay_adapter.AlipayError as exc:
        audit.record("auth.login.alipay", role=auth.DEPOSITOR, who=None, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "unavailable" if exc.unavailable else "auth_code"})
        if exc.unavailable:
            raise errors.ServiceUnavailable("支付宝服务暂时不可用，请稍后重试") from None
        raise errors.Unauthenticated("支付宝授权无效或已过期，请重新授权") from None
    try:
        user = identity.user_by_id(StateItem.get(identity.claim_key("alipay", who.user_id), "-").value)
    except StateItem.DoesNotExist:
        user = None
    if user is None and who.id_number:
        person = identity.person_in_records(who.id_number)
        if person is not None and (person.alipay_user_id in (None, who.user_id)):
            user = identity.user_by_id_number(person.id_number)
            if user is None and not identity.phone_trusted(person):
                audit.record("auth.login.alipay", role=auth.DEPOSITOR, who=who.user_id, result=audit.REFUSED,
                             now=now, source=source, details={"reason": "phone_not_proven"})
                raise errors.NotEligible(identity.PHONE_NOT_PROVEN)   # a new user would get the unit's phone
            if user is None:
                user = identity.create_user(id_number=person.id_number, phone=normalize_phone(person.phone),
                                            now=now, alipay_user_id=who.user_id)
            elif user.alipay_user_id is None:
                try:
                    StateItem(pk=identity.claim_key("alipay", who.user_id), sk="-", value=user.user_id).save(
                        condition=StateItem.pk.does_not_exist())
                    user.update(actions=[User.alipay_user_id.set(who.user_id)])
                except Exception:  # noqa: BLE001 - bound meanwhile: log in as whoever holds the claim
                    user = None
            elif user.alipay_user_id != who.user_id:
                user = None
    if user is None:
        audit.record("auth.login.alipay", role=auth.DEPOSITOR, who=who.user_id, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "not_registered"})
        raise errors.NotFound("该支付宝账户尚未绑定公积金用户，请先注册", details={"register_first": True})
    return _ok("auth.login.alipay", user, now=now, source=source)


FACE_LOCKED = "刷脸登录失败次数过多，已暂停{minutes}分钟，请使用密码或短信验证码登录"


def face_lock_key(user, id_number: str) -> str:
    """Face-login failures count on a counter of their own (issue 17 item 8): anybody can name an ID number, so
    junk face probes must not lock the person's password login."""
    if user is not None:
        return lockout.key_for("depositor-face", user.user_id)
    return lockout.key_for("depositor-face-unknown", id_number.strip().upper())


def face_login(name: str, id_number: str, face_image_base64: str, password: str, *, now: datetime,
               source: str = "") -> TokenPair:
    """Face plus password (刷脸登录): both must match. Failures lock face login only (after
    ``lock_after_failures``, for ``lock_minutes``); a locked password login is not opened by a face."""
    try:
        probe = base64.b64decode(face_image_base64, validate=True)
    except (binascii.Error, ValueError):
        raise errors.ValidationFailed.field("face_image_base64", "须为 base64 编码的图片") from None
    if not probe or len(probe) > MAX_FACE_BYTES:
        raise errors.ValidationFailed.field("face_image_base64", "图片为空或过大（最大5MB）")
    id_number = normalize_id_number(id_number)
    user = identity.user_by_id_number(id_number)
    person = identity.person_in_records(id_number) if user else None
    key = face_lock_key(user, id_number)
    who = user.user_id if user else id_number
    try:
        lockout.check(lock_key(user, id_number), now=now, captcha_ok=True)   # a password lock holds here too
        try:
            lockout.check(key, now=now, captcha_ok=True)   # the live face stands in for the captcha
        except errors.AccountLocked as exc:
            raise _face_locked(exc) from None
    except errors.AccountLocked:
        audit.record("auth.login.face", role=auth.DEPOSITOR, who=who, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "account_locked"})
        raise
    password_ok = passwords.verify(user.password_hash if user else None, password)
    face_ok = False
    if person is not None and person.name.strip() == name.strip() and person.face_photo_key:
        try:
            face_ok = face_adapter.verifier().matches(probe, person.face_photo_key)
        except face_adapter.FaceError:
            raise errors.ServiceUnavailable("人脸识别服务暂时不可用，请稍后重试或使用其他方式登录") from None
    if not (password_ok and face_ok):
        audit.record("auth.login.face", role=auth.DEPOSITOR, who=who, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "wrong_credentials"})
        failure = lockout.failed_login(key, now=now, message="人脸或密码验证未通过")
        if isinstance(failure, errors.AccountLocked):
            raise _face_locked(failure)
        failure.details.pop("captcha_required", None)    # face login takes no captcha
        raise failure
    lockout.reset(key)
    lockout.reset(lock_key(user, id_number))   # as a password login that succeeds
    return _ok("auth.login.face", user, now=now, source=source)


def _face_locked(exc: errors.ApiError) -> errors.AccountLocked:
    minutes = policy.get().security.lock_minutes
    return errors.AccountLocked(FACE_LOCKED.format(minutes=minutes), details=exc.details, headers=exc.headers)
