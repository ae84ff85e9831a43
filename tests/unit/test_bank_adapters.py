"""The bank gateway: the local simulator and the production HTTPS client (against a loopback bank)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from chalicelib.adapters import bank
from chalicelib.adapters.bank import BankUnavailable, HttpBank, LocalBank

KEY = b"test-bank-key"


def test_local_bank_pays_and_declines_cards_ending_0000(local_dir):
    b = LocalBank()
    assert b.debit("6222020200112233445", 100, "R1").ok
    declined = b.payout("6222020200112230000", 100, "W1")
    assert not declined.ok and declined.reason


def test_local_bank_answers_the_same_for_the_same_reference(local_dir):
    b = LocalBank()
    first = b.debit("6222020200112233445", 100, "R-same")
    again = b.debit("6222020200112233445", 100, "R-same")
    assert first == again
    assert len([x for x in b.read() if x["reference"] == "R-same"]) == 1
    assert "6222020200112233445" not in (local_dir / "bank.jsonl").read_text()   # only the tail is kept


def test_local_stage_picks_the_simulator(local_dir, monkeypatch):
    monkeypatch.setenv("GJJ_STAGE", "local")
    bank.reset()
    assert isinstance(bank.gateway(), LocalBank)
    bank.reset()


class _Bank(BaseHTTPRequestHandler):
    mode = "ok"
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        good = hmac.compare_digest(hmac.new(KEY, body, hashlib.sha256).hexdigest(), self.headers["X-Signature"])
        data = json.loads(body)
        _Bank.seen.append({"path": self.path, "signed": good, **data})
        if _Bank.mode == "5xx":
            self.send_response(502)
            self.end_headers()
            return
        status = "declined" if data["card_no"].endswith("0000") else "ok"
        answer = json.dumps({"reference": data["reference"], "status": status, "bank_serial": "B1",
                             "reason": "余额不足"}).encode()
        signature = "0" * 64 if _Bank.mode == "bad-signature" else hmac.new(KEY, answer, hashlib.sha256).hexdigest()
        self.send_response(200)
        self.send_header("X-Signature", signature)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def bank_server():
    server = HTTPServer(("127.0.0.1", 0), _Bank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Bank.mode, _Bank.seen = "ok", []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_http_bank_signs_requests_and_believes_signed_answers(bank_server):
    client = HttpBank(bank_server, KEY)
    result = client.debit("6222020200112233445", 212600, "R9")
    assert result.ok and result.bank_serial == "B1"
    assert _Bank.seen[-1] == {"path": "/debit", "signed": True, "card_no": "6222020200112233445",
                              "amount_fen": 212600, "reference": "R9"}


def test_http_bank_reports_a_decline_with_the_banks_reason(bank_server):
    result = HttpBank(bank_server, KEY).payout("6222020200112230000", 100, "W9")
    assert not result.ok and result.reason == "余额不足"


@pytest.mark.parametrize("mode", ["bad-signature", "5xx"])
def test_http_bank_answer_that_cannot_be_trusted_is_unavailable(bank_server, mode):
    _Bank.mode = mode
    with pytest.raises(BankUnavailable):
        HttpBank(bank_server, KEY).debit("6222020200112233445", 100, "R10")


def test_http_bank_unreachable_is_unavailable():
    with pytest.raises(BankUnavailable):
        HttpBank("http://127.0.0.1:9", KEY, timeout=1).debit("6222020200112233445", 100, "R11")


def test_http_bank_key_comes_from_ssm(aws, monkeypatch):
    import boto3

    monkeypatch.setenv("GJJ_STAGE", "prod")
    from chalicelib import settings

    settings.reset()
    boto3.client("ssm").put_parameter(Name="/gjj/prod/bank-key", Value="from-ssm", Type="SecureString")
    assert HttpBank("https://bank.invalid").key == b"from-ssm"
    settings.reset()
