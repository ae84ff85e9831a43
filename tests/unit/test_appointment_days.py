"""Which days branches take appointments: China's official working calendar (issue 16 item 17).

Expected days come from the State Council's notices (国务院办公厅关于2025年/2026年部分节假日安排的通知) and, beyond the
years the installed calendar knows, from 《全国年节及纪念日放假办法》 (2024 修订) 第二条 — never from the rule.
"""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.rules import appointments as rules

D = dt.date


@pytest.mark.parametrize("day", [
    D(2025, 9, 28),     # Sunday: 国庆节、中秋节 2025 — 9月28日（周日）上班
    D(2025, 10, 11),    # Saturday: 10月11日（周六）上班
    D(2026, 1, 4),      # Sunday: 元旦 2026 — 1月4日（周日）上班
    D(2026, 2, 14),     # Saturday: 春节 2026 — 2月14日（周六）上班
    D(2026, 9, 20),     # Sunday: 国庆节 2026 — 9月20日（周日）上班
    D(2026, 10, 10),    # Saturday: 10月10日（周六）上班
    D(2026, 7, 15),     # an ordinary Wednesday
])
def test_make_up_working_days_and_ordinary_weekdays_are_open(day):
    assert rules.is_service_day(day)


@pytest.mark.parametrize("day", [
    D(2025, 10, 1), D(2025, 10, 8),    # 国庆节、中秋节 2025: 10月1日至8日放假 (the 8th a Wednesday)
    D(2026, 10, 7),                    # 国庆节 2026: 10月1日至7日放假 (a Wednesday)
    D(2026, 5, 5),                     # 劳动节 2026: 5月1日至5日放假 (a Tuesday)
    D(2026, 7, 18), D(2026, 7, 19),    # an ordinary weekend
])
def test_public_holidays_and_ordinary_weekends_are_closed(day):
    assert not rules.is_service_day(day)


def test_beyond_the_calendars_years_weekdays_are_open_except_the_fixed_date_holidays():
    assert not rules.calendar_known(D(2040, 1, 2))
    # 2040-01-02 is a Monday, 2040-01-07 a Saturday; 元旦, 劳动节 (1-2 May) and 国庆节 (1-3 October) are fixed dates
    assert rules.is_service_day(D(2040, 1, 2)) and not rules.is_service_day(D(2040, 1, 7))
    for fixed in (D(2040, 1, 1), D(2040, 5, 1), D(2040, 5, 2), D(2040, 10, 1), D(2040, 10, 2), D(2040, 10, 3)):
        assert not rules.is_service_day(fixed), fixed
    assert rules.is_service_day(D(2040, 10, 4))        # a Thursday; the notice may yet close it (see the rule)
