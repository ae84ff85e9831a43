"""Money: integer fen inside, decimal strings with exactly two places on the wire. Never float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_MONEY_RE = re.compile(r"^(-?)(\d{1,13})\.(\d{2})$")
MONEY_PATTERN = r"^\d{1,13}\.\d{2}$"
SIGNED_MONEY_PATTERN = r"^-?\d{1,13}\.\d{2}$"


def parse(text: Any, *, allow_negative: bool = False) -> int:
    """Parse ``"2126.00"`` into 212600 fen; anything else (floats, ints, "1.5") is refused."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError('金额须为带两位小数的字符串，如 "2126.00"')
    match = _MONEY_RE.match(text)
    if not match:
        raise ValueError('金额须为带两位小数的字符串，如 "2126.00"')
    sign, yuan, fen = match.groups()
    if sign and not allow_negative:
        raise ValueError("金额不能为负数")
    value = int(yuan) * 100 + int(fen)
    return -value if sign else value


def format(fen: int) -> str:  # noqa: A001 - the module's own vocabulary: money.format
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"money is held as integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def to_decimal(fen: int) -> Decimal:
    return Decimal(fen) / 100


def from_decimal_yuan(amount: Decimal) -> int:
    """Round a Decimal amount of yuan half-up to whole fen."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_to_yuan(fen: int) -> int:
    """Round fen half-up to whole yuan (deposit shares are whole yuan in many cities)."""
    return int((Decimal(fen) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100


def _parse_unsigned(value: Any) -> Any:
    return parse(value)


def _parse_signed(value: Any) -> Any:
    return parse(value, allow_negative=True)


Money = Annotated[
    int,
    BeforeValidator(_parse_unsigned),
    PlainSerializer(format, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["2126.00"]}),
]
"""A non-negative amount: ``"2126.00"`` on the wire, 212600 (fen) in Python."""

SignedMoney = Annotated[
    int,
    BeforeValidator(_parse_signed),
    PlainSerializer(format, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": SIGNED_MONEY_PATTERN, "examples": ["-12.50"]}),
]

MoneyOut = Annotated[
    int,
    PlainSerializer(format, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": SIGNED_MONEY_PATTERN, "examples": ["2126.00"]}),
]
"""For response models built from stored fen: no parsing, only the string form."""
