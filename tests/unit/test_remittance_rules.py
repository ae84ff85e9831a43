"""Pure flexible-employment rules: periods, the remittance window, 汇缴, 补缴, adjustment, seal, exit."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import clock, errors, policy
from chalicelib.rules import appointments as appt_rules
from chalicelib.rules import flexible as flex_rules
from chalicelib.rules import remittance as rules

FLEX = policy.get().flexible
WINDOW = FLEX.remittance_window


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.CHINA)


# ---------------------------------------------------------------- the window edges


@pytest.mark.parametrize(("when", "open_"), [
    ("2026-07-15T07:59:59", False),
    ("2026-07-15T08:00:00", True),
    ("2026-07-15T16:59:59", True),
    ("2026-07-15T17:00:00", False),
    ("2026-07-01T08:00:00", True),
    ("2026-07-25T16:59:00", True),
    ("2026-07-26T09:00:00", False),
    ("2026-07-31T09:00:00", False),
    ("2026-02-25T12:00:00", True),
    ("2026-02-26T12:00:00", False),
])
def test_window_is_days_1_to_25_from_08_to_17(when, open_):
    assert rules.window_open(at(when), WINDOW) is open_


def test_window_is_read_in_china_time_whatever_the_offset():
    # 00:00 UTC is 08:00 in China
    assert rules.window_open(dt.datetime(2026, 7, 15, 0, 0, tzinfo=dt.UTC), WINDOW)
    assert not rules.window_open(dt.datetime(2026, 7, 14, 23, 59, tzinfo=dt.UTC), WINDOW)


def test_window_bounds_name_today_when_open_and_the_next_opening_otherwise():
    assert rules.window_bounds(at("2026-07-15T10:00:00"), WINDOW) == (at("2026-07-15T08:00:00"),
                                                                       at("2026-07-15T17:00:00"))
    assert rules.window_bounds(at("2026-07-15T17:00:00"), WINDOW)[0] == at("2026-07-16T08:00:00")
    assert rules.window_bounds(at("2026-07-25T17:30:00"), WINDOW)[0] == at("2026-08-01T08:00:00")
    assert rules.window_bounds(at("2026-12-26T09:00:00"), WINDOW)[0] == at("2027-01-01T08:00:00")


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31)))
def test_window_open_agrees_with_its_bounds(naive):
    now = naive.replace(tzinfo=clock.CHINA)
    opens, closes = rules.window_bounds(now, WINDOW)
    assert rules.window_open(now, WINDOW) == (opens <= now < closes)
    assert closes > now


# ---------------------------------------------------------------- periods


def test_period_arithmetic_crosses_years():
    assert rules.next_period("202612") == "202701"
    assert rules.shift("202601", -1) == "202512"
    assert rules.months_between("202511", "202602") == 4
    assert rules.months_between("202602", "202511") == 0
    assert rules.periods("202611", "202702") == ["202611", "202612", "202701", "202702"]


@pytest.mark.parametrize("bad", ["2026", "202613", "202600", "abcdef", "2026-07", "1899012"])
def test_malformed_periods_are_refused(bad):
    with pytest.raises(ValueError):
        rules.parse_period(bad)


@given(st.integers(2000, 2100), st.integers(1, 12), st.integers(-100, 100))
def test_shift_and_months_between_agree(year, month, n):
    start = f"{year:04d}{month:02d}"
    moved = rules.shift(start, n)
    if n >= 0:
        assert rules.months_between(start, moved) == n + 1
    assert rules.shift(moved, -n) == start


def test_first_unpaid_is_the_opening_month_for_a_new_account():
    assert rules.first_unpaid(None, "2026-03-18") == "202603"
    assert rules.first_unpaid("202605", "2020-01-01") == "202606"


# ---------------------------------------------------------------- 汇缴


def test_remittance_pays_the_current_month_when_all_before_is_paid():
    rules.check_remittance(period="202607", now=at("2026-07-10T09:00:00"), paid_through="202606",
                           opened_on="2020-01-01")
    rules.check_remittance(period="202607", now=at("2026-07-10T09:00:00"), paid_through=None,
                           opened_on="2026-07-02")


def test_remittance_of_a_paid_period_is_already_done():
    with pytest.raises(errors.AlreadyDone):
        rules.check_remittance(period="202607", now=at("2026-07-10T09:00:00"), paid_through="202607",
                               opened_on="2020-01-01")


def test_remittance_of_another_month_is_refused():
    with pytest.raises(errors.NotEligible):
        rules.check_remittance(period="202608", now=at("2026-07-10T09:00:00"), paid_through="202606",
                               opened_on="2020-01-01")


def test_remittance_with_unpaid_months_asks_for_back_payment_first():
    with pytest.raises(errors.NotEligible) as exc:
        rules.check_remittance(period="202607", now=at("2026-07-10T09:00:00"), paid_through="202604",
                               opened_on="2020-01-01")
    assert exc.value.details == {"from_period": "202605", "end_period": "202606"}


# ---------------------------------------------------------------- 补缴

BP = FLEX.back_payment


def quote(end, paid_through="202603", opened_on="2020-01-01", now="2026-07-10T09:00:00", amount=50000):
    return rules.quote_back_payment(end_period=end, now=at(now), paid_through=paid_through, opened_on=opened_on,
                                    monthly_amount=amount, rules=BP)


def test_back_payment_quote_covers_first_unpaid_to_chosen_end():
    q = quote("202606")
    assert (q.from_period, q.end_period, q.months, q.amount) == ("202604", "202606", 3, 150000)
    assert q.periods == ("202604", "202605", "202606")


def test_back_payment_may_stop_before_last_month():
    assert quote("202604").months == 1


def test_back_payment_cannot_reach_the_current_month():
    with pytest.raises(errors.NotEligible):
        quote("202607")


def test_back_payment_of_paid_months_is_already_done():
    with pytest.raises(errors.AlreadyDone):
        quote("202603")


def test_back_payment_never_covers_months_before_opening():
    with pytest.raises(errors.NotEligible):
        quote("202601", paid_through=None, opened_on="2026-03-05")
    assert quote("202605", paid_through=None, opened_on="2026-03-05").from_period == "202603"


def test_back_payment_is_capped_in_months():
    assert quote("202606", paid_through="202406").months == BP.max_months
    with pytest.raises(errors.NotEligible) as exc:
        quote("202606", paid_through="202405")
    assert exc.value.details["max_end_period"] == "202605"


# ---------------------------------------------------------------- 月缴存额调整


def test_adjustment_only_in_july():
    flex_rules.check_adjustment(amount=100000, now=at("2026-07-01T00:00:00"), used_this_year=0, rules=FLEX)
    flex_rules.check_adjustment(amount=100000, now=at("2026-07-31T23:59:59"), used_this_year=0, rules=FLEX)
    with pytest.raises(errors.WindowClosed):
        flex_rules.check_adjustment(amount=100000, now=at("2026-08-01T00:00:00"), used_this_year=0, rules=FLEX)
    with pytest.raises(errors.WindowClosed):
        flex_rules.check_adjustment(amount=100000, now=at("2026-06-30T23:59:59"), used_this_year=0, rules=FLEX)


def test_second_adjustment_in_a_deposit_year_is_already_done():
    with pytest.raises(errors.AlreadyDone):
        flex_rules.check_adjustment(amount=100000, now=at("2026-07-20T10:00:00"), used_this_year=1, rules=FLEX)


@pytest.mark.parametrize(("amount", "ok"), [(FLEX.monthly_amount_min, True), (FLEX.monthly_amount_max, True),
                                            (FLEX.monthly_amount_min - 1, False),
                                            (FLEX.monthly_amount_max + 1, False)])
def test_adjusted_amount_within_the_city_range(amount, ok):
    if ok:
        flex_rules.check_amount(amount, FLEX)
    else:
        with pytest.raises(errors.ValidationFailed):
            flex_rules.check_amount(amount, FLEX)


@pytest.mark.parametrize(("day", "year"), [(dt.date(2026, 6, 30), 2025), (dt.date(2026, 7, 1), 2026),
                                           (dt.date(2027, 1, 15), 2026), (dt.date(2026, 12, 31), 2026)])
def test_deposit_year_starts_on_1_july(day, year):
    assert flex_rules.deposit_year(day) == year


# ---------------------------------------------------------------- seal, unseal, exit


@pytest.mark.parametrize(("check", "kind", "status", "error"), [
    (flex_rules.check_seal, "flexible", "normal", None),
    (flex_rules.check_seal, "flexible", "sealed", errors.AlreadyDone),
    (flex_rules.check_seal, "employee", "normal", errors.NotEligible),
    (flex_rules.check_seal, "flexible", "closed", errors.NotEligible),
    (flex_rules.check_seal, "flexible", "frozen", errors.NotEligible),
    (flex_rules.check_unseal, "flexible", "sealed", None),
    (flex_rules.check_unseal, "flexible", "normal", errors.AlreadyDone),
    (flex_rules.check_depositing, "flexible", "normal", None),
    (flex_rules.check_depositing, "flexible", "sealed", errors.NotEligible),
    (flex_rules.check_depositing, "employee", "normal", errors.NotEligible),
])
def test_status_rules(check, kind, status, error):
    if error is None:
        check(kind, status)
    else:
        with pytest.raises(error):
            check(kind, status)


@pytest.mark.parametrize(("status", "loans", "ok"), [
    ("sealed", [], True), ("sealed", ["settled"], True), ("normal", [], False),
    ("sealed", ["normal"], False), ("sealed", ["overdue", "settled"], False), ("sealed", ["applying"], False),
])
def test_exit_needs_a_sealed_account_and_no_unsettled_loan(status, loans, ok):
    if ok:
        flex_rules.check_exit(kind="flexible", status=status, loan_statuses=loans)
    else:
        with pytest.raises(errors.NotEligible):
            flex_rules.check_exit(kind="flexible", status=status, loan_statuses=loans)


# ---------------------------------------------------------------- appointment days


@pytest.mark.parametrize(("day", "open_"), [
    (dt.date(2026, 11, 23), True),    # Monday
    (dt.date(2026, 11, 28), False),   # Saturday
    (dt.date(2026, 11, 29), False),   # Sunday
    (dt.date(2026, 10, 1), False),    # National Day (Thursday)
    (dt.date(2026, 10, 7), False),    # National Day holiday week (Wednesday)
    (dt.date(2026, 10, 9), True),
])
def test_no_service_on_weekends_or_public_holidays(day, open_):
    assert appt_rules.is_service_day(day) is open_


def test_booking_range_is_tomorrow_to_days_ahead():
    today = dt.date(2026, 11, 20)
    appt_rules.check_bookable(dt.date(2026, 11, 23), today=today, days_ahead=30)
    for bad in (today, dt.date(2026, 11, 19), dt.date(2026, 12, 31)):
        with pytest.raises(errors.NotEligible):
            appt_rules.check_bookable(bad, today=today, days_ahead=30)


# ---------------------------------------------------------------- issue 16 item 5: the amount in force for each month

T = rules.MonthlyTerms


def test_a_back_payment_pays_each_month_at_the_amount_in_force_for_it():
    # 月缴存额 500.00 from the opening, changed to 800.00 in July 2026 (the adjustment month, seed 000:
    # "月缴存额调整时间为每年 7 月"). A back-payment of 2026-05..2026-08 made in September costs, by hand,
    # 500.00 + 500.00 + 800.00 + 800.00 = 2,600.00, not 4 x 800.00 = 3,200.00 (today's amount).
    history = (T("202003", 50000), T("202607", 80000))
    q = rules.quote_back_payment(end_period="202608", now=at("2026-09-10T09:00:00"), paid_through="202604",
                                 opened_on="2020-03-01", monthly_amount=80000, rules=BP, history=history)
    assert q.periods == ("202605", "202606", "202607", "202608")
    assert q.amounts == (50000, 50000, 80000, 80000)
    assert q.amount == 50000 + 50000 + 80000 + 80000 == 260000


def test_the_entry_in_force_is_the_last_one_started_by_that_month():
    history = (T("202003", 50000), T("202507", 60000), T("202607", 80000))
    current = T("209912", 1)
    assert rules.terms_in_force(history, "202506", current).amount == 50000     # before the first change
    assert rules.terms_in_force(history, "202507", current).amount == 60000     # the change's own month
    assert rules.terms_in_force(history, "202606", current).amount == 60000
    assert rules.terms_in_force(history, "202612", current).amount == 80000
    assert rules.terms_in_force(history, "201901", current).amount == 50000     # before any entry: the first
    assert rules.terms_in_force((), "202612", current) is current              # never changed: today's figures
    # two entries from one month: the one written later holds
    assert rules.terms_in_force((T("202607", 70000), T("202607", 90000)), "202608", current).amount == 90000


# ---------------------------------------------------------------- issue 16 item 13: sealed months are not owed


def test_unsealing_after_22_sealed_months_makes_the_month_of_unsealing_the_first_due():
    # paid through 2024-11, sealed 2024-12 .. 2026-09 (by hand: 1 + 12 + 9 = 22 months), unsealed in 2026-10:
    # the first month due is 2026-10 (seed 000: 封存 is 停缴; 启封 is "愿意继续缴存"), so 缴至年月 becomes 2026-09
    # and nothing of the 22 x 500.00 = 11,000.00 of sealed months is owed.
    after = flex_rules.paid_through_after_unseal(paid_through="202411", opened_on="2020-03-01",
                                                 unsealed=dt.date(2026, 10, 12))
    assert after == "202609"
    assert rules.first_unpaid(after, "2020-03-01") == "202610"
    with pytest.raises(errors.AlreadyDone):      # a back-payment cannot reach into the sealed months
        rules.quote_back_payment(end_period="202609", now=at("2026-10-12T09:00:00"), paid_through=after,
                                 opened_on="2020-03-01", monthly_amount=50000, rules=BP)


def test_unsealing_never_moves_paid_through_back():
    # paid in advance through 2026-12, sealed and unsealed in 2026-10: December stays paid
    assert flex_rules.paid_through_after_unseal(paid_through="202612", opened_on="2020-03-01",
                                                unsealed=dt.date(2026, 10, 3)) == "202612"
    # sealed and unsealed in the month the account opened, nothing paid: the opening month is still the first due
    assert flex_rules.paid_through_after_unseal(paid_through=None, opened_on="2026-10-01",
                                                unsealed=dt.date(2026, 10, 20)) is None


# ---------------------------------------------------------------- issue 16 item 14: the quote is what can be paid


def due(paid_through, status="normal", now="2026-07-10T09:00:00", history=(), amount=50000):
    return rules.remittance_due(now=at(now), status=status, paid_through=paid_through, opened_on="2020-03-01",
                                monthly_amount=amount, rules=BP, history=history)


def _post_accepts(d: rules.Due, paid_through, now="2026-07-10T09:00:00") -> bool:
    try:
        rules.check_remittance(period=d.period, now=at(now), paid_through=paid_through, opened_on="2020-03-01")
    except errors.ApiError:
        return False
    return True


def test_the_quote_names_the_month_post_accepts():
    d = due("202606")
    assert (d.state, d.period, d.amount, d.back_payment) == ("remit", "202607", 50000, None)
    assert _post_accepts(d, "202606")


def test_with_earlier_months_unpaid_the_quote_says_back_pay_first_with_that_quote():
    d = due("202603")
    # by hand: 2026-04, 2026-05, 2026-06 unpaid, 3 x 500.00 = 1,500.00 before July can be paid
    assert (d.state, d.period, d.from_period) == ("back_payment_first", "202607", "202604")
    q = d.back_payment
    assert (q.from_period, q.end_period, q.months, q.amount) == ("202604", "202606", 3, 150000)
    assert not _post_accepts(d, "202603")        # POST refuses July, as the quote says
    assert "202604" in d.message and "1500.00" in d.message


def test_the_back_payment_first_quote_uses_the_amounts_in_force():
    # 500.00 until June, 800.00 from July 2026; in September, paid through April: by hand
    # 2026-05..2026-08 = 500 + 500 + 800 + 800 = 2,600.00 first, then September at 800.00
    d = due("202604", now="2026-09-10T09:00:00", history=(T("202003", 50000), T("202607", 80000)), amount=80000)
    assert (d.state, d.amount, d.back_payment.amount, d.back_payment.amounts) == (
        "back_payment_first", 80000, 260000, (50000, 50000, 80000, 80000))


def test_a_back_payment_longer_than_allowed_is_quoted_in_its_first_part():
    # paid through 2023-12, in July 2026: 2024-01..2026-06 is 30 months; at most 24 a time (policy) → 2024-01..2025-12
    d = due("202312")
    assert (d.back_payment.from_period, d.back_payment.end_period, d.back_payment.months) == ("202401", "202512", 24)
    assert d.back_payment.amount == 24 * 50000


def test_paid_and_sealed_accounts_are_quoted_nothing_to_remit():
    assert due("202607").state == "paid"
    assert due("202608").state == "paid"
    assert due("202606", status="sealed").state == "sealed"


def test_without_a_monthly_amount_the_quote_says_why_instead_of_failing():
    d = due("202603", amount=0)
    assert (d.state, d.back_payment) == ("back_payment_first", None)
    assert "月缴存额未设定" in d.message
