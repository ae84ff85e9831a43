"""Unit and developer certificates (单位/开发商 CA 证书): issuing, checking, revoking.

* :func:`issue_certificate` (``gjj units certificate`` / ``gjj developers certificate``, local stage): a new
  P-256 key and a certificate ``O=<center>, OU=<unit|developer>, CN=<number>`` from the local CA, written
  as PEM files for the unit's or developer's client.
* :func:`check` (every certificate login): the certificate must be issued by the center's CA (signature
  and issuer), be an end-entity certificate for client authentication, be inside its validity dates, name
  exactly this unit or developer, carry a P-256 key, and not be revoked.
* :func:`revoke`: an operator revokes a certificate by serial (a state item ``revoked-cert#<serial hex>``);
  the holder's sessions end at once. Serials are compared as integers (``0ABCDE`` as openssl prints it, ``abcde``
  and ``ABCDE`` are one serial), and when the server has seen the certificate (issued here, or presented at a
  login: ``cert#<serial hex>`` records its subject) the unit or developer named must be the one in its subject.

The login signature is ECDSA P-256 over SHA-256 of the UTF-8 bytes of the challenge, DER encoded, base64
(what ``openssl dgst -sha256 -sign key.pem`` produces).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pynamodb.exceptions import PutError

from chalicelib import clock, errors, policy, settings
from chalicelib.http import auth
from chalicelib.services import audit
from chalicelib.store.kv import StateItem

if TYPE_CHECKING:   # cryptography's x509 (and the CA adapter on it) is imported where used: off the cold start
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

ROLE = {"unit": auth.UNIT, "developer": auth.DEVELOPER}


def issue_certificate(kind: str, number: str, out_dir: Path, *, now: dt.datetime | None = None,
                      days: int | None = None) -> list[Path]:
    """Issue a login certificate and key for a unit or developer into ``out_dir`` (local stage only).

    Writes ``<kind>-<number>.key.pem`` (0600), ``<kind>-<number>.cert.pem`` and ``ca.cert.pem``; returns them.
    """
    if not settings.get().is_local:
        raise RuntimeError("certificates are issued by the center's CA offline; gjj issues them in the local "
                           "stage only")
    from cryptography.hazmat.primitives import serialization

    from chalicelib.adapters import ca

    if kind not in ca.KINDS:
        raise ValueError(f"kind must be one of {ca.KINDS}")
    if not number or not number.replace("-", "").replace("_", "").isalnum():
        raise ValueError("the number must be letters, digits, - or _")
    now = now or clock.now()
    days = days if days is not None else policy.get().web_halls.certificate_days
    authority = ca.authority()
    cert, key = authority.issue(kind, number, not_before=now - dt.timedelta(minutes=5),
                                not_after=now + dt.timedelta(days=days))
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path = out_dir / f"{kind}-{number}.key.pem"
    cert_path = out_dir / f"{kind}-{number}.cert.pem"
    ca_path = out_dir / "ca.cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    remember(cert)
    ca_path.write_bytes(authority.certificate().public_bytes(serialization.Encoding.PEM))
    return [cert_path, key_path, ca_path]


class CertificateRefused(Exception):
    """Why a certificate is not accepted: ``reason`` for the audit, ``message`` for the caller."""

    def __init__(self, reason: str, message: str = "证书验证未通过"):
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Checked:
    certificate: x509.Certificate
    serial_hex: str


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def canonical_serial(serial: str) -> str:
    """A serial as hex without leading zeros, lower case: the one spelling of the integer it stands for."""
    return format(int(serial, 16), "x")


def _seen_key(serial: str) -> str:
    return f"cert#{canonical_serial(serial)}"


def remember(cert: x509.Certificate) -> None:
    """Record whose certificate this serial is (issue and login), so a revocation can be checked against it."""
    from cryptography.x509.oid import NameOID

    kind = _name(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    number = _name(cert.subject, NameOID.COMMON_NAME)
    StateItem(_seen_key(serial_hex(cert)), "-", value=f"{kind}:{number}").save()


def holder_of(serial: str) -> str | None:
    """``kind:number`` of the certificate with this serial when the server has seen it, else None."""
    try:
        return StateItem.get(_seen_key(serial), "-", consistent_read=True).value
    except StateItem.DoesNotExist:
        return None


def _name(cert_name: x509.Name, oid) -> str | None:
    values = cert_name.get_attributes_for_oid(oid)
    return values[0].value if len(values) == 1 else None


def load(pem: str) -> x509.Certificate:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise CertificateRefused("certificate_format", "证书格式无效") from None


def check(cert: x509.Certificate, kind: str, number: str, now: dt.datetime) -> Checked:
    """Accept ``cert`` as the login certificate of ``kind`` ``number`` at ``now``, or raise CertificateRefused."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from chalicelib.adapters import ca

    authority_cert = ca.authority().certificate()
    try:
        cert.verify_directly_issued_by(authority_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateRefused("foreign_ca", "证书不是公积金中心签发的") from None
    moment = now.astimezone(dt.UTC)
    for c in (authority_cert, cert):
        if moment < c.not_valid_before_utc:
            raise CertificateRefused("not_yet_valid", "证书尚未生效")
        if moment > c.not_valid_after_utc:
            raise CertificateRefused("expired", "证书已过期，请到公积金中心更新证书")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateRefused("not_a_login_certificate") from None
    if constraints.ca or ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
        raise CertificateRefused("not_a_login_certificate")
    if _name(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) != kind \
            or _name(cert.subject, NameOID.COMMON_NAME) != number:
        raise CertificateRefused("subject_mismatch", "证书与登录的单位不符")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertificateRefused("key_type")
    serial = serial_hex(cert)
    if is_revoked(serial):
        raise CertificateRefused("revoked", "证书已注销，请联系公积金中心")
    remember(cert)
    return Checked(cert, serial)


def verify_signature(cert: x509.Certificate, message: bytes, signature: bytes) -> None:
    """ECDSA P-256 / SHA-256 over ``message`` with the certificate's key; CertificateRefused otherwise."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = cert.public_key()
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))   # type: ignore[union-attr]
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        raise CertificateRefused("signature", "签名验证未通过") from None


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """What the client does (tests and tools): an ECDSA P-256 / SHA-256 DER signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def _revoked_key(serial: str) -> str:
    return f"revoked-cert#{canonical_serial(serial)}"


def is_revoked(serial: str) -> bool:
    try:
        StateItem.get(_revoked_key(serial), "-", consistent_read=True)
        return True
    except StateItem.DoesNotExist:
        return False


def revoke(*, kind: str, number: str, serial: str, reason: str, operator: str, now: dt.datetime) -> bool:
    """Revoke certificate ``serial`` (hex, any case, leading zeros or not) of ``kind`` ``number``; its holder's
    sessions end. False when it was revoked before (nothing changes then). A certificate the server has seen must
    name ``kind`` ``number`` in its subject, else :class:`errors.Conflict` and nothing is revoked."""

    serial = canonical_serial(serial)
    holder = holder_of(serial)
    if holder is not None and holder != f"{kind}:{number}":
        raise errors.Conflict("该序列号的证书不属于所填单位或开发商，未注销")

    item = StateItem(_revoked_key(serial), "-", status="revoked", value=f"{kind}:{number}",
                     updated_at=clock.iso(now), data={"reason": reason, "operator": operator})
    try:
        item.save(condition=StateItem.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    ended = auth.revoke_sessions_of(number, role=ROLE[kind])
    audit.record("certificate.revoke", role=auth.OPERATOR, who=operator, result=audit.OK, now=now,
                 details={"kind": kind, "number": number, "serial": serial, "sessions_ended": ended})
    return True
