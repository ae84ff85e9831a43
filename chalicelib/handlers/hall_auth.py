"""Certificate login of the unit and developer web halls (单位网厅/开发商网厅 CA 证书登录), and certificate
revocation by the center. There is no password path for units or developers.

The client signs the challenge string (UTF-8) with ECDSA P-256 / SHA-256 and sends the DER signature in
base64, e.g. ``printf %s "$CHALLENGE" | openssl dgst -sha256 -sign unit-U1001.key.pem | base64 -w0``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.fields import Code
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.services import certificates, hall_logins
from chalicelib.services.sessions import TokenPair

api = Api(__name__, tag="web-hall-auth")

Challenge = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitChallengeIn(_In):
    unit_no: Code | None = Field(default=None,
                                 description="optional: lets the login find this challenge without sending it")


class DeveloperChallengeIn(_In):
    developer_no: Code | None = None


class ChallengeOut(BaseModel):
    challenge: str
    expires_in: int
    algorithm: str = "ECDSA-P256-SHA256"


class UnitLoginIn(_In):
    unit_no: Code
    certificate_pem: str = Field(min_length=1, max_length=16_000)
    signature_base64: str = Field(min_length=1, max_length=1_000)
    challenge: str | None = Challenge


class DeveloperLoginIn(_In):
    developer_no: Code
    certificate_pem: str = Field(min_length=1, max_length=16_000)
    signature_base64: str = Field(min_length=1, max_length=1_000)
    challenge: str | None = Challenge


class RevocationIn(_In):
    kind: Literal["unit", "developer"]
    number: Code
    serial_number: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-fA-F]+$",
                               description="the certificate's serial number in hex")
    reason: str = Field(min_length=1, max_length=200)


class RevocationOut(BaseModel):
    kind: str
    number: str
    serial_number: str
    revoked: bool


@api.route("/v1/units/auth/challenge", "POST", roles=None, body=UnitChallengeIn, response=ChallengeOut,
           summary="A one-time login challenge for a unit's certificate (单位证书登录挑战码)")
def unit_challenge(req: Request) -> ChallengeOut:
    value, seconds = hall_logins.new_challenge("unit", number=req.body.unit_no, now=req.now)
    return ChallengeOut(challenge=value, expires_in=seconds)


@api.route("/v1/units/auth/login", "POST", roles=None, body=UnitLoginIn, response=TokenPair, errors=(401,),
           summary="Unit login by certificate: the signed challenge (单位网厅证书登录)")
def unit_login(req: Request) -> TokenPair:
    b = req.body
    return hall_logins.login("unit", number=b.unit_no, certificate_pem=b.certificate_pem,
                             signature_base64=b.signature_base64, challenge=b.challenge, now=req.now,
                             source=req.source_ip)


@api.route("/v1/developers/auth/challenge", "POST", roles=None, body=DeveloperChallengeIn, response=ChallengeOut,
           summary="A one-time login challenge for a developer's certificate (开发商证书登录挑战码)")
def developer_challenge(req: Request) -> ChallengeOut:
    value, seconds = hall_logins.new_challenge("developer", number=req.body.developer_no, now=req.now)
    return ChallengeOut(challenge=value, expires_in=seconds)


@api.route("/v1/developers/auth/login", "POST", roles=None, body=DeveloperLoginIn, response=TokenPair,
           errors=(401,), summary="Developer login by certificate (开发商网厅证书登录)")
def developer_login(req: Request) -> TokenPair:
    b = req.body
    return hall_logins.login("developer", number=b.developer_no, certificate_pem=b.certificate_pem,
                             signature_base64=b.signature_base64, challenge=b.challenge, now=req.now,
                             source=req.source_ip)


@api.route("/v1/admin/certificates/revocations", "POST", roles=(auth.OPERATOR,), op_roles=(auth.ADMIN,),
           body=RevocationIn, response=RevocationOut, status=201, idempotent=True, errors=(409,),
           summary="Revoke a unit's or developer's certificate (证书注销); its sessions end")
def revoke_certificate(req: Request) -> RevocationOut:
    b = req.body
    serial = certificates.canonical_serial(b.serial_number)
    revoked = certificates.revoke(kind=b.kind, number=b.number, serial=serial, reason=b.reason,
                                  operator=req.subject, now=req.now)
    return RevocationOut(kind=b.kind, number=b.number, serial_number=serial, revoked=revoked)
