"""Alipay production client: RSA2 request signing and response-signature verification, against locally
generated key pairs (ours and a stand-in for Alipay's)."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.adapters import alipay


def _keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, private, public


APP_KEY, APP_PRIVATE, APP_PUBLIC = _keypair()
ALIPAY_KEY, ALIPAY_PRIVATE, ALIPAY_PUBLIC = _keypair()


def _sign_raw(key, content: str) -> str:
    return base64.b64encode(key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


class FakeGateway:
    """Checks our RSA2 signature with our public key, answers like Alipay (signed with 'Alipay's' key)."""

    def __init__(self, *, user_id="2088102146225135", tamper=False, signer=ALIPAY_KEY, error=False):
        self.user_id, self.tamper, self.signer, self.error = user_id, tamper, signer, error
        self.requests: list[dict] = []

    def __call__(self, url: str, body: bytes) -> bytes:
        params = dict(urllib.parse.parse_qsl(body.decode()))
        self.requests.append(params)
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        APP_KEY.public_key().verify(base64.b64decode(params["sign"]), content.encode(), padding.PKCS1v15(),
                                    hashes.SHA256())
        if self.error:
            return json.dumps({"error_response": {"code": "40002", "sub_code": "isv.code-invalid"},
                               "sign": "x"}).encode()
        inner = ('{"access_token":"publicpBa869cad0990e4e17a57ecf7c5469a4b2","alipay_user_id":"2088111111111111",'
                 f'"expires_in":3600,"re_expires_in":3600,"refresh_token":"r1","user_id":"{self.user_id}"}}')
        signature = _sign_raw(self.signer, inner)
        if self.tamper:
            inner = inner.replace(self.user_id, "2088999999999999")
        return f'{{"{alipay.RESPONSE_KEY}":{inner},"sign":"{signature}"}}'.encode()


def _client(gateway):
    return alipay.AlipayOpenApi("2021000000000000", APP_PRIVATE, ALIPAY_PUBLIC, transport=gateway)


def test_a_signed_exchange_yields_the_user_id():
    gateway = FakeGateway()
    assert _client(gateway).identify("auth-code-1").user_id == "2088102146225135"
    sent = gateway.requests[0]
    assert sent["method"] == "alipay.system.oauth.token" and sent["sign_type"] == "RSA2"
    assert sent["grant_type"] == "authorization_code" and sent["code"] == "auth-code-1"


def test_a_tampered_response_is_refused():
    with pytest.raises(alipay.AlipayError, match="signature"):
        _client(FakeGateway(tamper=True)).identify("c")


def test_a_response_signed_by_someone_else_is_refused():
    other, _, _ = _keypair()
    with pytest.raises(alipay.AlipayError, match="signature"):
        _client(FakeGateway(signer=other)).identify("c")


def test_an_error_response_is_a_refused_code():
    with pytest.raises(alipay.AlipayError) as caught:
        _client(FakeGateway(error=True)).identify("c")
    assert caught.value.unavailable is False


def test_an_unreachable_gateway_is_unavailable():
    def down(url, body):
        raise OSError("connection refused")

    with pytest.raises(alipay.AlipayError) as caught:
        _client(down).identify("c")
    assert caught.value.unavailable is True


def test_sign_and_verify_round_trip_and_refuse_changes():
    params = {"b": "2", "a": "1", "empty": "", "sign": "ignored"}
    signature = alipay.sign(params, APP_PRIVATE)
    assert alipay.verify("a=1&b=2", signature, APP_PUBLIC)
    assert not alipay.verify("a=1&b=3", signature, APP_PUBLIC)
    assert not alipay.verify("a=1&b=2", "not base64!", APP_PUBLIC)


def test_raw_member_returns_the_exact_source_text():
    text = '{"x_response": {"a": "}{\\"", "n": {"m": 1}} ,"sign":"s"}'
    assert alipay.raw_member(text, "x_response") == '{"a": "}{\\"", "n": {"m": 1}}'
    assert alipay.raw_member(text, "missing") is None
    assert alipay.raw_member('{"x_response": "str"}', "x_response") is None


def test_the_simulator_accepts_demo_codes_only(aws):
    local = alipay.LocalAlipay()
    from tests.support import factories

    id_number = factories.new_id_number()
    who = local.identify(f"demo:{id_number}")
    assert who.id_number == id_number and who.user_id.startswith("2088") and len(who.user_id) == 16
    with pytest.raises(alipay.AlipayError):
        local.identify("real-looking-code")


def test_production_stages_never_get_the_simulator(monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("GJJ_STAGE", "dev")
    settings.reset()
    alipay.reset()
    monkeypatch.setattr(alipay.AlipayOpenApi, "from_ssm", classmethod(lambda cls: "production-client"))
    try:
        assert alipay.client() == "production-client"
    finally:
        monkeypatch.setenv("GJJ_STAGE", "local")
        settings.reset()
        alipay.reset()
