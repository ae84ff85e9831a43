"""Issue 17 item 4: what an attacker tries with a pagination cursor (``next_cursor``), and why each fails.

A cursor goes into URLs and so into access logs, proxies and browser history. The messages box is the sharpest
case: its DynamoDB key is the owner's ID number, so a readable cursor would carry that number in every URL.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def citizen(aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor()
    for day in range(1, 4):
        factories.message(p, title=f"消息{day}", at=f"2026-07-0{day}T09:00:00+08:00")
    return p, a, login


def _cursor(client, login) -> str:
    body = client.http.get("/v1/me/messages?limit=1", headers=login.headers).json_body
    assert body["next_cursor"], body
    return body["next_cursor"]


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def test_reading_the_id_number_out_of_a_cursor_without_the_key_fails(client, citizen):
    p, a, login = citizen
    raw = _raw(_cursor(client, login))
    # whatever decoding an attacker tries on the bytes: base64 undone, as text, as JSON
    assert p.id_number.encode() not in raw
    assert p.id_number[-6:].encode() not in raw and p.id_number[:6].encode() not in raw
    with pytest.raises(ValueError):
        json.loads(raw)


def test_two_cursors_for_the_same_place_differ(client, citizen):
    """A fresh nonce each time: equal positions do not give equal cursors an observer could match up."""
    p, a, login = citizen
    assert _cursor(client, login) != _cursor(client, login)


@pytest.mark.parametrize("position", [0, 1, 5, 13, 20, -17, -1])
def test_flipping_any_byte_of_a_cursor_is_a_400(client, citizen, position):
    p, a, login = citizen
    raw = bytearray(_raw(_cursor(client, login)))
    raw[position] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    resp = client.http.get(f"/v1/me/messages?limit=1&cursor={forged}", headers=login.headers)
    assert resp.status_code == 400 and "cursor" in resp.json_body["error"]["details"]["fields"]


def test_a_truncated_or_extended_cursor_is_a_400(client, citizen):
    p, a, login = citizen
    cursor = _cursor(client, login)
    for forged in (cursor[:-4], cursor + "AAAA", cursor[:10], "AQ"):
        resp = client.http.get(f"/v1/me/messages?limit=1&cursor={forged}", headers=login.headers)
        assert resp.status_code == 400, forged


def test_a_cursor_built_by_hand_from_a_known_key_is_a_400(client, citizen):
    """The old format (base64 JSON after a MAC) and plain base64 JSON: both refused, nothing read."""
    p, a, login = citizen
    key = {"id_number": {"S": p.id_number}}
    payload = json.dumps(key, separators=(",", ":")).encode()
    for raw in (payload, b"\x00" * 16 + payload, b"\x01" + b"\x00" * 12 + payload):
        forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        resp = client.http.get(f"/v1/me/messages?limit=1&cursor={forged}", headers=login.headers)
        assert resp.status_code == 400


def test_another_callers_cursor_is_a_400(client, citizen):
    p, a, login = citizen
    cursor = _cursor(client, login)
    other_p, other_a, other_u, other_login = factories.depositor()
    resp = client.http.get(f"/v1/me/messages?limit=1&cursor={cursor}", headers=other_login.headers)
    assert resp.status_code == 400 and "cursor" in resp.json_body["error"]["details"]["fields"]


def test_a_cursor_of_one_list_is_refused_on_another(client, citizen):
    p, a, login = citizen
    for d in range(1, 4):
        factories.deposit(a.account_no, 10000, at=f"2026-06-0{d}T10:00:00+08:00")
    cursor = _cursor(client, login)
    resp = client.http.get(f"/v1/me/deposits?limit=1&cursor={cursor}", headers=login.headers)
    assert resp.status_code == 400


def test_the_real_cursor_still_pages(client, citizen):
    p, a, login = citizen
    cursor = _cursor(client, login)
    resp = client.http.get(f"/v1/me/messages?limit=1&cursor={cursor}", headers=login.headers)
    assert resp.status_code == 200 and resp.json_body["items"][0]["title"] == "消息2"
