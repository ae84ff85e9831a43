"""Changing the phone (更换手机号): the code goes to the new phone; the old phone is told by SMS.

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


def change_phone(principal: auth.Principal, *, new_phone: str, sms_code: str, now: datetime, source: str = "") -> None:
    from chalicelib.store import base
    from chalicelib.store.kv import StateItem
    from chalicelib.store.people import Person
    from chalicelib.store.users import User

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
                                                                 Person.updated_at.set(now)],
                      condition=Person.id_number.exists())
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise errors.Conflict("该手机号已被其他用户使用，请更换手机号") from None
        raise errors.Conflict() from None
    notify.queue_sms(f"phone-changed#{user.user_id}#{int(now.timestamp())}", old_phone,
                     f"【住房公积金】您的公积金账户手机号已更换为{masking.phone(new_phone)}。如非本人操作，请立即联系公积金中心。",
                     now=now)
    audit.record("auth.phone.change", role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now,
                 source=source, details={"old_phone": old_phone, "new_phone": new_phone})
