"""Citizens' calculators (便民工具): loan repayment and prepayment trials, exact to the fen."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib import money
from chalicelib.rules import loans

JSON = {"Content-Type": "application/json"}


def _calc(client, **body):
    return client.http.post("/v1/tools/loan-calculator", headers=JSON, body=json.dumps(body))


def _prepay(client, **body):
    return client.http.post("/v1/tools/prepayment-calculator", headers=JSON, body=json.dumps(body))


@pytest.fixture
def today(clock_file, aws):
    clock_file("2026-11-10T10:00:00+08:00")


def test_a_million_over_thirty_years_at_3_10(client, today):
    resp = _calc(client, principal="1000000.00", annual_rate="3.10", term_months=360, method="equal_installment")
    assert resp.status_code == 200, resp.json_body
    body = resp.json_body
    assert body["monthly_payment"] == "4270.16" and body["rate_source"] == "request"
    assert len(body["periods"]) == 360 and body["periods"][-1]["balance_after"] == "0.00"
    principal_sum = sum(money.parse(p["principal"]) for p in body["periods"])
    assert principal_sum == 100_000_000
    assert money.parse(body["total_payment"]) == sum(money.parse(p["payment"]) for p in body["periods"])
    assert money.parse(body["total_interest"]) == money.parse(body["total_payment"]) - 100_000_000


def test_equal_principal_payments_fall_month_by_month(client, today):
    body = _calc(client, principal="120000.00", annual_rate="2.60", term_months=120,
                 method="equal_principal").json_body
    payments = [money.parse(p["payment"]) for p in body["periods"]]
    assert payments == sorted(payments, reverse=True) and payments[0] > payments[-1]
    assert body["periods"][0]["principal"] == "1000.00" and body["periods"][0]["interest"] == "260.00"


@pytest.mark.parametrize(("term", "home", "rate"), [(60, "first", "2.10"), (61, "first", "2.60"),
                                                    (360, "second", "3.075"), (12, "second", "2.525")])
def test_rate_defaults_to_the_current_table_for_the_term(client, today, term, home, rate):
    body = _calc(client, principal="100000.00", term_months=term, method="equal_installment", home=home).json_body
    assert (body["annual_rate"], body["rate_source"]) == (rate, "policy")
    expected = loans.schedule(10_000_000, Decimal(rate), term, "equal_installment")
    assert money.parse(body["monthly_payment"]) == expected.monthly_payment


def test_due_dates_when_a_first_due_day_is_given(client, today):
    body = _calc(client, principal="10000.00", annual_rate="2.60", term_months=3, method="equal_installment",
                 first_due="2026-01-31").json_body
    assert [p["due_on"] for p in body["periods"]] == ["2026-01-31", "2026-02-28", "2026-03-31"]


@pytest.mark.parametrize("body", [
    {"principal": 100000.0, "term_months": 12, "method": "equal_installment"},          # float money
    {"principal": "0.00", "term_months": 12, "method": "equal_installment"},
    {"principal": "-1.00", "term_months": 12, "method": "equal_installment"},
    {"principal": "100.001", "term_months": 12, "method": "equal_installment"},
    {"principal": "100.00", "term_months": 0, "method": "equal_installment"},
    {"principal": "100.00", "term_months": 361, "method": "equal_installment"},
    {"principal": "100.00", "term_months": "12", "method": "equal_installment"},
    {"principal": "100.00", "term_months": 12, "method": "balloon"},
    {"principal": "100.00", "term_months": 12, "method": "equal_installment", "annual_rate": 3.1},
    {"principal": "100.00", "term_months": 12, "method": "equal_installment", "annual_rate": "abc"},
    {"principal": "100.00", "term_months": 12, "method": "equal_installment", "annual_rate": "100"},
    {"principal": "100.00", "term_months": 12, "method": "equal_installment", "extra": True},
    {"principal": "1" + "0" * 30 + ".00", "term_months": 12, "method": "equal_installment"},
])
def test_bad_calculator_input_is_400_never_500(client, today, body):
    resp = _calc(client, **body)
    assert resp.status_code == 400, resp.json_body
    assert resp.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_not_json_is_400(client, today):
    resp = client.http.post("/v1/tools/loan-calculator", headers=JSON, body="{not json")
    assert resp.status_code == 400


def test_prepayment_shorten_term_keeps_the_payment_and_saves_interest(client, today):
    body = _prepay(client, principal="500000.00", annual_rate="2.60", term_months=360, method="equal_installment",
                   paid_periods=24, prepay_amount="100000.00", mode="shorten_term").json_body
    before, after = body["before"], body["after"]
    assert money.parse(after["monthly_payment"]) <= money.parse(before["monthly_payment"])
    assert after["remaining_months"] < before["remaining_months"] == 336
    assert body["months_saved"] == before["remaining_months"] - after["remaining_months"]
    saved = money.parse(before["total_interest"]) - money.parse(after["total_interest"])
    assert money.parse(body["interest_saved"]) == saved > 0
    assert money.parse(after["balance"]) == money.parse(before["balance"]) - 10_000_000
    # the same as the rules used by real prepayments
    plan = loans.schedule(50_000_000, Decimal("2.60"), 360, "equal_installment")
    direct = loans.prepayment(loans.balance_after(plan, 24), Decimal("2.60"), 336, "equal_installment",
                              10_000_000, "shorten_term")
    assert money.parse(body["interest_saved"]) == direct.interest_saved


def test_prepayment_lower_payment_keeps_the_term(client, today):
    body = _prepay(client, principal="500000.00", annual_rate="2.60", term_months=360, method="equal_principal",
                   paid_periods=24, balance="460000.00", prepay_amount="60000.00", mode="lower_payment").json_body
    assert body["after"]["remaining_months"] == body["before"]["remaining_months"] == 336
    assert money.parse(body["after"]["monthly_payment"]) < money.parse(body["before"]["monthly_payment"])
    assert body["balance"] == "460000.00" and body["notes"] == []


def test_prepayment_trial_notes_policy_conditions_it_does_not_meet(client, today):
    body = _prepay(client, principal="500000.00", annual_rate="2.60", term_months=360, method="equal_installment",
                   paid_periods=1, prepay_amount="100.00", mode="shorten_term").json_body
    assert len(body["notes"]) == 2


@pytest.mark.parametrize("changes", [{"prepay_amount": "600000.00"}, {"paid_periods": 360}, {"mode": "skip"},
                                     {"balance": "600000.00"}, {"prepay_amount": "0.00"}, {"paid_periods": -1}])
def test_bad_prepayment_trials_are_400(client, today, changes):
    body = {"principal": "500000.00", "annual_rate": "2.60", "term_months": 360, "method": "equal_installment",
            "paid_periods": 24, "prepay_amount": "100000.00", "mode": "shorten_term", **changes}
    resp = _prepay(client, **body)
    assert resp.status_code == 400, resp.json_body
