"""My loans (贷款信息, 贷款进度, 还款计划, 还款明细): the plan from the rules module, exact to the fen."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib import money
from chalicelib.rules import loans as rules
from chalicelib.store.loans import Loan, Repayment, Stage
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def borrower(aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor()
    return p, login


def _get(client, login, path):
    response = client.http.get(path, headers=login.headers)
    return response.status_code, json.loads(response.body)


def _fen(text: str) -> int:
    return money.parse(text, allow_negative=True)


def test_loans_list_the_next_installment_from_the_plan(client, borrower):
    p, login = borrower
    factories.loan(p, contract_no="HT0001", principal=29_000_000, annual_rate="2.85", term_months=120,
                   disbursed_on="2016-12-10", repayment_day=14, paid_periods=20)
    status, body = _get(client, login, "/v1/me/loans")
    assert status == 200
    [loan] = body
    plan = rules.schedule(29_000_000, Decimal("2.85"), 120, "equal_installment")
    assert loan["balance"] == money.format(rules.balance_after(plan, 20))
    assert (loan["next_due_on"], loan["next_amount"]) == ("2018-09-14", money.format(plan.periods[20].payment))
    assert loan["repay_account"] == "622202*********3445"
    assert {k: loan[k] for k in ("contract_no", "bank", "principal", "annual_rate", "term_months", "paid_periods",
                                 "method", "status", "offset_signed")} == {
        "contract_no": "HT0001", "bank": "中国建设银行太原分行", "principal": "290000.00", "annual_rate": "2.85",
        "term_months": 120, "paid_periods": 20, "method": "equal_installment", "status": "normal",
        "offset_signed": False}


@pytest.mark.parametrize("method", ["equal_installment", "equal_principal"])
def test_the_schedule_is_exact_to_the_fen_and_marks_paid_periods(client, borrower, method):
    p, login = borrower
    factories.loan(p, contract_no="HT0002", principal=30_000_001, annual_rate="3.10", term_months=240,
                   method=method, disbursed_on="2024-01-31", repayment_day=31, paid_periods=3)
    status, body = _get(client, login, "/v1/me/loans/HT0002/schedule")
    assert status == 200, body
    periods = body["periods"]
    assert len(periods) == 240 and body["recomputed"] is False
    assert sum(_fen(x["principal"]) for x in periods) == 30_000_001            # every fen of principal repaid
    assert periods[-1]["balance_after"] == "0.00"
    assert all(_fen(x["payment"]) == _fen(x["principal"]) + _fen(x["interest"]) for x in periods)
    expected = rules.schedule(30_000_001, Decimal("3.10"), 240, method)
    assert [_fen(x["interest"]) for x in periods] == [q.interest for q in expected.periods]
    assert [x["paid"] for x in periods[:4]] == [True, True, True, False]
    # due dates: the repayment day of each month from the month after disbursement, clipped to the month's end
    assert [x["due_on"] for x in periods[:3]] == ["2024-02-29", "2024-03-31", "2024-04-30"]
    if method == "equal_installment":
        assert len({x["payment"] for x in periods[:-1]}) == 1
    else:
        assert _fen(periods[0]["payment"]) > _fen(periods[1]["payment"])
    assert _fen(body["remaining_interest"]) == sum(q.interest for q in expected.periods[3:])


def test_after_a_prepayment_the_plan_is_recomputed_from_the_balance(client, borrower):
    p, login = borrower
    factories.loan(p, contract_no="HT0003", principal=20_000_000, annual_rate="2.85", term_months=120,
                   disbursed_on="2020-01-05", repayment_day=5, paid_periods=24, balance=10_000_000)
    status, body = _get(client, login, "/v1/me/loans/HT0003/schedule")
    periods = body["periods"]
    assert body["recomputed"] is True
    assert [x["period_no"] for x in periods[:2]] == [25, 26] and len(periods) == 96
    assert periods[0]["due_on"] == "2022-02-05"
    assert sum(_fen(x["principal"]) for x in periods) == 10_000_000 and periods[-1]["balance_after"] == "0.00"
    assert _get(client, login, "/v1/me/loans")[1][0]["next_due_on"] == "2022-02-05"


def test_progress_of_an_imported_loan_is_done_at_disbursement(client, borrower):
    p, login = borrower
    factories.loan(p, contract_no="HT0004", disbursed_on="2016-12-10")
    status, body = _get(client, login, "/v1/me/loans/HT0004/progress")
    assert status == 200
    assert [(s["code"], s["name"], s["state"], s["at"]) for s in body["stages"]] == [
        ("applied", "贷款申请", "done", "2016-12-10T00:00:00+08:00"),
        ("reviewed", "中心审批", "done", "2016-12-10T00:00:00+08:00"),
        ("contracted", "签订借款合同", "done", "2016-12-10T00:00:00+08:00"),
        ("disbursed", "贷款发放", "done", "2016-12-10T00:00:00+08:00")]


def test_a_loan_under_review_shows_its_stages_but_has_no_plan_yet(client, borrower):
    p, login = borrower
    stages = [Stage(code="applied", name="贷款申请", state="done", at="2026-07-01T10:00:00+08:00"),
              Stage(code="reviewed", name="中心审批", state="current", at=None)]
    factories.loan(p, contract_no="HT0005", status="applying", stages=stages)
    status, body = _get(client, login, "/v1/me/loans/HT0005/progress")
    assert [(s["code"], s["state"]) for s in body["stages"]] == [
        ("applied", "done"), ("reviewed", "current"), ("contracted", "pending"), ("disbursed", "pending")]
    status, body = _get(client, login, "/v1/me/loans/HT0005/schedule")
    assert status == 422 and body["error"]["code"] == "NOT_ELIGIBLE" and "HT0005" in body["error"]["message"]
    [loan] = _get(client, login, "/v1/me/loans")[1]
    assert (loan["status"], loan["next_due_on"], loan["next_amount"]) == ("applying", None, None)


def test_repayments_read_like_the_app_newest_first(client, borrower):
    p, login = borrower
    loan = factories.loan(p, contract_no="HT0006", term_months=120, paid_periods=21)
    for n, (day, amount, principal, interest, balance) in enumerate([
            ("2018-07-16", 249023, 190987, 58036, 19289715), ("2018-08-14", 250370, 190987, 59383, 19098728),
            ("2018-09-14", 249782, 190987, 58795, 18907741)], start=19):
        Repayment(loan.contract_no, n, date=day, amount=amount, principal=principal, interest=interest, penalty=0,
                  balance_after=balance).save()
    status, body = _get(client, login, "/v1/me/loans/HT0006/repayments?limit=2")
    assert status == 200
    assert body["items"][0] == {"date": "2018-09-14", "period_no": 21, "periods_total": 120,
                                "label": "第21期/总120期", "kind": "installment", "amount": "2497.82", "principal": "1909.87",
                                "interest": "587.95", "penalty": "0.00", "balance_after": "189077.41",
                                "from_hpf": None, "from_bank": None}         # not known for imported records
    assert body["items"][1]["label"] == "第20期/总120期"
    rest = _get(client, login, f"/v1/me/loans/HT0006/repayments?limit=2&cursor={body['next_cursor']}")[1]
    assert [x["period_no"] for x in rest["items"]] == [19] and rest["next_cursor"] is None


def test_a_person_without_loans_gets_an_empty_list(client, borrower):
    p, login = borrower
    assert _get(client, login, "/v1/me/loans") == (200, [])
    assert _get(client, login, "/v1/me/loans/HT9999/schedule")[0] == 404


def test_an_overdue_loan_shows_its_arrears_and_a_repayment_where_its_money_came_from(client, borrower):
    p, login = borrower
    loan = factories.loan(p, contract_no="HT0007", term_months=120, paid_periods=21)
    loan.update(actions=[Loan.status.set("overdue"), Loan.arrears.set(213_915), Loan.overdue_since.set("2026-06-20")])
    Repayment(loan.contract_no, 21, date="2026-08-20", amount=213_915, principal=130_000, interest=83_915, penalty=0,
              balance_after=1, from_hpf=99_999, from_bank=113_916, source="offset").save()
    mine = {x["contract_no"]: x for x in _get(client, login, "/v1/me/loans")[1]}["HT0007"]
    assert (mine["status"], mine["arrears"], mine["overdue_since"]) == ("overdue", "2139.15", "2026-06-20")
    # 罚息 so far: 2139.15 × 2.85 % / 360 × 1.5 × 25 days (2026-06-20 → 2026-07-15) = 6.3506… → 6.35
    assert mine["penalty_to_date"] == "6.35"
    [item] = _get(client, login, "/v1/me/loans/HT0007/repayments")[1]["items"]
    assert (item["from_hpf"], item["from_bank"]) == ("999.99", "1139.16")
