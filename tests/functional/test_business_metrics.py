"""Business metrics as CloudWatch EMF lines (payments, withdrawals, logins; refusals in test_observability), and
no log line outside the masked JSON one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import clock
from chalicelib.adapters import bank
from chalicelib.services import passwords, remittance
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"
ROOT = Path(__file__).resolve().parents[2]


def emf(out: str, name: str) -> list[dict]:
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    return [x for x in lines if "_aws" in x and any(m["Name"] == name for d in x["_aws"]["CloudWatchMetrics"]
                                                   for m in d["Metrics"])]


@pytest.fixture
def flex(aws, clock_file):
    clock_file(NOW)
    remittance.reset_cache()
    bank.reset()
    p, a, u, login = factories.depositor(kind="flexible", balance=100_000, paid_through="202606",
                                         monthly_amount=50_000, opened_on="2020-03-01")
    card = factories.card(p)
    remittance.open_window(clock.now())
    yield p, a, u, login, card
    remittance.reset_cache()
    bank.reset()


def _post(client, login, path, body, key, **headers):
    return client.http.post(path, headers=login.with_headers(**{"Idempotency-Key": key}, **headers),
                            body=json.dumps(body))


def test_a_remittance_counts_one_payment_and_its_replay_none(client, flex, capsys):
    p, a, u, login, card = flex
    body = {"period": "202607", "bank_card_id": card.card_id}
    assert _post(client, login, "/v1/flexible/remittances", body, "m1").status_code == 201
    [line] = emf(capsys.readouterr().out, "Payments")
    assert line["Payments"] in (1.0, [1.0]) and line["kind"] == "remit" and line["_aws"]["CloudWatchMetrics"][0][
        "Namespace"] == "gjj"
    assert _post(client, login, "/v1/flexible/remittances", body, "m1").status_code == 201   # replayed
    assert emf(capsys.readouterr().out, "Payments") == []


def test_an_exit_withdrawal_counts_a_withdrawal_of_its_type(client, flex, capsys):
    p, a, u, login, card = flex
    assert _post(client, login, "/v1/flexible/seal", {}, "s1").status_code == 200
    resp = _post(client, login, "/v1/flexible/exit", {"bank_card_id": card.card_id}, "x1",
                 **{"X-Step-Up-Token": login.step_up_token()})
    assert resp.status_code == 201, resp.json_body
    [line] = emf(capsys.readouterr().out, "Withdrawals")
    assert (line["kind"], line["type"]) == ("withdrawal", "exit")


def test_logins_are_counted_by_method_and_result(client, aws, capsys):
    p, a, u, login = factories.depositor()
    u.update(actions=[type(u).password_hash.set(passwords.hash_password("青山绿水2026"))])
    ok = client.http.post("/v1/auth/login", headers={"Content-Type": "application/json"},
                          body=json.dumps({"principal": p.phone, "password": "青山绿水2026"}))
    bad = client.http.post("/v1/auth/login", headers={"Content-Type": "application/json"},
                           body=json.dumps({"principal": p.phone, "password": "wrong-password-1"}))
    assert (ok.status_code, bad.status_code) == (200, 401)
    lines = emf(capsys.readouterr().out, "Logins")
    assert [(x["method"], x["result"]) for x in lines] == [("password", "ok"), ("password", "refused")]


def test_with_the_app_loaded_an_identifier_reaches_stdout_only_masked():
    code = ("import app\nfrom chalicelib import log\n"
            "log.event(log.get('t'), 'registered 140105198501011234', phone='13812345678')\n")
    env = {**os.environ, "GJJ_TOKEN_SECRET": "x" * 40}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert "140105198501011234" not in text and "13812345678" not in text
    assert "140105********1234" in out.stdout


def test_a_scheduled_job_logs_under_its_eventbridge_event_id(aws, client, clock_file, capsys):
    clock_file("2026-07-01T08:00:00+08:00")
    remittance.reset_cache()
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=["arn:aws:events:cn-north-1:1:rule/x"])
    client.lambda_.invoke("open_remittance_window", event)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    [line] = [x for x in lines if x.get("message") == "remittance window"]
    assert line["correlation_id"] == event["id"] and line["action"] == "open"
    remittance.reset_cache()


def test_metrics_and_log_lines_written_from_many_threads_stay_whole_lines(capsys):
    # GIVEN the jobs' worker threads counting and logging at once (threads switched as often as possible)
    from chalicelib import fanout, log

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        def work(i):
            log.metric("Withdrawals", kind="offset")
            log.event(log.get("test"), "item done", item=i)

        list(fanout.each(work, range(400), workers=8))
    finally:
        sys.setswitchinterval(old)
    # THEN every line CloudWatch receives is one whole JSON document
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 800
    assert all(json.loads(line) for line in lines)
    assert len(emf("\n".join(lines), "Withdrawals")) == 400
