"""Issue 17 item 6: ways a certificate revocation used to miss, or hit the wrong holder.

openssl prints a serial in upper case padded with zeros (``0ABCDE``); the certificate's serial is one integer, so
every spelling of it must revoke it. And a revocation naming one unit must not silently revoke another's
certificate (nor end the wrong unit's sessions).
"""

from __future__ import annotations

import json

import pytest

from chalicelib.http import auth
from chalicelib.services import certificates
from tests.support import factories, halls

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def units(aws, clock_file):
    clock_file(NOW)
    factories.unit(unit_no="U1001")
    factories.unit(unit_no="U1002")


def _revoke(client, number: str, serial: str, key: str):
    admin = factories.login("admin1", auth.OPERATOR, op_role="admin")
    return client.http.post("/v1/admin/certificates/revocations", headers=admin.with_headers(**{"Idempotency-Key": key}),
                            body=json.dumps({"kind": "unit", "number": number, "serial_number": serial,
                                             "reason": "证书遗失"}))


def _serial(cert_pem: str) -> int:
    return certificates.load(cert_pem).serial_number


@pytest.mark.parametrize("spelling", [
    lambda n: format(n, "X").zfill(40),          # upper case, zero-padded to 20 bytes
    lambda n: "0" + format(n, "X"),              # one leading zero, as openssl pads an odd length
    lambda n: "00" + format(n, "x"),
    lambda n: format(n, "X"),
], ids=["zero-padded-40", "openssl-leading-zero", "two-zeros-lower", "upper"])
def test_every_spelling_of_the_serial_revokes_the_certificate(client, units, spelling):
    cert, key = halls.issue("unit", "U1001")
    assert halls.login(client, "unit", "U1001", cert, key).status_code == 200
    resp = _revoke(client, "U1001", spelling(_serial(cert)), "rv1")
    assert resp.status_code == 201 and resp.json_body["revoked"] is True
    after = halls.login(client, "unit", "U1001", cert, key)
    assert after.status_code == 401 and after.json_body["error"]["details"]["reason"] == "revoked"


def test_a_second_spelling_of_a_revoked_serial_is_not_a_new_revocation(client, units):
    cert, key = halls.issue("unit", "U1001")
    halls.login(client, "unit", "U1001", cert, key)
    n = _serial(cert)
    assert _revoke(client, "U1001", format(n, "x"), "rv1").json_body["revoked"] is True
    assert _revoke(client, "U1001", "0" + format(n, "X"), "rv2").json_body["revoked"] is False


def test_revoking_another_units_certificate_under_my_number_is_refused(client, units):
    """The serial belongs to U1002's certificate; the revocation names U1001: refused, nothing revoked."""
    theirs, their_key = halls.issue("unit", "U1002")
    their_tokens = halls.login(client, "unit", "U1002", theirs, their_key).json_body
    mine, my_key = halls.issue("unit", "U1001")
    my_tokens = halls.login(client, "unit", "U1001", mine, my_key).json_body
    resp = _revoke(client, "U1001", format(_serial(theirs), "x"), "rv1")
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "CONFLICT"
    # neither certificate revoked, neither unit's session ended
    assert halls.login(client, "unit", "U1002", theirs, their_key).status_code == 200
    assert client.http.get("/v1/units/me", headers=halls.headers(my_tokens)).status_code == 200
    assert client.http.get("/v1/units/me", headers=halls.headers(their_tokens)).status_code == 200
