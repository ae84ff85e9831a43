"""Deposit interest by day count (积数计息). Pure: dates, fen and the rate in, 积数 and fen out.

Sources:

* 《住房公积金管理条例》第二十一条: "住房公积金自存入职工住房公积金账户之日起按照国家规定的利率计息" — money earns
  from the day it is deposited, so interest depends on how long each amount stayed, not on the 30 June balance.
* ``shared/reference/domain-research.md`` ("Interest (结息) by day count"): centers compute on 30 June
  上年结转余额 × annual rate + (this year's deposits' 积数 − withdrawals' 积数) × annual rate / 360, an amount's
  积数 being amount × the days it stays until 30 June; both parts at 1.50 % since 2016-02-21 (银发〔2016〕43号,
  restated by Taiyuan). A closed account is paid its accrued interest with the closing payout (销户结息).
* ``rates.deposit`` and ``deposit.interest_settlement`` (30 June) in ``policies/taiyuan.yaml``.

Conventions settled here (one rule for every amount, so the two parts of the formula agree):

* **360-day year, 30-day months.** The daily rate is the annual rate / 360 (the issue's rate/360, the same
  360 the policy uses for loan settlement). Days are counted 30/360 — every month 30 days, the 31st counted as
  the 30th — which is the bank convention of counting whole months at rate/12 and odd days at rate/360
  (人民银行 银发〔2005〕129号 "计息期有整年（月）又有零头天数的…"; quoted from memory, not in the reference file).
  So the balance carried into the year (1 July) earns exactly 360 days = balance × rate, and an amount
  deposited on 1 July earns exactly the same as one carried in. Day by day: every calendar day weighs one day,
  the 31st none, the last day of February the days February lacks up to 30 (28 Feb: 3; 29 Feb: 2).
* **The posting day counts, the settlement day counts** (算头, "自存入之日起"): an amount posted on day ``t``
  stays ``days_left(t)`` days — 1 July → 360, 15 March → 106, 28 February → 123, 31 January → 150 (from
  1 February), 30 June → 1. A withdrawal removes its amount for the same days (the money earned up to the day
  before it left; 算头不算尾 for the money that leaves).
* **积数 in fen·days, one integer a year**: ``carried × 360 + Σ delta × days_left(day)`` over the year's postings
  (withdrawals negative). It is the Σ over the year's (30/360) days of each day's closing balance, assuming the
  current balance stays until 30 June; it is kept on the account by the ledger in the same transaction as
  each balance change (``Account.interest_accruals``, keyed like ``year_openings`` by the HPF year, i.e. the
  calendar year it starts in: the year settled on 30 June 2026 is ``"2025"``).
* **Rounding**: interest = 积数 × rate % / 360, HALF_UP to the fen, once per account per year (and once at
  closing); a negative or zero 积数 earns nothing.
* **The rate** is the one in force on the settlement (or closing) day for the whole year.
* **The annual interest posting** is dated 30 June and is part of the *next* year's carried balance (it earns
  360 days there); it does not count in the year it settles.
* **销户结息**: closing on day ``t`` pays the 积数 earned before ``t`` (:func:`accrued_before`); the interest
  posting takes that 积数 off the year (``settles``) and the closing withdrawal takes the rest, so a closed
  account's year ends at 0 and 30 June pays it nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.rules.balances import hpf_year

DAYS_PER_YEAR = 360
KEEP_YEARS = 2          # the open year and the one before it (which may still await its 30 June settlement)


def _day(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def year_end(year: int, settlement: Mapping[str, int]) -> dt.date:
    """The settlement day closing HPF year ``year`` (30 June of ``year + 1``)."""
    return dt.date(year + 1, settlement["month"], settlement["day"])


def days_left(day: dt.date | str, settlement: Mapping[str, int]) -> int:
    """30/360 days from ``day`` to the settlement day of its HPF year, both counted (1 July → 360, 30 June → 1)."""
    day = _day(day)
    end = year_end(hpf_year(day, settlement), settlement)
    counted = 0 if day.day == 31 else 1       # the 31st is no day of a 30-day month: from it, money counts from the 1st
    return (DAYS_PER_YEAR * (end.year - day.year) + 30 * (end.month - day.month)
            + (min(end.day, 30) - min(day.day, 30)) + counted)


def interest(jishu: int, annual_rate: Decimal) -> int:
    """Interest in fen on ``jishu`` fen·days at ``annual_rate`` percent a year, HALF_UP to the fen."""
    if jishu <= 0:
        return 0
    exact = Decimal(jishu) * Decimal(annual_rate) / (100 * DAYS_PER_YEAR)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def accrued_before(jishu: int, balance: int, day: dt.date | str, settlement: Mapping[str, int]) -> int:
    """The 积数 earned from 1 July up to the day before ``day``: the year's 积数 less what the current balance
    would still earn from ``day`` to 30 June."""
    return jishu - balance * days_left(day, settlement)


@dataclass(frozen=True)
class Movement:
    """A balance change as the 积数 sees it. ``carried``: the annual interest, dated on the settlement day,
    which belongs to the next year's carried balance. ``settles``: 积数 this posting pays out (销户结息)."""

    day: dt.date | str
    delta: int
    carried: bool = False
    settles: int = 0


def plain(accruals: Any) -> dict[str, dict[str, Any]]:
    """The stored map (a PynamoDB ``MapAttribute`` or None) as plain dicts with integer 积数."""
    if accruals is None:
        return {}
    if hasattr(accruals, "as_dict"):
        accruals = accruals.as_dict()
    out: dict[str, dict[str, Any]] = {}
    for year, value in accruals.items():
        item = dict(value)
        if "jishu" in item:
            item["jishu"] = int(item["jishu"])
        out[str(year)] = item
    return out


def accrue(accruals: Mapping[str, Mapping[str, Any]], balance_before: int, movements: Iterable[Movement],
           settlement: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """``accruals`` after ``movements`` (in order) on an account whose balance was ``balance_before``.

    A year first moved in starts from the balance carried into it × 360 (no posting of that year came before,
    so the balance before is the carried one). A ``carried`` movement adds to the next year only when that
    year has started already (the settlement ran after a posting of the new year); otherwise the new year
    will start from a balance that includes it. Only the latest :data:`KEEP_YEARS` years are kept."""
    out = {k: dict(v) for k, v in accruals.items()}
    balance = balance_before
    for m in movements:
        year = hpf_year(m.day, settlement)
        if m.carried:
            following = out.get(str(year + 1))
            if following is not None:
                following["jishu"] = int(following.get("jishu", 0)) + m.delta * DAYS_PER_YEAR
        else:
            current = out.setdefault(str(year), {"jishu": balance * DAYS_PER_YEAR})
            current["jishu"] = int(current.get("jishu", 0)) + m.delta * days_left(m.day, settlement) - m.settles
        balance += m.delta
    for old in sorted(out, key=int)[:-KEEP_YEARS]:
        del out[old]
    return out


def year_jishu(carried: int, movements: Iterable[Movement], year: int, settlement: Mapping[str, int]) -> int:
    """A year's 积数 from its carried balance and its movements (the importer's derivation; the same rule as
    :func:`accrue`, for the movements dated in ``year``)."""
    total = carried * DAYS_PER_YEAR
    for m in movements:
        if not m.carried and hpf_year(m.day, settlement) == year:
            total += m.delta * days_left(m.day, settlement) - m.settles
    return total
