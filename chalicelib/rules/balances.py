"""The HPF year's balances (上期余额 / 本期余额 / 合计余额) as the citizen's deposit records show them. Pure.

The HPF year (缴存年度) runs from the day after interest settlement (1 July) to the settlement day (30 June).
For a movement in year ``Y``:

* 上期余额 (``carried_over``) is the balance carried into ``Y``: the balance before the account's first movement
  of ``Y``; it stays the same for every movement of the year;
* 本期余额 (``year_to_date``) is ``balance_after − carried_over`` (what the year added so far; a withdrawal
  larger than the year's deposits makes it negative);
* 合计余额 is ``balance_after``.

An account keeps the carried-over balance of each year it moved in (``Account.year_openings``):
``{"2026": {"at": "<flow_key of the year's first movement>", "fen": 2604343}}``. The ledger adds a year at the
account's first posting in it; the importer derives the years of the records it loads. When two sources know
a year, the one whose first movement is earlier wins (:func:`merge`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.rules.flexible import deposit_year


def hpf_year(day: dt.date | str, settlement: Mapping[str, int]) -> int:
    """The HPF year of ``day`` (named by the calendar year it starts in); ``settlement`` is
    ``policy.deposit.interest_settlement`` (``{"month": 6, "day": 30}``)."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    return deposit_year(day, settlement["month"], settlement["day"])


def plain(openings: Any) -> dict[str, dict[str, Any]]:
    """The stored map (a PynamoDB ``MapAttribute`` or None) as plain dicts."""
    if openings is None:
        return {}
    if hasattr(openings, "as_dict"):
        openings = openings.as_dict()
    return {str(k): dict(v) for k, v in openings.items()}


def merge(openings: Mapping[str, Mapping[str, Any]], year: int, at: str, fen: int) -> dict[str, dict[str, Any]]:
    """``openings`` with year ``year`` opening at the movement ``at`` (a flow key) with ``fen`` before it,
    unless the year is known from an earlier (or the same) movement."""
    out = {k: dict(v) for k, v in openings.items()}
    known = out.get(str(year))
    if known is None or at < str(known.get("at", "")):
        out[str(year)] = {"at": at, "fen": int(fen)}
    return out


def carried_over(openings: Mapping[str, Mapping[str, Any]], year: int) -> int | None:
    """上期余额 of ``year``, or None when the account's records do not reach back to that year's start."""
    known = openings.get(str(year))
    return None if known is None else int(known["fen"])
