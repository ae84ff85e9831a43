"""Flexible-employment remittance rules (灵活就业 汇缴/补缴): pure functions of dates and the policy.

* deposit periods are ``YYYYMM`` strings (as in "汇缴201809"), counted by ``chalicelib/rules/periods.py`` (its names are
  re-exported here for the callers that read them from this module);
* the window (汇缴时间): days ``first_day``..``last_day`` of each month, ``opens_at`` (inclusive) to
  ``closes_at`` (exclusive), China time — Taiyuan: 1st–25th, 08:00–17:00;
* 汇缴 pays the current month, once, and only when every earlier month is paid (otherwise 补缴 first);
* 补缴 pays every month from the first unpaid one up to a chosen end month before the current one,
  at most ``max_months`` months, never for months before the account opened (when the policy says so);
  each month at the monthly amount in force for that month (issue 16 item 5: an amount changed in July
  is owed from July on, the months before it at the old amount), not today's;
* what is due now (``remittance_due``): the quote of ``GET /v1/flexible/remittance`` and the reminder name
  the month ``POST /v1/flexible/remittances`` accepts, or say that earlier months must be back-paid first
  and quote that back-payment (issue 16 item 14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib import clock, money
from chalicelib.policy import BackPayment, Window
from chalicelib.rules import refusals
from chalicelib.rules.periods import (  # noqa: F401 (also this module's public names, as before)
    first_unpaid,
    months_between,
    next_period,
    parse_period,
    period_of,
    periods,
    shift,
)

# ---------------------------------------------------------------- the figures in force for a month


@dataclass(frozen=True)
class MonthlyTerms:
    """From ``from_period`` on: ``amount`` fen a month; for an employee also the base and ratios behind it."""

    from_period: str
    amount: int
    base: int | None = None
    ratio_unit: str | None = None
    ratio_person: str | None = None


def terms_in_force(history: Sequence[MonthlyTerms], period: str, current: MonthlyTerms) -> MonthlyTerms:
    """The entry in force for ``period``: the last (in history order) whose ``from_period`` is not after it.

    History is oldest first; of two entries from the same month the later one wins (it was written later).
    A month before the first entry takes the first entry; no history at all means the current figures.
    """
    if not history:
        return current
    found = history[0]
    for entry in history:
        if months_between(entry.from_period, period) > 0:
            found = entry
    return found


def amounts_for(months: Sequence[str], history: Sequence[MonthlyTerms], current_amount: int) -> tuple[int, ...]:
    current = MonthlyTerms(from_period="000001", amount=current_amount)
    return tuple(terms_in_force(history, p, current).amount for p in months)


# ---------------------------------------------------------------- the window (汇缴时间)


def window_open(now: dt.datetime, window: Window) -> bool:
    local = now.astimezone(clock.CHINA)
    if not (window.first_day <= local.day <= window.last_day):
        return False
    return window.opens_at <= local.time().replace(tzinfo=None) < window.closes_at


def window_bounds(now: dt.datetime, window: Window) -> tuple[dt.datetime, dt.datetime]:
    """(opens_at, closes_at) of the window that is open now, or else of the next one."""
    local = now.astimezone(clock.CHINA)
    day = local.date()
    for _ in range(62):
        if window.first_day <= day.day <= window.last_day:
            opens = dt.datetime.combine(day, window.opens_at, tzinfo=clock.CHINA)
            closes = dt.datetime.combine(day, window.closes_at, tzinfo=clock.CHINA)
            if local < closes:
                return opens, closes
        day += dt.timedelta(days=1)
    raise ValueError("the window never opens")  # pragma: no cover - the policy validator prevents it


def window_id(now: dt.datetime) -> str:
    """The name of today's window (the date): a window opened yesterday is not today's."""
    return now.astimezone(clock.CHINA).date().isoformat()


# ---------------------------------------------------------------- 汇缴


def check_remittance(*, period: str, now: dt.datetime, paid_through: str | None, opened_on: str) -> None:
    """Raise unless ``period`` is the one a remittance may pay now (window checked separately)."""
    current = period_of(now)
    due = first_unpaid(paid_through, opened_on)
    if paid_through and months_between(period, paid_through) > 0:
        raise refusals.AlreadyDone(f"{period} 已缴存，无需重复缴存", details={"paid_through": paid_through})
    if period != current:
        raise refusals.NotEligible(f"汇缴只能缴存当月（{current}），往月请办理补缴",
                                 details={"period": current})
    if due != current:
        raise refusals.NotEligible(f"{due} 起尚未缴存，请先补缴至 {shift(current, -1)}",
                                 details={"from_period": due, "end_period": shift(current, -1)})


# ---------------------------------------------------------------- 补缴


@dataclass(frozen=True)
class BackPaymentQuote:
    from_period: str
    end_period: str
    months: int
    amount: int          # fen, the sum of ``amounts``
    periods: tuple[str, ...]
    amounts: tuple[int, ...] = ()   # fen, one for each period: the monthly amount in force for it


def quote_back_payment(*, end_period: str, now: dt.datetime, paid_through: str | None, opened_on: str,
                       monthly_amount: int, rules: BackPayment,
                       history: Sequence[MonthlyTerms] = ()) -> BackPaymentQuote:
    current = period_of(now)
    first = first_unpaid(paid_through, opened_on)
    opened = period_of(dt.date.fromisoformat(opened_on))
    if rules.max_months == 0:
        raise refusals.NotEligible("本市不办理补缴")
    if months_between(end_period, shift(current, -1)) == 0:
        raise refusals.NotEligible(f"补缴只能补至上月（{shift(current, -1)}），当月请办理汇缴",
                                 details={"max_end_period": shift(current, -1)})
    if not rules.before_opening and months_between(opened, end_period) == 0:
        raise refusals.NotEligible("开户之前的月份不能补缴", details={"opened": opened})
    if months_between(first, end_period) == 0:
        raise refusals.AlreadyDone(f"已缴存至 {paid_through}，无需补缴", details={"paid_through": paid_through})
    months = months_between(first, end_period)
    if months > rules.max_months:
        raise refusals.NotEligible(f"一次最多补缴 {rules.max_months} 个月",
                                 details={"from_period": first, "max_end_period": shift(first, rules.max_months - 1)})
    months_paid = tuple(periods(first, end_period))
    amounts = amounts_for(months_paid, history, monthly_amount)
    if any(a <= 0 for a in amounts):
        raise refusals.NotEligible("月缴存额未设定，请到网点办理")
    return BackPaymentQuote(from_period=first, end_period=end_period, months=months, amount=sum(amounts),
                            periods=months_paid, amounts=amounts)


# ---------------------------------------------------------------- what is due now (应缴)


@dataclass(frozen=True)
class Due:
    """What a flexible depositor can pay now.

    ``state``: ``remit`` (``POST /v1/flexible/remittances`` accepts ``period`` now, window permitting),
    ``back_payment_first`` (earlier months are unpaid: ``back_payment`` is the back-payment to make first),
    ``paid`` (this month is paid) or ``sealed`` (the account must be unsealed first).
    """

    period: str
    amount: int
    state: str
    message: str
    from_period: str | None = None          # the first unpaid month
    back_payment: BackPaymentQuote | None = None


def remittance_due(*, now: dt.datetime, status: str, paid_through: str | None, opened_on: str,
                   monthly_amount: int, rules: BackPayment, history: Sequence[MonthlyTerms] = ()) -> Due:
    """The same rule as ``check_remittance`` (what POST accepts), said as a quote instead of a refusal."""

    current = period_of(now)
    amount = amounts_for((current,), history, monthly_amount)[0]
    if status == "sealed":
        return Due(current, amount, "sealed", "账户已封存，请先启封后再缴存")
    if paid_through and months_between(current, paid_through) > 0:
        return Due(current, amount, "paid", f"{current} 已缴存，无需重复缴存")
    first = first_unpaid(paid_through, opened_on)
    if first == current:
        return Due(current, amount, "remit", f"请汇缴 {current}，金额 {money.format(amount)} 元", from_period=first)
    last = shift(current, -1)
    if rules.max_months == 0:
        return Due(current, amount, "back_payment_first", f"{first} 起尚未缴存，请到网点办理", from_period=first)
    end = last if months_between(first, last) <= rules.max_months else shift(first, rules.max_months - 1)
    try:
        quote = quote_back_payment(end_period=end, now=now, paid_through=paid_through, opened_on=opened_on,
                                   monthly_amount=monthly_amount, rules=rules, history=history)
    except refusals.Refusal as refusal:      # e.g. no monthly amount set: say why instead of quoting
        return Due(current, amount, "back_payment_first", f"{first} 起尚未缴存：{refusal.message}", from_period=first)
    more = "" if end == last else f"，其余月份（至 {last}）须再次补缴"
    return Due(current, amount, "back_payment_first",
               f"{first} 起尚未缴存，请先补缴 {quote.from_period}-{quote.end_period} 共 {quote.months} 个月"
               f" {money.format(quote.amount)} 元{more}，再汇缴 {current}",
               from_period=first, back_payment=quote)
