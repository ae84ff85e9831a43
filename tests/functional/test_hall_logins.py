"""Unit and developer certificate login (单位网厅/开发商网厅 CA 证书登录): a signed one-time challenge, the
chain to the center's CA, validity dates, the subject, revocation; every attempt audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib import clock
from chalicelib.adapters import ca
from chalicelib.http import auth
from chalicelib.services import audit, certificates
from tests.support import factories, halls

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def unit(aws, clock_file):
    clock_file(NOW)
    return factories.unit(unit_no="U1001")


def _refusal(resp) -> str:
    assert resp.status_code == 401, resp.body
    assert resp.json_body["error"]["code"] == "UNAUTHENTICATED"
    return resp.json_body["error"]["details"]["reason"]


def _audit_reasons(role: str, who: str) -> list[tuple[str, str | None]]:
    return [(e.result, (e.details.as_dict() if e.details else {}).get("reason")) for e in audit.events_of(role, who)]


def test_a_unit_logs_in_by_signing_the_challenge_and_its_token_opens_the_unit_hall(client, unit):
    cert, key = halls.issue("unit", "U1001")
    resp = halls.login(client, "unit", "U1001", cert, key)
    assert resp.status_code == 200, resp.body
    assert resp.json_body["role"] == "unit"
    me = client.http.get("/v1/units/me", headers=halls.headers(resp.json_body))
    assert me.status_code == 200 and me.json_body["unit_no"] == "U1001"
    assert me.json_body["agent_phone"] == "139****0001"
    assert _audit_reasons("unit", "U1001") == [("ok", None)]


def test_the_challenge_can_be_found_by_unit_number_when_the_client_does_not_send_it_back(client, unit):
    cert, key = halls.issue("unit", "U1001")
    value = halls.challenge(client, "unit", "U1001")
    resp = halls.login(client, "unit", "U1001", cert, key, value=value, send_challenge=False)
    assert resp.status_code == 200, resp.body


def test_a_developer_logs_in_with_its_own_certificate(client, aws, clock_file):
    clock_file(NOW)
    factories.developer(developer_no="D2001")
    cert, key = halls.issue("developer", "D2001")
    resp = halls.login(client, "developer", "D2001", cert, key)
    assert resp.status_code == 200 and resp.json_body["role"] == "developer"
    assert client.http.get("/v1/developers/me", headers=halls.headers(resp.json_body)).status_code == 200


def test_an_expired_certificate_is_refused(client, unit):
    cert, key = halls.issue("unit", "U1001", not_before=clock.now() - dt.timedelta(days=400), days=365)
    assert _refusal(halls.login(client, "unit", "U1001", cert, key)) == "expired"
    assert _audit_reasons("unit", "U1001") == [("refused", "expired")]


def test_a_certificate_not_yet_valid_is_refused(client, unit):
    cert, key = halls.issue("unit", "U1001", not_before=clock.now() + dt.timedelta(days=1))
    assert _refusal(halls.login(client, "unit", "U1001", cert, key)) == "not_yet_valid"


def test_a_revoked_certificate_is_refused_and_its_sessions_end(client, unit):
    cert, key = halls.issue("unit", "U1001")
    tokens = halls.login(client, "unit", "U1001", cert, key).json_body
    admin = factories.login("admin1", auth.OPERATOR, op_role="admin")
    serial = certificates.serial_hex(certificates.load(cert))
    resp = client.http.post("/v1/admin/certificates/revocations",
                            headers=admin.with_headers(**{"Idempotency-Key": "rv1"}),
                            body=json.dumps({"kind": "unit", "number": "U1001", "serial_number": serial.upper(),
                                             "reason": "证书遗失"}))
    assert resp.status_code == 201 and resp.json_body["revoked"] is True
    assert client.http.get("/v1/units/me", headers=halls.headers(tokens)).status_code == 401
    assert _refusal(halls.login(client, "unit", "U1001", cert, key)) == "revoked"
    # another certificate of the same unit still works
    other, other_key = halls.issue("unit", "U1001")
    assert halls.login(client, "unit", "U1001", other, other_key).status_code == 200


def test_a_certificate_from_another_ca_is_refused(client, unit, tmp_path):
    foreign = ca.LocalCA(tmp_path / "foreign-ca")
    cert, key = halls.issue("unit", "U1001", authority=foreign)
    assert _refusal(halls.login(client, "unit", "U1001", cert, key)) == "foreign_ca"


def test_a_wrong_signature_is_refused(client, unit):
    cert, _key = halls.issue("unit", "U1001")
    _other_cert, other_key = halls.issue("unit", "U1001")
    assert _refusal(halls.login(client, "unit", "U1001", cert, other_key)) == "signature"
    assert _refusal(halls.login(client, "unit", "U1001", cert, _key, signed="some other text")) == "signature"


def test_another_units_certificate_does_not_open_this_unit(client, unit):
    factories.unit(unit_no="U1002")
    cert, key = halls.issue("unit", "U1002")
    assert _refusal(halls.login(client, "unit", "U1001", cert, key)) == "subject_mismatch"
    dev_cert, dev_key = halls.issue("developer", "U1001")       # right number, wrong hall
    assert _refusal(halls.login(client, "unit", "U1001", dev_cert, dev_key)) == "subject_mismatch"


def test_a_challenge_works_once(client, unit):
    cert, key = halls.issue("unit", "U1001")
    value = halls.challenge(client, "unit")
    assert halls.login(client, "unit", "U1001", cert, key, value=value).status_code == 200
    assert _refusal(halls.login(client, "unit", "U1001", cert, key, value=value)) == "challenge"


def test_a_refused_attempt_uses_the_challenge_up(client, unit):
    cert, key = halls.issue("unit", "U1001")
    value = halls.challenge(client, "unit")
    assert _refusal(halls.login(client, "unit", "U1001", cert, key, value=value, signed="x")) == "signature"
    assert _refusal(halls.login(client, "unit", "U1001", cert, key, value=value)) == "challenge"


def test_an_expired_challenge_is_refused(client, unit, clock_file):
    cert, key = halls.issue("unit", "U1001")
    value = halls.challenge(client, "unit")
    clock_file("2026-07-15T09:02:01+08:00")          # 121 s later; challenges live 120 s
    assert _refusal(halls.login(client, "unit", "U1001", cert, key, value=value)) == "challenge"


def test_a_developer_challenge_does_not_log_a_unit_in(client, unit):
    cert, key = halls.issue("unit", "U1001")
    value = halls.challenge(client, "developer")
    assert _refusal(halls.login(client, "unit", "U1001", cert, key, value=value)) == "challenge"


def test_a_closed_unit_cannot_log_in_even_with_a_valid_certificate(client, aws, clock_file):
    clock_file(NOW)
    factories.unit(unit_no="U1009", status="closed")
    cert, key = halls.issue("unit", "U1009")
    assert _refusal(halls.login(client, "unit", "U1009", cert, key)) == "holder"


@pytest.mark.parametrize("pem, sig", [("not a certificate", "AAAA"), (None, "***not base64***")])
def test_garbage_certificates_and_signatures_are_401_not_500(client, unit, pem, sig):
    cert, _ = halls.issue("unit", "U1001")
    value = halls.challenge(client, "unit")
    resp = client.http.post("/v1/units/auth/login", headers={"Content-Type": "application/json"},
                            body=json.dumps({"unit_no": "U1001", "certificate_pem": pem or cert,
                                             "signature_base64": sig, "challenge": value}))
    assert _refusal(resp) in ("certificate_format", "signature")


@pytest.mark.parametrize("body", [{}, {"unit_no": "U1001"}, {"unit_no": "U 1", "certificate_pem": "x",
                                                              "signature_base64": "x"},
                                  {"unit_no": "U1001", "certificate_pem": "x", "signature_base64": "x", "pw": "1"}])
def test_malformed_login_bodies_are_400(client, unit, body):
    resp = client.http.post("/v1/units/auth/login", headers={"Content-Type": "application/json"},
                            body=json.dumps(body))
    assert resp.status_code == 400 and resp.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_only_an_admin_revokes_and_a_second_revocation_changes_nothing(client, unit):
    reviewer = factories.login("rev1", auth.OPERATOR, op_role="reviewer")
    body = json.dumps({"kind": "unit", "number": "U1001", "serial_number": "abc123", "reason": "遗失"})
    assert client.http.post("/v1/admin/certificates/revocations",
                            headers=reviewer.with_headers(**{"Idempotency-Key": "r1"}), body=body).status_code == 403
    admin = factories.login("admin1", auth.OPERATOR, op_role="admin")
    first = client.http.post("/v1/admin/certificates/revocations",
                             headers=admin.with_headers(**{"Idempotency-Key": "r1"}), body=body)
    second = client.http.post("/v1/admin/certificates/revocations",
                              headers=admin.with_headers(**{"Idempotency-Key": "r2"}), body=body)
    assert (first.json_body["revoked"], second.json_body["revoked"]) == (True, False)


# ---------------------------------------------------------------- the CA sources


def test_the_local_ca_is_generated_once_and_its_key_is_private(aws, local_dir):
    first = ca.LocalCA().certificate()
    again = ca.LocalCA().certificate()
    assert first == again
    assert (local_dir / "ca" / "ca.key.pem").stat().st_mode & 0o777 == 0o600


def test_the_production_ca_certificate_is_read_from_parameter_store_once(aws, tmp_path):
    import boto3
    from cryptography.hazmat.primitives import serialization

    pem = ca.LocalCA(tmp_path / "center").certificate().public_bytes(serialization.Encoding.PEM).decode()
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/gjj/prod/unit-ca-cert", Value=pem, Type="String")
    source = ca.ParameterStoreCA(parameter="/gjj/prod/unit-ca-cert", region="us-east-1")
    assert source.certificate().public_bytes(serialization.Encoding.PEM).decode() == pem
    ssm.delete_parameter(Name="/gjj/prod/unit-ca-cert")
    assert source.certificate().public_bytes(serialization.Encoding.PEM).decode() == pem    # cached
    with pytest.raises(RuntimeError):
        source.issue("unit", "U1", not_before=clock.now(), not_after=clock.now())


def test_the_command_line_issues_a_certificate_that_logs_in(client, unit, tmp_path):
    from chalicelib import cli

    assert cli.main(["units", "certificate", "--unit-no", "U1001", "--out", str(tmp_path / "out")]) == 0
    cert = (tmp_path / "out" / "unit-U1001.cert.pem").read_text()
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((tmp_path / "out" / "unit-U1001.key.pem").read_bytes(), password=None)
    assert (tmp_path / "out" / "unit-U1001.key.pem").stat().st_mode & 0o777 == 0o600
    assert halls.login(client, "unit", "U1001", cert, key).status_code == 200


def test_certificates_are_not_issued_outside_the_local_stage(monkeypatch, tmp_path):
    from chalicelib import settings

    monkeypatch.setenv("GJJ_STAGE", "dev")
    settings.reset()
    try:
        with pytest.raises(RuntimeError):
            certificates.issue_certificate("unit", "U1", tmp_path)
    finally:
        monkeypatch.setenv("GJJ_STAGE", "local")
        settings.reset()
