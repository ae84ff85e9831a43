"""Masking of ID numbers, phones and bank cards (CONTRACT section 2), in one place.

Responses and log lines use these; full values leave the server only to their owner in a step-up flow.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def id_number(value: str | None) -> str | None:
    """``140105198501011234`` → ``140105********1234`` (first 6, last 4)."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def phone(value: str | None) -> str | None:
    """``13812345678`` → ``138****5678`` (first 3, last 4)."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def card(value: str | None) -> str | None:
    """``6222021234567890123`` → ``622202*********0123`` (first 6, last 4)."""
    return id_number(value)


_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_CARD_RE = re.compile(r"(?<!\d)(\d{6})(\d{3,9})(\d{4})(?!\d)")


def scrub(text: str) -> str:
    """Mask every ID number, phone and card number that appears in free text (log lines)."""
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)
    text = _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    text = _CARD_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return text


MaskedId = Annotated[str, PlainSerializer(id_number, return_type=str),
                     WithJsonSchema({"type": "string", "examples": ["140105********1234"]})]
MaskedPhone = Annotated[str, PlainSerializer(phone, return_type=str),
                        WithJsonSchema({"type": "string", "examples": ["138****5678"]})]
MaskedCard = Annotated[str, PlainSerializer(card, return_type=str),
                       WithJsonSchema({"type": "string", "examples": ["622202*********0123"]})]


def name(value: str | None) -> str | None:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``: the family name's first character only (public checks)."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"
