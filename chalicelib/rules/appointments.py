"""Appointment rules (网点预约): which days have slots. Pure.

Branches open on China's official working days: ``chinese_calendar.is_workday`` (the State Council's yearly
holiday schedule, 国务院办公厅关于部分节假日安排的通知), so a make-up working day (调休上班, e.g. Sunday 2025-09-28)
has slots and a public holiday on a weekday (2025-10-08) has none. Bookable from tomorrow up to
``book_days_ahead`` days ahead.

The package carries the schedules published when its version was released (chinesecalendar 1.11.0: 2004-2026;
``is_workday`` raises ``NotImplementedError`` beyond). For a later year, until the package is upgraded after the
State Council publishes that year's notice (usually in November or December before it), a day is open when it is
Monday to Friday and not one of the fixed-date holidays of 《全国年节及纪念日放假办法》 (2024 修订, 第二条):
元旦 1 January, 劳动节 1-2 May, 国庆节 1-3 October. The lunar holidays (春节, 清明节, 端午节, 中秋节), the days
bridged around them and the make-up working days cannot be known before the notice: those days would be open,
and a weekend make-up day closed.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from chalicelib.rules import refusals

FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


def calendar_known(day: dt.date) -> bool:
    """Whether the official schedule of ``day``'s year is in the installed calendar."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_service_day(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # no official schedule for that year in this package yet: weekdays, less the fixed-date holidays
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS


def check_bookable(day: dt.date, *, today: dt.date, days_ahead: int) -> None:
    if day <= today:
        raise refusals.NotEligible("只能预约明天及以后的日期")
    if (day - today).days > days_ahead:
        raise refusals.NotEligible(f"最多预约 {days_ahead} 天以内的日期")
    if not is_service_day(day):
        raise refusals.NotEligible("该日为周末或法定节假日，网点不办理预约业务")


def check_slot(slot: str, slots: list[str]) -> None:
    if slot not in slots:
        raise refusals.InvalidField.field("slot", "该网点没有这个预约时段")
