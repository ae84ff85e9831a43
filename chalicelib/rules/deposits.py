"""Deposit arithmetic for units' employees (单位缴存): pure functions of numbers and the policy.

* a ratio (缴存比例) is a percent string, ``"12"`` or ``"7.5"``, between ``deposit.ratio_min`` and ``ratio_max``;
* a base (缴存基数) is fen, between ``deposit.base_floor`` and ``deposit.base_cap`` (average wage × multiple);
* each share (单位/个人月缴存额) is base × ratio, rounded as ``deposit.share_rounding`` says: ``yuan_half_up``
  (whole yuan, half up) or ``fen``; the month's deposit is the two shares added;
* a roster (汇缴清册/补缴清册) credits an employee's months in order: a line is due only when its month is the
  first one the account has not paid (:func:`due_run`);
* roster lines are paid in batches that fit one DynamoDB transaction (:func:`batches`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from chalicelib import money
from chalicelib.fields import parse_percent
from chalicelib.policy import Deposit
from chalicelib.rules import periods

T = TypeVar("T")


def parse_ratio(value: str | Decimal) -> Decimal:
    """``"12"`` → Decimal("12"): the percent field rule (``fields.parse_percent``) with at most two decimals."""
    return parse_percent(value, places=2, what="缴存比例")


def ratio_text(ratio: Decimal) -> str:
    """The stored form: ``Decimal("12.0")`` → ``"12"``, ``Decimal("7.50")`` → ``"7.5"``."""
    return format(ratio.normalize(), "f")


def ratio_problem(ratio: Decimal, dep: Deposit) -> str | None:
    if not dep.ratio_min <= ratio <= dep.ratio_max:
        return f"缴存比例须在 {ratio_text(dep.ratio_min)}% 至 {ratio_text(dep.ratio_max)}% 之间"
    return None


def base_problem(base: int, dep: Deposit) -> str | None:
    """Why ``base`` (fen) is outside the city's floor and cap, or None."""
    if base < dep.base_floor:
        return f"缴存基数不能低于 {money.format(dep.base_floor)} 元"
    if base > dep.base_cap:
        return f"缴存基数不能高于 {money.format(dep.base_cap)} 元（上年月平均工资的 {dep.base_cap_multiple} 倍）"
    return None


def share(base: int, ratio: Decimal, rounding: str) -> int:
    """One side's monthly deposit in fen: base × ratio %, rounded as the policy says."""
    exact = Decimal(base) * ratio / 100
    if rounding == "yuan_half_up":
        return int((exact / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100
    if rounding == "fen":
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    raise ValueError(f"unknown share rounding {rounding!r}")


@dataclass(frozen=True)
class Contribution:
    unit_share: int      # 单位月缴存额, fen
    person_share: int    # 个人月缴存额, fen

    @property
    def total(self) -> int:
        return self.unit_share + self.person_share


def contribution(base: int, ratio_unit: Decimal, ratio_person: Decimal, dep: Deposit) -> Contribution:
    return Contribution(unit_share=share(base, ratio_unit, dep.share_rounding),
                        person_share=share(base, ratio_person, dep.share_rounding))


def first_unpaid(paid_through: str | None, opened_on: str) -> str:
    return periods.first_unpaid(paid_through, opened_on)


def due_run(first: str, months: Sequence[str]) -> list[str]:
    """The months of ``months`` (in order) that continue the account from its first unpaid month ``first``
    without a gap. ``due_run("202607", ["202607", "202608"]) == ["202607", "202608"]``;
    a month already paid or after a gap is not due."""
    due: list[str] = []
    expected = first
    for month in months:
        if month != expected:
            break
        due.append(month)
        expected = periods.next_period(month)
    return due


def batches(lines: Sequence[T], account_of, capacity: int) -> list[list[T]]:
    """Cut ``lines`` (sorted by account) into consecutive batches whose accounts plus postings fit
    ``capacity`` transaction items (every line is one posting; each distinct account one more item).
    The same lines always give the same batches, which is what lets a payment resume by batch number."""
    if capacity < 2:
        raise ValueError("a batch needs room for at least one account and one posting")
    out: list[list[T]] = []
    current: list[T] = []
    accounts: set[str] = set()
    for line in lines:
        account = account_of(line)
        extra = 1 if account in accounts else 2
        if current and len(current) + len(accounts) + extra > capacity:
            out.append(current)
            current, accounts = [], set()
            extra = 2
        current.append(line)
        accounts.add(account)
    if current:
        out.append(current)
    return out
