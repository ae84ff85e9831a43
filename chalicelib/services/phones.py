"""Changing the phone (更换手机号): proven on both phones, told to the old one, other sessions ended.

A stolen session alone must not be able to move the account to the thief's phone (issue 17 item 2), so:

* the route needs a step-up token (``X-Step-Up-Token``), and a step-up code only ever goes to the phone
  the user has now, so the change is proven on the *old* phone;
* the code of purpose ``change_phone`` goes to the *new* phone (the person holds it);
* the old phone is told by SMS, and every other session of the user ends (the one that asked stays).

The user's phone and the person's phone in the records change together, with the phone claims
swapped in the same transaction (a phone belongs to one user).
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import errors, masking
from chalicelib.http import auth
from chalicelib.services import audit, identity, notify, sms_codes
from chalicelib.store import base
from chalicelib.store.kv import StateItem
from chalicelib.store.people import Person
from chalicelib.store.users import User


def change_phone(principal: auth.Principal, *, new_phone: str, sms_code: str, now: datetime, source: str = "") -> None:
    new_phone = identity.check_phone(new_phone, field="new_phone")
    user = identity.current_user(principal.subject)
    if new_phone == user.phone:
        raise errors.ValidationFailed.field("new_phone", "新手机号与当前手机号相同")
    try:
        sms_codes.verify(new_phone, "change_phone", sms_code, now=now, bound_to=user.user_id)
    except errors.SmsCodeInvalid:
        audit.record("auth.phone.change", role=auth.DEPOSITOR, who=user.user_id, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "sms_code"})
        raise
    old_phone = user.phone
    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.save(StateItem(pk=identity.claim_key("phone", new_phone), sk="-", value=user.user_id),
                    condition=StateItem.pk.does_not_exist())
            tx.delete(StateItem(pk=identity.claim_key("phone", old_phone), sk="-"))
            tx.update(user, actions=[User.phone.set(new_phone), User.version.add(1)],
                      condition=User.version == user.version)
            tx.update(Person(id_number=user.id_number), actions=[Person.phone.set(new_phone),
                                                                 Person.phone_source.remove(),   # proven now
                                                                 Person.updated_at.set(now)],
                      condition=Person.id_number.exists())
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise errors.Conflict("该手机号已被其他用户使用，请更换手机号") from None
        raise errors.Conflict() from None
    ended = auth.revoke_sessions_of(user.user_id, role=auth.DEPOSITOR, keep=principal.session_id)
    notify.queue_sms(f"phone-changed#{user.user_id}#{int(now.timestamp())}", old_phone,
                     f"【住房公积金】您的公积金账户手机号已更换为{masking.phone(new_phone)}。如非本人操作，请立即联系公积金中心。",
                     now=now)
    audit.record("auth.phone.change", role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now,
                 source=source, details={"old_phone": old_phone, "new_phone": new_phone, "sessions_ended": ended})
