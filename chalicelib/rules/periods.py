"""Deposit periods (缴存年月): ``YYYYMM`` strings, as in "汇缴201809" on the center's statements.

The one place a period is read, formed or counted: ``fields.Period`` checks a request's period with
:func:`parse_period`; remittance, back-payment, rosters, withdrawals, interest and the importer count months
with :func:`shift` and :func:`months_between`. Pure: a datetime is read in China time (``clock.CHINA``).
"""

from __future__ import annotations

import datetime as dt

from chalicelib import clock


def period_of(day: dt.date | dt.datetime) -> str:
    if isinstance(day, dt.datetime):
        day = day.astimezone(clock.CHINA).date()
    return f"{day.year:04d}{day.month:02d}"


def parse_period(period: str) -> tuple[int, int]:
    if not isinstance(period, str) or len(period) != 6 or not period.isdigit():
        raise ValueError("缴存年月须为 YYYYMM")
    year, month = int(period[:4]), int(period[4:])
    if not (1 <= month <= 12) or year < 1990 or year > 2200:
        raise ValueError("缴存年月须为 YYYYMM")
    return year, month


def shift(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def next_period(period: str) -> str:
    return shift(period, 1)


def months_between(first: str, last: str) -> int:
    """How many periods ``first``..``last`` inclusive (0 when last is before first)."""
    y1, m1 = parse_period(first)
    y2, m2 = parse_period(last)
    return max(0, (y2 * 12 + m2) - (y1 * 12 + m1) + 1)


def periods(first: str, last: str) -> list[str]:
    return [shift(first, i) for i in range(months_between(first, last))]


def first_unpaid(paid_through: str | None, opened_on: str) -> str:
    """The first period not yet paid: after ``paid_through``, or the opening month of a new account."""
    opened = period_of(dt.date.fromisoformat(opened_on))
    if not paid_through:
        return opened
    return next_period(paid_through)
