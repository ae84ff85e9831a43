"""Who gets a verification code (获取验证码) for which purpose, and what the code is bound to.

* ``register``: the phone given (the records are checked at registration). After
  ``register_codes_before_captcha`` such codes from one source in a day, each further one needs an image
  captcha (issue 17 item 5: registration codes are the one purpose anybody can aim at any phone).
* ``login``: the phone given, sent only when a user has that phone (the answer is the same either way).
* ``reset_password``: ``{name, id_number}`` instead of a phone; sent to the phone on record when they
  match a user (the answer is the same either way).
* ``change_phone``: a logged-in depositor; the code goes to the new phone, bound to the user.
* ``sms_subscription``: a logged-in depositor; the user's phone, bound to the user.
* ``step_up``: a logged-in depositor; the user's phone, bound to the session.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import errors, policy
from chalicelib.http import auth
from chalicelib.rules.identity import normalize_id_number
from chalicelib.services import audit, captchas, identity, sms_codes

NEEDS_LOGIN = ("change_phone", "sms_subscription", "step_up")


def request_code(*, purpose: str, phone: str | None, name: str | None, id_number: str | None,
                 principal: auth.Principal | None, now: datetime, source: str = "",
                 captcha_id: str | None = None, captcha_answer: str | None = None) -> None:
    target: str | None = None
    bound_to: str | None = None
    who: str | None = None
    decoy: str | None = None      # the key a request about nobody is limited under
    if purpose in NEEDS_LOGIN:
        if principal is None:
            raise errors.Unauthenticated("请先登录")
        if principal.role != auth.DEPOSITOR:
            raise errors.Forbidden("当前登录身份无权办理此业务")
        user = identity.current_user(principal.subject)
        who = user.user_id
        if purpose == "change_phone":
            if not phone:
                raise errors.ValidationFailed.field("phone", "必填")
            target = identity.check_phone(phone)
            if target == user.phone:
                raise errors.ValidationFailed.field("phone", "新手机号与当前手机号相同")
            bound_to = user.user_id
        else:
            if phone and identity.check_phone(phone) != user.phone:
                raise errors.ValidationFailed.field("phone", "须为本人登记的手机号")
            target = user.phone
            bound_to = principal.session_id if purpose == "step_up" else user.user_id
    elif purpose == "reset_password":
        if not name or not id_number:
            missing = {f: "必填" for f, v in (("name", name), ("id_number", id_number)) if not v}
            raise errors.ValidationFailed(details={"fields": missing})
        id_number = identity.check_id_number(id_number, now=now)
        user = identity.user_by_id_number(normalize_id_number(id_number))
        person = identity.matches_records(name, id_number, None) if user else None
        who = id_number
        decoy = f"id:{id_number}"
        if person is not None:
            target = user.phone
            who = user.user_id
    else:
        if not phone:
            raise errors.ValidationFailed.field("phone", "必填")
        target = identity.check_phone(phone)
        who = target
        if purpose == "register":
            _register_captcha(source, captcha_id, captcha_answer, now=now)
        if purpose == "login":
            user = identity.user_by_phone(target)
            decoy = target
            target = user.phone if user else None
            who = user.user_id if user else who
    if target is None:
        # nobody to text: the same limits and answers as for somebody, and nothing sent
        audit.record("sms.code", role=auth.DEPOSITOR, who=who, result=audit.REFUSED, now=now, source=source,
                     details={"purpose": purpose, "reason": "no_such_user"})
        sms_codes.send(decoy or "-", purpose, now=now, source_ip=source, pretend=True)
        return
    try:
        sms_codes.send(target, purpose, now=now, source_ip=source, bound_to=bound_to)
    except errors.ApiError as exc:
        if purpose == "register" and source:
            sms_codes.give_back(REGISTER_SOURCE, source, now)
        audit.record("sms.code", role=auth.DEPOSITOR, who=who, result=audit.REFUSED, now=now, source=source,
                     details={"purpose": purpose, "reason": exc.code.lower()})
        raise
    audit.record("sms.code", role=auth.DEPOSITOR, who=who, result=audit.OK, now=now, source=source,
                 details={"purpose": purpose, "phone": target})


REGISTER_SOURCE = "register-src"


def _register_captcha(source: str, captcha_id: str | None, captcha_answer: str | None, *, now: datetime) -> None:
    """The first few registration codes of a source a day are free; after that each needs a captcha."""
    if not source:
        return
    free = policy.get().security.register_codes_before_captcha
    if sms_codes.take_free(REGISTER_SOURCE, source, free, now):
        return
    if not captchas.check(captcha_id, captcha_answer, now=now):
        raise errors.CaptchaRequired("获取注册验证码过于频繁，请输入图形验证码", details={"captcha_required": True})
    sms_codes.count_anyway(REGISTER_SOURCE, source, now)


def step_up(principal: auth.Principal, *, sms_code: str, now: datetime, source: str = "") -> str:
    """Verify a ``step_up`` code of this session and issue the step-up token (5 min, this session)."""
    user = identity.current_user(principal.subject)
    try:
        sms_codes.verify(user.phone, "step_up", sms_code, now=now, bound_to=principal.session_id)
    except errors.SmsCodeInvalid:
        audit.record("auth.step_up", role=principal.role, who=user.user_id, result=audit.REFUSED, now=now,
                     source=source)
        raise
    audit.record("auth.step_up", role=principal.role, who=user.user_id, result=audit.OK, now=now, source=source)
    return auth.issue_step_up_token(principal, now=now)
