"""Helpers for the unit and developer web halls: certificates from the local CA, signed challenges, logins."""

from __future__ import annotations

import base64
import datetime as dt
import json

from cryptography.hazmat.primitives import serialization

from chalicelib import clock
from chalicelib.adapters import ca
from chalicelib.services import certificates

NUMBER_FIELD = {"unit": "unit_no", "developer": "developer_no"}
PATH = {"unit": "/v1/units", "developer": "/v1/developers"}


def issue(kind: str, number: str, *, not_before: dt.datetime | None = None, days: int = 365,
          authority: ca.LocalCA | None = None):
    """(certificate PEM, private key) for ``kind`` ``number`` from the local CA (or another one)."""
    start = not_before or clock.now() - dt.timedelta(days=1)
    cert, key = (authority or ca.authority()).issue(kind, number, not_before=start,
                                                   not_after=start + dt.timedelta(days=days))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key


def challenge(client, kind: str, number: str | None = None) -> str:
    body = {NUMBER_FIELD[kind]: number} if number else {}
    resp = client.http.post(f"{PATH[kind]}/auth/challenge", headers={"Content-Type": "application/json"},
                            body=json.dumps(body))
    assert resp.status_code == 200, resp.body
    return resp.json_body["challenge"]


def signature(key, message: str) -> str:
    return base64.b64encode(certificates.sign(key, message.encode())).decode()


def login(client, kind: str, number: str, cert_pem: str, key, *, value: str | None = None,
          signed: str | None = None, send_challenge: bool = True):
    """Ask for a challenge (unless ``value`` is given), sign it (or ``signed``), log in; the response."""
    value = value or challenge(client, kind, number)
    body = {NUMBER_FIELD[kind]: number, "certificate_pem": cert_pem,
            "signature_base64": signature(key, signed if signed is not None else value)}
    if send_challenge:
        body["challenge"] = value
    return client.http.post(f"{PATH[kind]}/auth/login", headers={"Content-Type": "application/json"},
                            body=json.dumps(body))


def headers(tokens: dict, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}", "Content-Type": "application/json", **extra}
