"""Flexible-employment account rules (灵活就业): seal/unseal, monthly amount adjustment, exit. Pure.

* 月缴存额调整: only in the adjustment month (July), at most ``adjustments_per_year`` times a deposit
  year (the HPF year runs from the day after interest settlement, 1 July, to 30 June), within the
  city's range;
* 封存/启封: a normal flexible account may be sealed; a sealed one unsealed. Sealing is 停缴 (seed 000:
  "根据灵活就业缴存人本人意愿停缴住房公积金，对个人账户进行停缴封存"), so sealed months are not owed: after
  启封 the first month due is the month of unsealing ("愿意继续缴存的，可在此申请启封"), and back-payment
  (补缴) never reaches into the months the account was sealed (issue 16 item 13);
* 退出缴存提取: the account is sealed and the person has no unsettled HPF loan.
"""

from __future__ import annotations

import datetime as dt

from chalicelib import clock, money
from chalicelib.policy import Flexible
from chalicelib.rules import periods, refusals

UNSETTLED_LOAN_STATUSES = ("applying", "approved", "normal", "overdue")


def deposit_year(day: dt.date | dt.datetime, settlement_month: int = 6, settlement_day: int = 30) -> int:
    """The deposit year a day belongs to, named by the year it starts in (1 July 2026 → 2026)."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(clock.CHINA).date()
    if (day.month, day.day) > (settlement_month, settlement_day):
        return day.year
    return day.year - 1


def check_adjustment(*, amount: int, now: dt.datetime, used_this_year: int, rules: Flexible) -> None:
    local = now.astimezone(clock.CHINA)
    if local.month != rules.adjustment_month:
        raise refusals.WindowClosed(f"月缴存额每年 {rules.adjustment_month} 月调整", details={
            "adjustment_month": rules.adjustment_month})
    if used_this_year >= rules.adjustments_per_year:
        raise refusals.AlreadyDone(
            f"本缴存年度已调整过 {used_this_year} 次，每年可调整 {rules.adjustments_per_year} 次")
    check_amount(amount, rules)


def check_amount(amount: int, rules: Flexible) -> None:

    if not (rules.monthly_amount_min <= amount <= rules.monthly_amount_max):
        low, high = money.format(rules.monthly_amount_min), money.format(rules.monthly_amount_max)
        raise refusals.InvalidField.field("amount", f"须在 {low} 至 {high} 元之间",
                                            message="月缴存额超出本市规定范围")


def check_flexible(kind: str, status: str) -> None:
    if kind != "flexible":
        raise refusals.NotEligible("该业务仅限灵活就业缴存人办理")
    if status == "closed":
        raise refusals.NotEligible("账户已销户")
    if status == "frozen":
        raise refusals.NotEligible("账户已冻结，请到网点办理")


def check_seal(kind: str, status: str) -> None:
    check_flexible(kind, status)
    if status == "sealed":
        raise refusals.AlreadyDone("账户已封存")


def check_unseal(kind: str, status: str) -> None:
    check_flexible(kind, status)
    if status == "normal":
        raise refusals.AlreadyDone("账户状态正常，无需启封")


def check_exit(*, kind: str, status: str, loan_statuses: list[str]) -> None:
    check_flexible(kind, status)
    if status != "sealed":
        raise refusals.NotEligible("退出缴存提取须先封存账户")
    if any(s in UNSETTLED_LOAN_STATUSES for s in loan_statuses):
        raise refusals.NotEligible("您有未结清的住房公积金贷款，不能退出缴存")


def check_depositing(kind: str, status: str) -> None:
    """Remittance and back-payment need a normal flexible account."""
    check_flexible(kind, status)
    if status == "sealed":
        raise refusals.NotEligible("账户已封存，请先启封")


def paid_through_after_unseal(*, paid_through: str | None, opened_on: str, unsealed: dt.date) -> str | None:
    """缴至年月 after 启封 on ``unsealed``: the month before the month of unsealing, so that month is the first due
    and no sealed month is owed; never earlier than it was (a month paid stays paid)."""

    before = periods.shift(periods.period_of(unsealed), -1)
    first_due = periods.first_unpaid(paid_through, opened_on)
    if periods.months_between(first_due, before) == 0:      # nothing unpaid before the month of unsealing
        return paid_through
    return before
