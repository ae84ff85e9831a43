"""上期余额 / 本期余额: the HPF year and the carried-over balance of each year (rules.balances)."""

import datetime as dt

from chalicelib.rules import balances

SETTLEMENT = {"month": 6, "day": 30}


def test_the_hpf_year_starts_the_day_after_interest_settlement():
    assert balances.hpf_year("2026-06-30", SETTLEMENT) == 2025
    assert balances.hpf_year("2026-07-01", SETTLEMENT) == 2026
    assert balances.hpf_year(dt.date(2027, 1, 15), SETTLEMENT) == 2026
    assert balances.hpf_year("2026-03-31", {"month": 3, "day": 31}) == 2025


def test_the_earliest_movement_of_a_year_decides_its_carried_over_balance():
    openings = balances.merge({}, 2026, "2026-07-08#B", 5000)
    assert balances.carried_over(openings, 2026) == 5000
    later = balances.merge(openings, 2026, "2026-08-08#C", 9999)
    assert later == openings                                   # a later movement changes nothing
    earlier = balances.merge(openings, 2026, "2026-07-01#A", 4000)
    assert balances.carried_over(earlier, 2026) == 4000
    assert balances.carried_over(earlier, 2025) is None         # records do not reach back to 2025
    assert openings == {"2026": {"at": "2026-07-08#B", "fen": 5000}}   # merge does not change its input
