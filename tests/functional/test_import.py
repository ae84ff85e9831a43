"""`gjj import`: upsert by key, bad lines reported by number and not written, idempotent re-import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib import cli, importer
from chalicelib.store.accounts import Account
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.people import Person
from tests.unit.test_import_records import GOOD

DEMO = Path(__file__).resolve().parents[2] / "demo" / "center-records.jsonl"


def snapshot() -> dict:
    from chalicelib.store import base

    return {m.Meta.table_name: sorted(json.dumps(i.to_simple_dict(), sort_keys=True, ensure_ascii=False)
                                      for i in m.scan()) for m in base.all_models()}


def test_demo_file_imports_cleanly_and_a_second_import_changes_nothing(backend):
    with DEMO.open(encoding="utf-8") as fh:
        first = importer.run(fh)
    assert first.bad == []
    assert first.written["person"] == 10 and first.written["account"] == 10
    before = snapshot()
    with DEMO.open(encoding="utf-8") as fh:
        second = importer.run(fh)
    assert second.bad == [] and second.ok == first.ok
    assert snapshot() == before


def test_bad_lines_are_reported_by_number_and_nothing_of_them_is_written(aws, tmp_path):
    lines = [
        json.dumps(GOOD["person"], ensure_ascii=False),
        json.dumps({**GOOD["account"], "balance": 12.5}),                 # line 2: float money
        "not json",                                                       # line 3
        json.dumps({**GOOD["deposit"], "serial_no": "D2"}),
    ]
    report = importer.run(lines)
    assert [b.line_no for b in report.bad] == [2, 3]
    assert "balance" in report.bad[0].reason
    assert Person.count() == 1
    assert Account.count() == 0                                           # the bad account line wrote nothing
    assert LedgerEntry.get("D2").balance_before == 300000


def test_reimport_with_a_changed_record_updates_it(aws):
    importer.run([json.dumps(GOOD["person"], ensure_ascii=False)])
    importer.run([json.dumps({**GOOD["person"], "phone": "13800000099"}, ensure_ascii=False)])
    assert Person.count() == 1
    assert Person.get(GOOD["person"]["id_number"]).phone == "13800000099"


def test_cli_import_prints_a_summary_and_bad_lines_with_file_and_number(aws, tmp_path, capsys):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(GOOD["person"], ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    code = cli.main(["import", str(path), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "imported 1 of 2 lines" in out
    assert f"{path}:2:" in err


def test_cli_import_of_a_missing_file_is_a_clear_error(aws, tmp_path, capsys):
    assert cli.main(["import", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_jobs_run_refuses_an_unknown_job(aws, capsys):
    assert cli.main(["jobs", "run", "make-coffee"]) == 2
    assert "unknown job" in capsys.readouterr().err


def test_progress_is_reported_for_large_files(aws):
    lines = [json.dumps({**GOOD["notice"], "notice_id": f"N{i}"}, ensure_ascii=False) for i in range(2500)]
    seen = []
    report = importer.run(lines, progress=lambda n, r: seen.append((n, r.ok)), progress_every=1000)
    assert seen == [(1000, 1000), (2000, 2000)]
    assert report.ok == 2500


@pytest.mark.parametrize("stage", ["local", "dev"])
def test_cli_reads_the_stage_settings_of_the_server(monkeypatch, tmp_path, stage):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"environment_variables": {"GJJ_POLICY": "taiyuan"},
                                  "stages": {stage: {"environment_variables": {"GJJ_TABLE_PREFIX": f"x-{stage}-"}}}}))
    monkeypatch.delenv("GJJ_TABLE_PREFIX", raising=False)
    monkeypatch.setenv("GJJ_STAGE", "local")       # restored after the test
    cli.load_stage_environment(stage, config)
    import os

    assert os.environ["GJJ_TABLE_PREFIX"] == f"x-{stage}-" and os.environ["GJJ_STAGE"] == stage


def test_the_demo_repayment_records_follow_the_plan_the_app_shows():
    # The demo's loans are what a new developer sees first: their 还款明细 must agree with GET .../schedule,
    # period by period (date, amount, principal, interest, balance), and the loan's balance with the last of them.
    import datetime as dt
    from decimal import Decimal

    from chalicelib import money
    from chalicelib.rules import loans as rules

    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    loans = [r for r in records if r["type"] == "loan"]
    assert loans
    for loan in loans:
        disbursed = dt.date.fromisoformat(loan["disbursed_on"])
        plan = rules.schedule(money.parse(loan["principal"]), Decimal(loan["annual_rate"]), loan["term_months"],
                              loan["method"], rules.add_months(disbursed, 1, loan["repayment_day"]),
                              loan["repayment_day"])
        paid = sorted((r for r in records if r["type"] == "repayment" and r["contract_no"] == loan["contract_no"]),
                      key=lambda r: r["period_no"])
        assert [r["period_no"] for r in paid] == list(range(1, loan["paid_periods"] + 1))
        for r in paid:
            due = plan.periods[r["period_no"] - 1]
            assert (r["date"], money.parse(r["amount"]), money.parse(r["principal"]), money.parse(r["interest"]),
                    money.parse(r["balance_after"])) == (due.due_on.isoformat(), due.payment, due.principal,
                                                         due.interest, due.balance_after), r
        assert money.parse(loan["balance"]) == plan.periods[loan["paid_periods"] - 1].balance_after


def test_an_imported_history_prices_a_back_payment_month_by_month(aws):
    # issue 16 item 5: a flexible account imported with 500.00 a month until 2026-06 and 800.00 from 2026-07,
    # paid through 2026-04; in September a back-payment of 2026-05..2026-08 costs, by hand, 500 + 500 + 800 + 800.
    import datetime as dt

    from chalicelib import clock, policy
    from chalicelib.rules import remittance as rules
    from chalicelib.services import remittance

    account = {**GOOD["account"], "kind": "flexible", "unit_no": None, "base": "0.00", "ratio_person": None,
               "ratio_unit": None, "monthly_amount": "800.00", "paid_through": "202604",
               "history": [{"from_period": "202001", "monthly_amount": "500.00"},
                           {"from_period": "202607", "monthly_amount": "800.00"}]}
    report = importer.run([json.dumps(account, ensure_ascii=False)])
    assert report.bad == []
    acct = Account.get("GR1")
    q = rules.quote_back_payment(end_period="202608", now=dt.datetime(2026, 9, 10, 9, tzinfo=clock.CHINA),
                                 paid_through=acct.paid_through, opened_on=acct.opened_on,
                                 monthly_amount=int(acct.monthly_amount), rules=policy.get().flexible.back_payment,
                                 history=remittance.history_of(acct))
    assert (q.amounts, q.amount) == ((50_000, 50_000, 80_000, 80_000), 260_000)
