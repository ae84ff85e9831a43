"""Certificate login of the unit and developer web halls (单位网厅/开发商网厅 CA 证书登录). No passwords.

1. ``POST /v1/{units|developers}/auth/challenge`` → a random challenge (256 bits), kept as a state item
   ``challenge#<value>`` for ``web_halls.challenge_seconds``, bound to the hall (unit or developer).
2. The client signs the challenge with its certificate's key (ECDSA P-256, SHA-256, DER, base64).
3. ``POST .../auth/login`` with the number, the certificate PEM, the signature and the challenge: the
   challenge is consumed first (a conditional write: used once, whatever the outcome), then the certificate
   is checked (:func:`chalicelib.services.certificates.check`) and the signature verified; the unit or
   developer must exist and not be closed. A session opens with role ``unit``/``developer`` and subject
   the unit/developer number.

A client that does not send the challenge back may name its number when asking for one; the login then
uses the last challenge issued for that number. Every attempt is audited (``auth.login.unit`` /
``auth.login.developer``) with the reason of a refusal.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets

from pynamodb.exceptions import UpdateError

from chalicelib import clock, errors, policy
from chalicelib.services import audit, certificates, sessions
from chalicelib.services.certificates import ROLE, CertificateRefused
from chalicelib.services.sessions import TokenPair
from chalicelib.store.developers import Developer
from chalicelib.store.kv import StateItem
from chalicelib.store.people import Unit

CHALLENGE_BYTES = 32


def _challenge_key(value: str) -> str:
    return f"challenge#{value}"


def _latest_key(kind: str, number: str) -> str:
    return f"challenge-for#{kind}#{number}"


def new_challenge(kind: str, *, number: str | None, now: dt.datetime) -> tuple[str, int]:
    """A fresh one-time challenge for the ``kind`` hall; (challenge, seconds it lives)."""
    seconds = policy.get().web_halls.challenge_seconds
    value = secrets.token_urlsafe(CHALLENGE_BYTES)
    expires = now + dt.timedelta(seconds=seconds)
    StateItem(_challenge_key(value), "-", status="issued", value=kind, count=int(expires.timestamp()),
              updated_at=clock.iso(now), ttl=expires + dt.timedelta(days=1)).save()
    if number:
        StateItem(_latest_key(kind, number), "-", value=value, updated_at=clock.iso(now),
                  ttl=expires + dt.timedelta(days=1)).save()
    return value, seconds


def _consume(kind: str, value: str, now: dt.datetime) -> None:
    """Use the challenge once: issued for this hall and not expired, else CertificateRefused."""
    try:
        StateItem(_challenge_key(value), "-").update(
            actions=[StateItem.status.set("used"), StateItem.updated_at.set(clock.iso(now))],
            condition=(StateItem.status == "issued") & (StateItem.value == kind)
            & (StateItem.count > int(now.timestamp())))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise CertificateRefused("challenge", "登录挑战码无效或已过期，请重新获取") from None


def _latest_challenge(kind: str, number: str) -> str | None:
    try:
        return StateItem.get(_latest_key(kind, number), "-", consistent_read=True).value
    except StateItem.DoesNotExist:
        return None


def _holder_ok(kind: str, number: str) -> bool:
    if kind == "unit":
        try:
            return Unit.get(number).status != "closed"
        except Unit.DoesNotExist:
            return False

    try:
        return Developer.get(number).status == "normal"
    except Developer.DoesNotExist:
        return False


def login(kind: str, *, number: str, certificate_pem: str, signature_base64: str, challenge: str | None,
          now: dt.datetime, source: str = "") -> TokenPair:
    """Certificate login for a unit (``kind="unit"``) or developer; 401 with the reason's message on refusal."""
    event = f"auth.login.{kind}"
    serial = None
    try:
        value = challenge or _latest_challenge(kind, number)
        if not value:
            raise CertificateRefused("challenge", "请先获取登录挑战码")
        _consume(kind, value, now)
        cert = certificates.load(certificate_pem)
        serial = certificates.serial_hex(cert)
        checked = certificates.check(cert, kind, number, now)
        try:
            signature = base64.b64decode(signature_base64, validate=True)
        except (binascii.Error, ValueError):
            raise CertificateRefused("signature", "签名验证未通过") from None
        certificates.verify_signature(checked.certificate, value.encode("utf-8"), signature)
        if not _holder_ok(kind, number):
            raise CertificateRefused("holder", "单位账户状态异常，请联系公积金中心" if kind == "unit"
                                     else "开发企业状态异常，请联系公积金中心")
    except CertificateRefused as refused:
        audit.record(event, role=ROLE[kind], who=number, result=audit.REFUSED, now=now, source=source,
                     details={"reason": refused.reason, "cert_serial": serial})
        raise errors.Unauthenticated(refused.message, details={"reason": refused.reason}) from None
    audit.record(event, role=ROLE[kind], who=number, result=audit.OK, now=now, source=source,
                 details={"cert_serial": checked.serial_hex})
    return sessions.start(number, ROLE[kind], now=now)
