"""Identity and access (身份认证, CONTRACT section 3) and the operators' login.

Each handler parses, calls one service function and shapes the answer; the rules live in
``chalicelib/services`` (sms_codes, verification, identity, logins, sessions, credentials, operators).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib import errors, policy
from chalicelib.fields import PersonName, SmsCode
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.services import captchas, credentials, identity, logins, operators, sessions, verification
from chalicelib.services.sessions import TokenPair

api = Api(__name__, tag="auth")

Secret = Field(min_length=1, max_length=256)   # length rules are the service's; this only bounds the work


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SmsCodeIn(_In):
    purpose: Literal["register", "login", "reset_password", "change_phone", "sms_subscription", "step_up"]
    phone: str | None = Field(default=None, max_length=20)
    name: PersonName | None = Field(default=None, max_length=50)
    id_number: str | None = Field(default=None, max_length=20)
    captcha_id: str | None = Field(default=None, max_length=64, description="needed for `register` codes after a "
                                   "few from one source a day (CAPTCHA_REQUIRED)")
    captcha_answer: str | None = Field(default=None, max_length=16)


class SmsCodeOut(BaseModel):
    expires_in: int
    resend_after: int


class RegisterIn(_In):
    name: PersonName = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=20)
    phone: str = Field(min_length=1, max_length=20)
    password: str = Secret
    query_password: str | None = Field(default=None, min_length=1, max_length=256)
    sms_code: SmsCode
    accept_terms: bool


class Registered(BaseModel):
    user_id: str


class LoginIn(_In):
    principal: str = Field(min_length=1, max_length=32, description="ID number or phone")
    password: str = Secret
    captcha_id: str | None = Field(default=None, max_length=64)
    captcha_answer: str | None = Field(default=None, max_length=16)


class SmsLoginIn(_In):
    phone: str = Field(min_length=1, max_length=20)
    sms_code: SmsCode


class AlipayLoginIn(_In):
    auth_code: str = Field(min_length=1, max_length=256)


class FaceLoginIn(_In):
    name: PersonName = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=20)
    face_image_base64: str = Field(min_length=1, max_length=7_000_000)
    password: str = Secret


class RefreshIn(_In):
    refresh_token: str = Field(min_length=1, max_length=128)


class PasswordResetIn(_In):
    name: PersonName = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=20)
    sms_code: SmsCode
    new_password: str = Secret


class StepUpIn(_In):
    sms_code: SmsCode


class StepUpOut(BaseModel):
    step_up_token: str
    expires_in: int


class CaptchaOut(BaseModel):
    captcha_id: str
    image_png_base64: str


class OperatorLoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Secret
    captcha_id: str | None = Field(default=None, max_length=64)
    captcha_answer: str | None = Field(default=None, max_length=16)


@api.route("/v1/auth/sms-codes", "POST", roles=None, optional_auth=True, body=SmsCodeIn, response=SmsCodeOut,
           status=202, errors=(400, 401, 403, 429, 503), summary="Send a verification code (获取短信验证码)")
def send_sms_code(req: Request) -> SmsCodeOut:
    b = req.body
    verification.request_code(purpose=b.purpose, phone=b.phone, name=b.name, id_number=b.id_number,
                              principal=req.principal, now=req.now, source=req.source_ip,
                              captcha_id=b.captcha_id, captcha_answer=b.captcha_answer)
    sec = policy.get().security
    return SmsCodeOut(expires_in=sec.sms_code_ttl_seconds, resend_after=sec.sms_resend_seconds)


@api.route("/v1/auth/register", "POST", roles=None, body=RegisterIn, response=Registered, status=201,
           errors=(400, 409, 422), summary="Register a depositor (用户注册)")
def register(req: Request) -> Registered:
    b = req.body
    if b.accept_terms is not True:
        raise errors.ValidationFailed.field("accept_terms", "须阅读并同意用户服务协议")
    user_id = identity.register(name=b.name, id_number=b.id_number, phone=b.phone, password=b.password,
                                query_password=b.query_password, sms_code=b.sms_code, now=req.now,
                                source=req.source_ip)
    return Registered(user_id=user_id)


@api.route("/v1/auth/login", "POST", roles=None, body=LoginIn, response=TokenPair,
           errors=(400, 401, 423), summary="Password login (密码登录)")
def login_password(req: Request) -> TokenPair:
    b = req.body
    return logins.password_login(b.principal, b.password, captcha_id=b.captcha_id, captcha_answer=b.captcha_answer,
                                 now=req.now, source=req.source_ip)


@api.route("/v1/auth/captcha", "GET", roles=None, response=CaptchaOut, summary="A new image captcha (图形验证码)")
def captcha(req: Request) -> CaptchaOut:
    captcha_id, image, _ = captchas.create(now=req.now)
    return CaptchaOut(captcha_id=captcha_id, image_png_base64=image)


@api.route("/v1/auth/login/sms", "POST", roles=None, body=SmsLoginIn, response=TokenPair,
           errors=(400,), summary="SMS code login (短信验证码登录)")
def login_sms(req: Request) -> TokenPair:
    return logins.sms_login(req.body.phone, req.body.sms_code, now=req.now, source=req.source_ip)


@api.route("/v1/auth/login/alipay", "POST", roles=None, body=AlipayLoginIn, response=TokenPair,
           errors=(400, 401, 404, 503), summary="Alipay authorization login (支付宝授权登录)")
def login_alipay(req: Request) -> TokenPair:
    return logins.alipay_login(req.body.auth_code, now=req.now, source=req.source_ip)


@api.route("/v1/auth/login/face", "POST", roles=None, body=FaceLoginIn, response=TokenPair,
           errors=(400, 401, 423, 503), summary="Face plus password login (刷脸登录)")
def login_face(req: Request) -> TokenPair:
    b = req.body
    return logins.face_login(b.name, b.id_number, b.face_image_base64, b.password, now=req.now,
                             source=req.source_ip)


@api.route("/v1/auth/refresh", "POST", roles=None, body=RefreshIn, response=TokenPair, errors=(401,),
           summary="Rotate the token pair")
def refresh(req: Request) -> TokenPair:
    return sessions.refresh(req.body.refresh_token, now=req.now, source=req.source_ip)


@api.route("/v1/auth/logout", "POST", roles=auth.ROLES, status=204, summary="End this session (退出登录)")
def logout(req: Request) -> None:
    sessions.end(req.principal, now=req.now, source=req.source_ip)


@api.route("/v1/auth/password-reset", "POST", roles=None, body=PasswordResetIn, status=204, errors=(400,),
           summary="Reset the password with a code to the phone on record (找回密码)")
def password_reset(req: Request) -> None:
    b = req.body
    credentials.reset_password(name=b.name, id_number=b.id_number, sms_code=b.sms_code,
                               new_password=b.new_password, now=req.now, source=req.source_ip)


@api.route("/v1/auth/step-up", "POST", roles=(auth.DEPOSITOR,), body=StepUpIn, response=StepUpOut,
           errors=(400,), summary="Step-up token for money movement (业务身份验证)")
def step_up(req: Request) -> StepUpOut:
    token = verification.step_up(req.principal, sms_code=req.body.sms_code, now=req.now, source=req.source_ip)
    return StepUpOut(step_up_token=token, expires_in=policy.get().security.step_up_seconds)


@api.route("/v1/admin/auth/login", "POST", roles=None, body=OperatorLoginIn, response=TokenPair,
           errors=(400, 401, 423), summary="Operator login (中心操作员登录)")
def operator_login(req: Request) -> TokenPair:
    b = req.body
    return operators.login(b.username, b.password, captcha_id=b.captcha_id, captcha_answer=b.captcha_answer,
                           now=req.now, source=req.source_ip)
