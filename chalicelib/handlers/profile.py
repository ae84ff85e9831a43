"""The depositor's own credentials: password change, phone change, SMS subscription (短信签约/解约)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from chalicelib.fields import Mobile, SmsCode
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.services import credentials, phones, subscriptions

api = Api(__name__, tag="profile")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PasswordChangeIn(_In):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PhoneChangeIn(_In):
    new_phone: Mobile      # checked at parse time, so a malformed phone is 400 before the step-up is asked for
    sms_code: SmsCode


class SubscriptionIn(_In):
    subscribed: bool
    sms_code: SmsCode


class SubscriptionOut(BaseModel):
    subscribed: bool


@api.route("/v1/me/password", "PUT", roles=(auth.DEPOSITOR,), body=PasswordChangeIn, status=204,
           errors=(400, 423), summary="Change the password (修改密码); other sessions end")
def change_password(req: Request) -> None:
    credentials.change_password(req.principal, old_password=req.body.old_password,
                                new_password=req.body.new_password, now=req.now, source=req.source_ip)


@api.route("/v1/me/phone", "PUT", roles=(auth.DEPOSITOR,), body=PhoneChangeIn, status=204, errors=(400, 401, 409),
           step_up=True, summary="Change the phone (更换手机号): step-up proven on the old phone, a code sent to the "
           "new phone; the old phone is told and other sessions end")
def change_phone(req: Request) -> None:
    phones.change_phone(req.principal, new_phone=req.body.new_phone, sms_code=req.body.sms_code, now=req.now,
                        source=req.source_ip)


@api.route("/v1/me/sms-subscription", "PUT", roles=(auth.DEPOSITOR,), body=SubscriptionIn,
           response=SubscriptionOut, errors=(400,), summary="SMS on every balance change (短信签约/解约)")
def sms_subscription(req: Request) -> SubscriptionOut:
    value = subscriptions.set_subscription(req.principal, subscribed=req.body.subscribed,
                                           sms_code=req.body.sms_code, now=req.now, source=req.source_ip)
    return SubscriptionOut(subscribed=value)
