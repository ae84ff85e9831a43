"""Scheduled functions run with the stage clock, from the CLI and from their Lambda schedule."""

import json

import pytest

from chalicelib import cli, jobs
from chalicelib.errors import ValidationFailed
from chalicelib.http import pagination

seen = []


def record_now(now):
    seen.append(now)
    return {"ran_at": now.isoformat()}


@pytest.fixture
def probe_job(monkeypatch):
    seen.clear()
    monkeypatch.setitem(jobs.JOBS, "probe", jobs.Job("probe", ("0", "0", "*", "*", "?", "*"),
                                                     f"{__name__}:record_now", "test probe"))
    return seen


def test_cli_runs_a_job_once_with_the_stage_clock(aws, clock_file, probe_job, capsys):
    clock_file("2026-06-30T23:00:00+08:00")
    assert cli.main(["jobs", "run", "probe"]) == 0
    assert [n.isoformat() for n in probe_job] == ["2026-06-30T23:00:00+08:00"]
    assert json.loads(capsys.readouterr().out)["job"] == "probe"


def test_cli_at_overrides_the_clock(aws, probe_job):
    assert cli.main(["jobs", "run", "probe", "--at", "2026-07-01T08:00:00+08:00"]) == 0
    assert probe_job[0].isoformat() == "2026-07-01T08:00:00+08:00"


def test_every_contract_job_is_wired_to_a_schedule():
    import app

    names = {"open-remittance-window", "close-remittance-window", "send-appointment-reminders",
             "send-remittance-reminders", "loan-offset-deduction", "settle-annual-interest", "dispatch-sms"}
    assert names <= set(jobs.JOBS)
    for name in names:
        assert callable(getattr(app, jobs.JOBS[name].function_name))


def test_scheduled_lambda_uses_the_stage_clock_not_the_event_time(aws, clock_file, client, monkeypatch):
    import app

    seen.clear()
    monkeypatch.setitem(jobs.JOBS, "open-remittance-window",
                        jobs.Job("open-remittance-window", ("0",) * 6, f"{__name__}:record_now", "probe"))
    clock_file("2026-07-01T08:00:00+08:00")
    client.lambda_.invoke("open_remittance_window", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert seen and seen[0].isoformat() == "2026-07-01T08:00:00+08:00"
    assert app  # imported


def test_a_tampered_cursor_is_a_400_not_a_peek(local_dir):
    cursor = pagination.encode_cursor({"account_no": {"S": "A1"}}, "u1|GET /v1/me/deposits|")
    assert pagination.decode_cursor(cursor, "u1|GET /v1/me/deposits|") == {"account_no": {"S": "A1"}}
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor(cursor, "u2|GET /v1/me/deposits|")         # another caller's cursor
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor(cursor[:-2] + "AA", "u1|GET /v1/me/deposits|")
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor("%%%", "u1|GET /v1/me/deposits|")
