"""Statutory retirement age (法定退休年龄) under the NPC Standing Committee decision of 2024-09-13.

Expected values come from the decision itself, never from the rule: a table of examples as the decision's annex
tables print them (birth month → age after the reform → retirement month), and an independent walk of the
schedule as its words say it ("从 1965 年 1 月起，每 4 个月延迟 1 个月，逐步延迟至 63 周岁" for men, the same from
1970-01 to 58 for women of 55, "每 2 个月延迟 1 个月" from 1975-01 to 55 for women of 50), written here as counting
month by month rather than the rule's division.
"""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib import policy
from chalicelib.rules import retirement
from chalicelib.services import withdrawals
from tests.support.factories import make_id_number

AGE = policy.get().retirement_age

# The decision's words: (group, original age in years, first birth month delayed, birth months per month of delay,
# final age in years)
DECISION = {
    "men": (60, (1965, 1), 4, 63),
    "women_55": (55, (1970, 1), 4, 58),
    "women_50": (50, (1975, 1), 2, 55),
}

# Published examples (annex tables 1-3 of the decision): birth month → (years, months) → retirement month
PUBLISHED = [
    ("men", (1964, 12), (60, 0), (2024, 12)),        # before the reform: unchanged
    ("men", (1965, 1), (60, 1), (2025, 2)),
    ("men", (1965, 4), (60, 1), (2025, 5)),
    ("men", (1965, 5), (60, 2), (2025, 7)),
    ("men", (1965, 12), (60, 3), (2026, 3)),
    ("men", (1966, 1), (60, 4), (2026, 5)),
    ("men", (1976, 8), (62, 11), (2039, 7)),
    ("men", (1976, 9), (63, 0), (2039, 9)),          # the final age from births of 1976-09
    ("men", (1990, 6), (63, 0), (2053, 6)),
    ("women_55", (1969, 12), (55, 0), (2024, 12)),
    ("women_55", (1970, 1), (55, 1), (2025, 2)),
    ("women_55", (1971, 4), (55, 4), (2026, 8)),
    ("women_55", (1981, 9), (58, 0), (2039, 9)),
    ("women_50", (1974, 12), (50, 0), (2024, 12)),
    ("women_50", (1975, 1), (50, 1), (2025, 2)),
    ("women_50", (1975, 2), (50, 1), (2025, 3)),
    ("women_50", (1975, 3), (50, 2), (2025, 5)),
    ("women_50", (1976, 1), (50, 7), (2026, 8)),
    ("women_50", (1984, 11), (55, 0), (2039, 11)),   # the final age from births of 1984-11
]


def test_the_policy_states_the_decisions_schedule():
    for name, (years, (year, month), k, final) in DECISION.items():
        group = AGE.groups[name]
        assert (group.original_years, group.first_births, group.birth_months_per_month) == (
            years, dt.date(year, month, 1), k)
        assert group.original_years * 12 + group.max_delay_months == final * 12


@pytest.mark.parametrize("name, born, age, retires", PUBLISHED)
def test_published_examples(name, born, age, retires):
    birth = dt.date(*born, 15)
    group = AGE.groups[name]
    assert retirement.age_months(birth, group) == age[0] * 12 + age[1]
    on = retirement.retirement_date(birth, group)
    assert (on.year, on.month, on.day) == (*retires, 15)


def _walk(name: str, until: tuple[int, int]) -> dict[tuple[int, int], int]:
    """Every birth month from two years before the reform's first one to ``until``, with its age in months,
    counted as the decision says: the first k birth months get one month, the next k one more, to the final age."""
    years, (year, month), k, final = DECISION[name]
    ages, delay, in_step = {}, 0, 0
    y, m = year - 2, month
    while (y, m) <= until:
        if (y, m) >= (year, month):
            if in_step == 0:
                delay += 1
            in_step = (in_step + 1) % k
        ages[(y, m)] = min(years * 12 + delay, final * 12)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return ages


@pytest.mark.parametrize("name", list(DECISION))
def test_every_birth_month_follows_the_decisions_words(name):
    group = AGE.groups[name]
    for (y, m), months in _walk(name, (1995, 12)).items():
        assert retirement.age_months(dt.date(y, m, 1), group) == months, (y, m)


def test_the_day_is_the_birthday_or_the_end_of_a_shorter_month():
    men = AGE.groups["men"]
    assert retirement.retirement_date(dt.date(1965, 1, 31), men) == dt.date(2025, 2, 28)     # 60 岁 1 个月
    assert retirement.retirement_date(dt.date(1964, 2, 29), men) == dt.date(2024, 2, 29)
    assert retirement.describe(721) == "60岁1个月" and retirement.describe(756) == "63岁"


def test_the_id_number_decides_the_group():
    # GB 11643-1999: the 17th digit is odd for a man. A woman's withdrawal uses the policy's group (women_50).
    assert AGE.women_group.withdrawal == "women_50" and AGE.women_group.loan == "women_55"
    man = withdrawals.person_facts(make_id_number("140105", dt.date(1965, 5, 20), 11))
    assert (man.retires_on, man.retirement_age) == (dt.date(2025, 7, 20), "60岁2个月")
    woman = withdrawals.person_facts(make_id_number("140105", dt.date(1975, 3, 10), 12))
    assert (woman.retires_on, woman.retirement_age) == (dt.date(2025, 5, 10), "50岁2个月")
    young = withdrawals.person_facts(make_id_number("140105", dt.date(1985, 6, 15), 13))
    assert (young.retires_on, young.retirement_age) == (dt.date(2048, 6, 15), "63岁")


def test_a_policy_missing_a_group_is_refused_at_start():
    import yaml
    from pydantic import ValidationError

    data = yaml.safe_load(policy.resolve_path("taiyuan").read_text(encoding="utf-8"))
    del data["retirement_age"]["groups"]["women_50"]
    with pytest.raises(ValidationError) as exc:
        policy.Policy.model_validate(data)
    assert "women_50" in str(exc.value)
