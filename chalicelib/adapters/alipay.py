"""Alipay authorization login (支付宝授权登录): exchange an ``auth_code`` for the Alipay user id.

Production (:class:`AlipayOpenApi`) calls ``alipay.system.oauth.token`` on Alipay's gateway with an
RSA2 (SHA256withRSA) signed request and verifies the RSA2 signature of Alipay's response over the raw
JSON of ``alipay_system_oauth_token_response`` before using any field. Keys and the app id come from
SSM (``/gjj/<stage>/alipay/...``). The local simulator (local stage only) accepts ``demo:<id_number>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib import adapters, clock, settings
from chalicelib.rules.identity import id_number_problem, normalize_id_number
from chalicelib.store.people import Person

GATEWAY = "https://openapi.alipay.com/gateway.do"
METHOD = "alipay.system.oauth.token"
RESPONSE_KEY = "alipay_system_oauth_token_response"


class AlipayError(Exception):
    """Alipay refused the code, answered with a bad signature, or could not be reached."""

    def __init__(self, message: str, *, unavailable: bool = False):
        super().__init__(message)
        self.unavailable = unavailable


@dataclass(frozen=True)
class AlipayIdentity:
    user_id: str
    id_number: str | None = None   # known only to the simulator (production gets the user id alone)


class LocalAlipay:
    """``demo:<id_number>`` → that person's Alipay user id (from the records, or derived from the number)."""

    def identify(self, auth_code: str) -> AlipayIdentity:
        if not auth_code.startswith("demo:"):
            raise AlipayError("invalid auth_code")
        id_number = normalize_id_number(auth_code[len("demo:"):])
        if id_number_problem(id_number):
            raise AlipayError("invalid auth_code")
        try:
            on_file = Person.get(id_number).alipay_user_id
        except Person.DoesNotExist:
            on_file = None
        return AlipayIdentity(user_id=on_file or simulated_user_id(id_number), id_number=id_number)


def simulated_user_id(id_number: str) -> str:
    """A stable 16-digit ``2088…`` id for the simulator."""
    digits = str(int(hashlib.sha256(id_number.encode()).hexdigest(), 16))[:12]
    return f"2088{digits}"


def sign(params: dict[str, str], private_key_pem: bytes) -> str:
    """RSA2: SHA256withRSA (PKCS#1 v1.5) over ``k=v`` pairs sorted by key, joined by ``&``, base64."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v not in (None, ""))
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return base64.b64encode(key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(content: str, signature_b64: str, public_key_pem: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(base64.b64decode(signature_b64, validate=True), content.encode("utf-8"), padding.PKCS1v15(),
                   hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def raw_member(text: str, name: str) -> str | None:
    """The exact source text of the JSON object member ``name`` (Alipay signs these bytes, not a re-dump)."""
    marker = f'"{name}"'
    start = text.find(marker)
    if start < 0:
        return None
    i = text.find(":", start + len(marker))
    if i < 0:
        return None
    i += 1
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth, in_string, escaped = 0, False, False
    for j in range(i, len(text)):
        ch = text[j]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i:j + 1]
    return None


def _http_post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - fixed https gateway
        return answer.read()


class AlipayOpenApi:
    def __init__(self, app_id: str, app_private_key_pem: bytes, alipay_public_key_pem: bytes, *,
                 gateway: str = GATEWAY, transport: Callable[[str, bytes], bytes] | None = None,
                 now: Callable[[], datetime] | None = None):
        self.app_id = app_id
        self.private_key = app_private_key_pem
        self.alipay_public_key = alipay_public_key_pem
        self.gateway = gateway
        self.transport = transport or _http_post
        self.now = now or clock.now

    @classmethod
    def from_ssm(cls) -> AlipayOpenApi:
        import boto3

        cfg = settings.get()
        ssm = boto3.client("ssm", region_name=cfg.region)

        def param(name: str) -> str:
            return ssm.get_parameter(Name=f"/gjj/{cfg.stage}/alipay/{name}", WithDecryption=True)["Parameter"]["Value"]

        return cls(param("app-id"), param("app-private-key").encode(), param("public-key").encode())

    def request_params(self, auth_code: str) -> dict[str, str]:
        params = {
            "app_id": self.app_id, "method": METHOD, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2",
            "timestamp": self.now().astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M:%S"), "version": "1.0",
            "grant_type": "authorization_code", "code": auth_code,
        }
        params["sign"] = sign(params, self.private_key)
        return params

    def identify(self, auth_code: str) -> AlipayIdentity:
        body = urllib.parse.urlencode(self.request_params(auth_code)).encode()
        try:
            raw = self.transport(self.gateway, body)
        except OSError as exc:
            raise AlipayError(f"gateway unreachable: {exc}", unavailable=True) from exc
        try:
            text = raw.decode("utf-8")
            document = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise AlipayError("unreadable answer", unavailable=True) from None
        if not isinstance(document, dict):
            raise AlipayError("unreadable answer", unavailable=True)
        if "error_response" in document:
            raise AlipayError("auth_code refused")
        content = raw_member(text, RESPONSE_KEY)
        signature = document.get("sign")
        if content is None or not isinstance(signature, str) or not verify(content, signature, self.alipay_public_key):
            raise AlipayError("response signature invalid")
        data = json.loads(content)
        user_id = data.get("user_id") or data.get("open_id")
        if data.get("code") not in (None, "10000") or not isinstance(user_id, str) or not user_id:
            raise AlipayError("auth_code refused")
        return AlipayIdentity(user_id=user_id)


_client = None


def client():
    global _client
    if _client is None:
        _client = adapters.pick(LocalAlipay, AlipayOpenApi.from_ssm)
    return _client


def reset() -> None:
    global _client
    _client = None
