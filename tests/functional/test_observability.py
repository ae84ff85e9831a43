"""Logs are JSON with a correlation id and masked identifiers; refusals are counted as EMF metrics."""

import json

from chalicelib import log


def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_request_log_line_carries_the_callers_correlation_id(aws, client, capsys):
    client.http.get("/v1/health", headers={"X-Request-Id": "req-123"})
    lines = [entry for entry in json_lines(capsys.readouterr().out) if entry.get("message") == "request"]
    assert lines and lines[-1]["correlation_id"] == "req-123"
    assert lines[-1]["route"] == "GET /v1/health" and lines[-1]["status"] == 200
    assert lines[-1]["service"] == "gjj" and lines[-1]["level"] == "INFO"


def test_identifiers_are_masked_in_log_lines(capsys):
    log.event(log.get("test"), "registered 140105198501011234", phone="13812345678", card="6222021234567890123")
    out = capsys.readouterr().out
    assert "140105198501011234" not in out and "13812345678" not in out and "6222021234567890123" not in out
    assert "140105********1234" in out and "138****5678" in out


def test_business_metric_is_an_emf_line(capsys):
    log.metric("Payments", 1, kind="remittance")
    emf = [entry for entry in json_lines(capsys.readouterr().out) if "_aws" in entry]
    assert emf and emf[0]["Payments"] == [1.0] or emf[0]["Payments"] == 1.0
    directive = emf[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "gjj" and directive["Metrics"][0]["Name"] == "Payments"
    assert emf[0]["kind"] == "remittance"


def test_refusals_are_counted(aws, client, capsys):
    client.http.get("/v1/openapi.json?x=1")   # fine
    from tests.support import factories

    factories.login("U1", "unit")
    response = client.http.get("/v1/health")
    assert response.status_code == 200
    assert not [e for e in json_lines(capsys.readouterr().out) if "Refusals" in e]
