"""Field types (字段类型): one pydantic type per business value, used by handlers, the importer and services.

``IdNumber`` (公民身份号码) and ``Mobile`` (手机号码) apply the one rule in ``chalicelib/rules/identity.py``; an ID
number's birth date must not lie after today's date on the stage clock. Money types live in ``chalicelib/money.py``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from chalicelib import clock
from chalicelib.rules import identity


def id_number(value: str) -> str:
    """The canonical ID number, or ValueError with the reason a citizen understands."""
    problem = identity.id_number_problem(value, today=clock.today())
    if problem:
        raise ValueError(problem)
    return identity.normalize_id_number(value)


def mobile(value: str) -> str:
    """The canonical 11-digit mobile number, or ValueError with the reason."""
    problem = identity.phone_problem(value)
    if problem:
        raise ValueError(problem)
    return identity.normalize_phone(value)


IdNumber = Annotated[str, AfterValidator(id_number), WithJsonSchema(
    {"type": "string", "minLength": 18, "maxLength": 18, "pattern": "^[0-9]{17}[0-9Xx]$",
     "description": "公民身份号码 (GB 11643-1999), ASCII digits and X"})]
"""An 18-character citizen ID number: ASCII only, GB 11643 check character, a real birth date not in the future."""

Mobile = Annotated[str, AfterValidator(mobile), WithJsonSchema(
    {"type": "string", "minLength": 11, "maxLength": 20, "pattern": "^1[3-9][0-9]{9}$",
     "description": "中国大陆手机号码, ASCII digits"})]
"""A mainland mobile number, 11 ASCII digits (``+86``, spaces and hyphens dropped)."""
