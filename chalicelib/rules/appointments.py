"""Appointment rules (网点预约): which days have slots. Pure.

No slots on Saturdays, Sundays or Chinese public holidays (``chinese_calendar``, the State Council's
yearly schedule); bookable from tomorrow up to ``book_days_ahead`` days ahead.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from chalicelib import errors


def is_service_day(day: dt.date) -> bool:
    if day.weekday() >= 5:
        return False
    try:
        return not chinese_calendar.is_holiday(day)
    except NotImplementedError:
        # Outside the years the calendar knows: no official schedule published yet; weekdays only.
        return True


def check_bookable(day: dt.date, *, today: dt.date, days_ahead: int) -> None:
    if day <= today:
        raise errors.NotEligible("只能预约明天及以后的日期")
    if (day - today).days > days_ahead:
        raise errors.NotEligible(f"最多预约 {days_ahead} 天以内的日期")
    if not is_service_day(day):
        raise errors.NotEligible("该日为周末或法定节假日，网点不办理预约业务")


def check_slot(slot: str, slots: list[str]) -> None:
    if slot not in slots:
        raise errors.ValidationFailed.field("slot", "该网点没有这个预约时段")
