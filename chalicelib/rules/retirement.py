"""Statutory retirement age (法定退休年龄). Pure: a birth date and a group in, an age or a date out.

The NPC Standing Committee decision of 2024-09-13 (《关于实施渐进式延迟法定退休年龄的决定》, in force 2025-01-01)
raises the original ages over 15 years. For each group its schedule (``policy.retirement_age.groups``) names the
original age, the first birth month affected, how many birth months share one month of delay, and the final delay:

* men, 60: from births of 1965-01, one more month every 4 birth months, up to 63 (+36 months);
* women cadres, 55: from births of 1970-01, one more month every 4 birth months, up to 58 (+36 months);
* women workers, 50: from births of 1975-01, one more month every 2 birth months, up to 55 (+60 months).

Someone born before the first affected month keeps the original age. The delay of a birth month ``m`` at or after the
first affected month ``f`` is ``min(max_delay, (m - f) // k + 1)`` months (the decision's annex tables: 1965-01 →
60 岁 1 个月, 1965-05 → 60 岁 2 个月). The person reaches the age on the same day of the month as their birthday
(the last day of a shorter month), so a man born 1965-01-15 reaches 60 岁 1 个月 on 2025-02-15.

The ID number gives the birth date and the sex (:mod:`chalicelib.rules.identity`); which women's group a use of the
age applies is the policy's choice (``women_group``), because the ID number cannot tell a cadre from a worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.rules.loans import add_months


def _month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def delay_months(birth: dt.date, group: Any) -> int:
    """The months of delay (延迟月数) the reform adds for someone of ``group`` born on ``birth``."""
    first = group.first_births
    since = _month_index(birth.year, birth.month) - _month_index(first.year, first.month)
    if since < 0:
        return 0
    return min(group.max_delay_months, since // group.birth_months_per_month + 1)


def age_months(birth: dt.date, group: Any) -> int:
    """The statutory retirement age in months (60 岁 1 个月 = 721)."""
    return group.original_years * 12 + delay_months(birth, group)


def retirement_date(birth: dt.date, group: Any) -> dt.date:
    """The day the person reaches the statutory retirement age."""
    return add_months(birth, age_months(birth, group), day=birth.day)


def describe(months: int) -> str:
    """60 岁 / 60 岁 1 个月, as the decision's tables write an age."""
    years, rest = divmod(months, 12)
    return f"{years}岁{rest}个月" if rest else f"{years}岁"


def group_for(policy_age: Any, *, male: bool, use: str) -> Any:
    """The schedule that applies: men's, or for a woman the group the policy names for this use."""
    if male:
        return policy_age.groups["men"]
    return policy_age.groups[getattr(policy_age.women_group, use)]
