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


# ---------------------------------------------------------------- names (shown to operators in review screens)

_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
"""Unicode general categories never in a name: controls (CR, LF, NUL, ESC...), format characters (the bidi overrides
U+202A-U+202E and isolates U+2066-U+2069 that reverse what an operator reads, zero-width characters), private-use,
surrogates, unassigned code points, line and paragraph separators."""

PERSON_MARKUP = frozenset("<>&\"'`\\{}")
"""Characters of HTML/script markup: no person's name on an ID card (居民身份证) holds one."""
ORG_MARKUP = frozenset("<>\\`{}")
"""For names of organisations, buildings and projects (which may hold ``&`` or quotes): tags and template braces."""


def _name_problem(value: str, markup: frozenset[str]) -> str | None:
    import unicodedata

    if not value.strip():
        return "名称不能为空"
    for ch in value:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return f"不能包含控制字符或不可见字符（U+{ord(ch):04X}）"
        if ch in markup:
            return f"不能包含字符 {ch}"
    return None


def person_name(value: str) -> str:
    """A person's name (姓名): trimmed; no control, bidi-override, invisible or markup characters."""
    problem = _name_problem(value, PERSON_MARKUP)
    if problem:
        raise ValueError("姓名" + problem.removeprefix("名称"))
    return value.strip()


def org_name(value: str) -> str:
    """A name of a unit, developer, project or building: trimmed; no control, bidi-override, invisible or tag
    characters."""
    problem = _name_problem(value, ORG_MARKUP)
    if problem:
        raise ValueError(problem)
    return value.strip()


PersonName = Annotated[str, AfterValidator(person_name)]
"""A person's name: every name field of a person (registration, employees, buyers, openings, contacts, import)."""

OrgName = Annotated[str, AfterValidator(org_name)]
"""A name of an organisation or place shown to operators."""
