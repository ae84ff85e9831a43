"""Withdrawal conditions and amounts (提取条件/可提取金额), for every type of the city policy.

Each type is built a person who qualifies (from the type's own rule), then spoiled one condition at a time:
every refusal the rule can give is tested on every type that has it, and so is the cap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from chalicelib import errors, policy
from chalicelib.rules import withdrawals as rules
from chalicelib.rules.withdrawals import AccountFacts, History, LoanFacts

POLICY = policy.get().withdrawals
TYPES = sorted(POLICY.types)
TODAY = dt.date(2026, 7, 15)


def happy(kind: str, *, balance: int = 3_000_000) -> tuple[list[AccountFacts], list[LoanFacts]]:
    """A person who may withdraw ``kind`` today."""
    rule = POLICY.types[kind]
    status = rule.account_status[0]
    account = AccountFacts(account_no="A1", kind="employee", status=status, balance=balance,
                           opened_on=dt.date(2015, 7, 1), paid_through="202606",
                           sealed_on=dt.date(2025, 1, 5) if status == "sealed" else None)
    loans = [LoanFacts("HT1", rule.loan_statuses[0], 5_000_000)] if rule.loan_statuses else []
    return [account], loans


def verdict(kind, accounts, loans, history=History(), today=TODAY, **kw):
    return rules.evaluate(kind, POLICY, accounts, loans, history, today, **kw)


def _cases(condition):
    return [k for k in TYPES if condition(POLICY.types[k])]


# ---------------------------------------------------------------- eligible


@pytest.mark.parametrize("kind", TYPES)
def test_a_person_meeting_every_condition_may_withdraw(kind):
    accounts, loans = happy(kind)
    v = verdict(kind, accounts, loans)
    assert v.eligible, v.reason
    assert v.max_amount > 0 and v.account_no == "A1" and v.reason is None
    assert v.message == f"您本次可以提取的金额为：¥{v.max_amount // 100}.{v.max_amount % 100:02d}元整。"


# ---------------------------------------------------------------- every refusal


@pytest.mark.parametrize("kind", TYPES)
def test_a_pending_application_blocks_every_type(kind):
    accounts, loans = happy(kind)
    v = verdict(kind, accounts, loans, History(pending="purchase"))
    assert (v.eligible, v.reason_code) == (False, "pending")
    assert "购房提取申请正在审核中" in v.reason


@pytest.mark.parametrize("kind", TYPES)
def test_a_frozen_account_may_not_withdraw(kind):
    accounts, loans = happy(kind)
    accounts = [dataclasses.replace(accounts[0], status="frozen")]
    v = verdict(kind, accounts, loans)
    assert (v.eligible, v.reason_code) == (False, "account_status") and "冻结" in v.reason


@pytest.mark.parametrize("kind", _cases(lambda r: set(r.account_status) != {"normal", "sealed"}))
def test_the_other_account_status_is_refused(kind):
    rule = POLICY.types[kind]
    other = "sealed" if rule.account_status == ["normal"] else "normal"
    accounts, loans = happy(kind)
    accounts = [dataclasses.replace(accounts[0], status=other)]
    v = verdict(kind, accounts, loans)
    assert (v.eligible, v.reason_code) == (False, "account_status")


def test_without_an_open_account_nothing_may_be_withdrawn():
    accounts, loans = happy("rent")
    v = verdict("rent", [dataclasses.replace(accounts[0], status="closed")], loans)
    assert (v.eligible, v.reason_code) == (False, "no_account")


@pytest.mark.parametrize("kind", _cases(lambda r: r.min_sealed_months))
def test_sealed_for_too_short_a_time_is_refused_until_the_day_it_is_long_enough(kind):
    rule = POLICY.types[kind]
    accounts, loans = happy(kind)
    sealed_on = dt.date(2026, 3, 10)
    accounts = [dataclasses.replace(accounts[0], sealed_on=sealed_on)]
    ready = rules.add_months(sealed_on, rule.min_sealed_months)
    v = verdict(kind, accounts, loans, today=ready - dt.timedelta(days=1))
    assert (v.eligible, v.reason_code) == (False, "sealed_months") and ready.isoformat() in v.reason
    assert verdict(kind, accounts, loans, today=ready).eligible


@pytest.mark.parametrize("kind", _cases(lambda r: r.min_sealed_months))
def test_an_imported_sealed_account_counts_from_the_month_after_it_was_paid_through(kind):
    rule = POLICY.types[kind]
    accounts, loans = happy(kind)
    accounts = [dataclasses.replace(accounts[0], sealed_on=None, paid_through="202601")]
    ready = rules.add_months(dt.date(2026, 2, 1), rule.min_sealed_months)
    assert verdict(kind, accounts, loans, today=ready - dt.timedelta(days=1)).reason_code == "sealed_months"
    assert verdict(kind, accounts, loans, today=ready).eligible


@pytest.mark.parametrize("kind", _cases(lambda r: r.min_paid_months))
def test_too_few_months_deposited_is_refused(kind):
    rule = POLICY.types[kind]
    accounts, loans = happy(kind)
    opened = rules.add_months(dt.date(2026, 6, 1), -(rule.min_paid_months - 2))
    accounts = [dataclasses.replace(accounts[0], opened_on=opened)]
    v = verdict(kind, accounts, loans)
    assert (v.eligible, v.reason_code) == (False, "paid_months")
    enough = [dataclasses.replace(accounts[0], opened_on=rules.add_months(opened, -1))]
    assert verdict(kind, enough, loans).eligible


@pytest.mark.parametrize("kind", _cases(lambda r: r.min_paid_months))
def test_a_depositor_behind_with_payments_is_refused(kind):
    accounts, loans = happy(kind)
    accounts = [dataclasses.replace(accounts[0], paid_through="202605")]
    assert verdict(kind, accounts, loans).reason_code == "paid_months"


@pytest.mark.parametrize("kind", _cases(lambda r: r.no_open_loan))
@pytest.mark.parametrize("status", rules.UNSETTLED_LOAN_STATUSES)
def test_an_unsettled_hpf_loan_is_refused(kind, status):
    accounts, _ = happy(kind)
    v = verdict(kind, accounts, [LoanFacts("HT9", status, 100)])
    assert (v.eligible, v.reason_code) == (False, "open_loan")
    assert verdict(kind, accounts, [LoanFacts("HT9", "settled", 0)]).eligible


@pytest.mark.parametrize("kind", _cases(lambda r: r.loan_statuses))
def test_without_the_loan_the_type_needs_it_is_refused(kind):
    accounts, loans = happy(kind)
    assert verdict(kind, accounts, []).reason_code == "no_loan"
    assert verdict(kind, accounts, [dataclasses.replace(loans[0], status="settled")]).reason_code == "no_loan"
    v = verdict(kind, accounts, loans, contract_no="HT-other")
    assert (v.reason_code, "HT-other" in v.reason) == ("no_loan", True)
    assert verdict(kind, accounts, loans, contract_no="HT1").eligible


@pytest.mark.parametrize("kind", _cases(lambda r: r.not_with_offset))
def test_a_loan_with_monthly_offset_signed_is_refused(kind):
    accounts, loans = happy(kind)
    signed = [dataclasses.replace(loans[0], offset_signed=True)]
    v = verdict(kind, accounts, signed)
    assert (v.eligible, v.reason_code) == (False, "offset_signed") and "提前结清" in v.reason


@pytest.mark.parametrize("kind", _cases(lambda r: r.interval_months))
def test_the_same_type_again_within_the_interval_is_refused(kind):
    rule = POLICY.types[kind]
    accounts, loans = happy(kind)
    last = dt.date(2025, 7, 10)
    again = rules.add_months(last, rule.interval_months)
    v = verdict(kind, accounts, loans, History(last_on={kind: last}), today=again - dt.timedelta(days=1))
    assert (v.eligible, v.reason_code) == (False, "interval") and again.isoformat() in v.reason
    assert verdict(kind, accounts, loans, History(last_on={kind: last}), today=again).eligible


def test_the_interval_across_a_leap_day_names_the_first_day_it_is_allowed():
    last = dt.date(2024, 2, 29)
    first = rules.next_allowed(last, 12)
    assert first == dt.date(2025, 3, 1)
    assert rules.interval_cutoff(first, 12) >= last > rules.interval_cutoff(first - dt.timedelta(days=1), 12)


@pytest.mark.parametrize("kind", _cases(lambda r: r.housing_consumption))
def test_another_kind_of_housing_consumption_this_year_is_refused(kind):
    accounts, loans = happy(kind)
    other = next(k for k in TYPES if POLICY.types[k].housing_consumption and k != kind)
    v = verdict(kind, accounts, loans, History(housing_types_this_year=frozenset({other})))
    assert (v.eligible, v.reason_code) == (False, "housing_exclusive")
    assert POLICY.types[other].name in v.reason
    same = History(housing_types_this_year=frozenset({kind}))
    assert verdict(kind, accounts, loans, same).eligible


@pytest.mark.parametrize("kind", _cases(lambda r: not r.housing_consumption))
def test_types_that_are_not_housing_consumption_ignore_exclusivity(kind):
    accounts, loans = happy(kind)
    assert verdict(kind, accounts, loans, History(housing_types_this_year=frozenset({"rent"}))).eligible


@pytest.mark.parametrize("kind", TYPES)
def test_an_empty_account_has_nothing_to_withdraw(kind):
    accounts, loans = happy(kind, balance=0)
    assert verdict(kind, accounts, loans).reason_code == "no_balance"


# ---------------------------------------------------------------- amounts and caps


@pytest.mark.parametrize("kind", _cases(lambda r: r.cap is not None))
def test_a_capped_type_takes_at_most_its_cap(kind):
    rule = POLICY.types[kind]
    accounts, loans = happy(kind, balance=rule.cap * 10)
    assert verdict(kind, accounts, loans).max_amount == rule.cap
    small = rule.cap - 12_345
    accounts, loans = happy(kind, balance=small)
    expected = small // rule.round_down_to * rule.round_down_to if rule.round_down_to else small
    assert verdict(kind, accounts, loans).max_amount == expected


@pytest.mark.parametrize("kind", _cases(lambda r: r.round_down_to))
def test_amounts_are_rounded_down_to_whole_hundreds_as_in_the_seed(kind):
    accounts, loans = happy(kind, balance=691_466)           # ¥6914.66 → ¥6900.00 (购房后续提取 seed)
    v = verdict(kind, accounts, loans)
    assert v.max_amount == 690_000 and v.message.endswith("¥6900.00元整。")


@pytest.mark.parametrize("kind", _cases(lambda r: r.cap_by_loan_balance))
def test_a_loan_repayment_takes_at_most_the_loan_balance(kind):
    accounts, _ = happy(kind, balance=10_000_000)
    v = verdict(kind, accounts, [LoanFacts("HT1", "normal", 2_456_789)])
    assert (v.max_amount, v.contract_no) == (2_450_000, "HT1")


@pytest.mark.parametrize("kind", _cases(lambda r: r.closes_account))
def test_an_account_closing_type_takes_the_whole_balance_to_the_fen(kind):
    accounts, loans = happy(kind, balance=3_092_143)
    assert verdict(kind, accounts, loans).max_amount == 3_092_143
    with_loan = [LoanFacts("HT1", "normal", 100)]
    assert verdict(kind, accounts, with_loan).max_amount == 3_092_143     # the 0.01 leaves with the closure


def test_unemployment_offers_the_whole_balance_like_the_seed():
    accounts, loans = happy("unemployment", balance=3_092_143)              # ¥30921.43 (下岗失业提取 seed)
    assert verdict("unemployment", accounts, loans).message == "您本次可以提取的金额为：¥30921.43元整。"


@pytest.mark.parametrize("kind", _cases(lambda r: not r.closes_account and not r.no_open_loan))
def test_one_fen_stays_in_the_account_while_a_loan_is_open(kind):
    rule = POLICY.types[kind]
    accounts, loans = happy(kind, balance=1_234_567)
    if not loans:
        loans = [LoanFacts("HT1", "normal", 5_000_000)]
    expected = 1_234_567 - POLICY.keep_while_loan_open
    if rule.cap is not None:
        expected = min(expected, rule.cap)
    if rule.round_down_to:
        expected = expected // rule.round_down_to * rule.round_down_to
    assert verdict(kind, accounts, loans).max_amount == expected
    if not rule.round_down_to:
        one_fen = happy(kind, balance=POLICY.keep_while_loan_open)[0]
        assert verdict(kind, one_fen, loans).reason_code == "no_balance"


def test_of_two_accounts_the_one_allowing_more_is_chosen():
    normal = AccountFacts("A-normal", "flexible", "normal", 50_000, dt.date(2024, 1, 1), "202606")
    sealed = AccountFacts("A-sealed", "employee", "sealed", 900_000, dt.date(2015, 1, 1), "202312",
                          sealed_on=dt.date(2024, 1, 1))
    v = verdict("unemployment", [normal, sealed], [])
    assert (v.eligible, v.account_no, v.max_amount) == (True, "A-sealed", 900_000)
    v = verdict("property_fee", [normal, sealed], [])
    assert (v.eligible, v.account_no) == (True, "A-normal")


# ---------------------------------------------------------------- the asked amount


def test_no_amount_asked_means_the_maximum():
    accounts, loans = happy("rent")
    v = verdict("rent", accounts, loans)
    assert rules.amount_to_take(v, POLICY.types["rent"], None, 3_000_000) == v.max_amount


def test_an_amount_within_the_maximum_is_taken_as_asked():
    accounts, loans = happy("rent")
    v = verdict("rent", accounts, loans)
    assert rules.amount_to_take(v, POLICY.types["rent"], 123_456, 3_000_000) == 123_456


def test_an_amount_above_the_cap_is_refused_with_the_maximum():
    accounts, loans = happy("rent")
    v = verdict("rent", accounts, loans)
    with pytest.raises(errors.NotEligible) as exc:
        rules.amount_to_take(v, POLICY.types["rent"], v.max_amount + 1, 3_000_000)
    assert exc.value.details["max_amount"] == "14400.00"


def test_an_amount_above_the_balance_is_insufficient_balance():
    accounts, loans = happy("rent", balance=500_000)
    v = verdict("rent", accounts, loans)
    with pytest.raises(errors.InsufficientBalance):
        rules.amount_to_take(v, POLICY.types["rent"], 500_001, 500_000)


def test_a_zero_amount_is_a_validation_error():
    accounts, loans = happy("rent")
    v = verdict("rent", accounts, loans)
    with pytest.raises(errors.ValidationFailed) as exc:
        rules.amount_to_take(v, POLICY.types["rent"], 0, 3_000_000)
    assert "amount" in exc.value.details["fields"]


@pytest.mark.parametrize("kind", _cases(lambda r: r.closes_account))
def test_an_account_closing_type_refuses_a_part_of_the_balance(kind):
    accounts, loans = happy(kind, balance=100_000)
    v = verdict(kind, accounts, loans)
    with pytest.raises(errors.ValidationFailed):
        rules.amount_to_take(v, POLICY.types[kind], 99_999, 100_000)
    assert rules.amount_to_take(v, POLICY.types[kind], 100_000, 100_000) == 100_000


def test_an_ineligible_verdict_refuses_with_its_reason():
    accounts, loans = happy("rent", balance=0)
    v = verdict("rent", accounts, loans)
    with pytest.raises(errors.NotEligible) as exc:
        rules.amount_to_take(v, POLICY.types["rent"], None, 0)
    assert exc.value.details == {"type": "rent", "reason": "no_balance"}


# ---------------------------------------------------------------- the policy's own checks


def _policy_with(change):
    import yaml

    data = yaml.safe_load(policy.resolve_path("taiyuan").read_text(encoding="utf-8"))
    change(data["withdrawals"]["types"])
    return data


@pytest.mark.parametrize("change, word", [
    (lambda t: t["retirement"].__setitem__("cap", "1000.00"), "account-closing"),
    (lambda t: t["rent"].__setitem__("round_down_to", "0.00"), "round_down_to"),
    (lambda t: t["hpf_loan_repayment"].pop("loan_statuses"), "cap_by_loan_balance"),
    (lambda t: t["loan_down_payment"].__setitem__("loan_statuses", ["paid_off"]), "loan_statuses"),
])
def test_a_withdrawal_rule_that_cannot_work_is_refused_at_start(change, word):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        policy.Policy.model_validate(_policy_with(change))
    assert word in str(exc.value)
