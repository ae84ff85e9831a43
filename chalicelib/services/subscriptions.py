"""SMS subscription (短信签约/解约): an SMS on every balance change, switched with a code to the user's phone."""

from __future__ import annotations

from datetime import datetime

from chalicelib import errors
from chalicelib.http import auth
from chalicelib.services import audit, identity, sms_codes
from chalicelib.store.users import User


def set_subscription(principal: auth.Principal, *, subscribed: bool, sms_code: str, now: datetime,
                     source: str = "") -> bool:
    user = identity.current_user(principal.subject)
    try:
        sms_codes.verify(user.phone, "sms_subscription", sms_code, now=now, bound_to=user.user_id)
    except errors.SmsCodeInvalid:
        audit.record("sms.subscription", role=auth.DEPOSITOR, who=user.user_id, result=audit.REFUSED, now=now,
                     source=source, details={"subscribed": subscribed})
        raise
    user.update(actions=[User.sms_subscribed.set(subscribed)])
    audit.record("sms.subscription", role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now,
                 source=source, details={"subscribed": subscribed})
    return subscribed
