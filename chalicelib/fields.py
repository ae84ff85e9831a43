"""Field types (字段类型): one pydantic type per business value, used by handlers, the importer, services and rules.

Every value a request or an imported record carries is judged here, once:

* ``IdNumber`` (公民身份号码) and ``Mobile`` (手机号码) apply the one rule in ``chalicelib/rules/identity.py``; an ID
  number's birth date must not lie after today's date on the stage clock;
* ``Card`` (银行卡号): 12-19 digits with the Luhn check (``identity.card_problem``), spaces and dashes dropped;
* ``Period`` (缴存年月, ``YYYYMM``): the bounds of ``rules.periods.parse_period`` (1990-2200);
* ``Percent`` (比例/利率, ``"12"``, ``"7.5"``): :func:`parse_percent`; a deposit ratio (缴存比例) is a percent with at
  most two decimals (``rules.deposits.parse_ratio``);
* ``Money`` / ``SignedMoney`` / ``MoneyOut``: re-exported from ``chalicelib/money.py`` (integer fen inside, two-decimal
  strings on the wire);
* ``PersonName`` / ``OrgName``: names shown to operators;
* ``CreditCode`` (统一社会信用代码), ``BankAccountNo`` (单位银行账号), ``Code`` (unit_no, developer_no…), ``RecordKey``
  (keys of center records), ``SmsCode``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

from chalicelib import clock
from chalicelib.money import Money, MoneyOut, SignedMoney
from chalicelib.rules import identity, periods

__all__ = ["BankAccountNo", "Card", "Code", "CreditCode", "IdNumber", "Mobile", "Money", "MoneyOut", "OrgName",
           "Percent", "Period", "PersonName", "RecordKey", "SignedMoney", "SmsCode", "card", "id_number", "mobile",
           "org_name", "parse_percent", "percent", "period", "person_name"]


def _judged(problem: str | None, canonical: str) -> str:
    """``canonical`` when the rule found no problem; else ValueError with the reason (pydantic reports it)."""
    if problem:
        raise ValueError(problem)
    return canonical


def id_number(value: str) -> str:
    """The canonical ID number, or ValueError with the reason a citizen understands."""
    return _judged(identity.id_number_problem(value, today=clock.today()), identity.normalize_id_number(value))


def mobile(value: str) -> str:
    """The canonical 11-digit mobile number, or ValueError with the reason."""
    return _judged(identity.phone_problem(value), identity.normalize_phone(value))


IdNumber = Annotated[str, AfterValidator(id_number), WithJsonSchema(
    {"type": "string", "minLength": 18, "maxLength": 18, "pattern": "^[0-9]{17}[0-9Xx]$",
     "description": "公民身份号码 (GB 11643-1999), ASCII digits and X"})]
"""An 18-character citizen ID number: ASCII only, GB 11643 check character, a real birth date not in the future."""

Mobile = Annotated[str, AfterValidator(mobile), WithJsonSchema(
    {"type": "string", "minLength": 11, "maxLength": 20, "pattern": "^1[3-9][0-9]{9}$",
     "description": "中国大陆手机号码, ASCII digits"})]
"""A mainland mobile number, 11 ASCII digits (``+86``, spaces and hyphens dropped)."""


def card(value: str) -> str:
    """The canonical bank card number (digits only), or ValueError with the reason."""
    return _judged(identity.card_problem(value), identity.normalize_card_no(value))


Card = Annotated[str, AfterValidator(card), WithJsonSchema(
    {"type": "string", "minLength": 12, "maxLength": 32,
     "description": "银行卡号: 12-19 digits passing the Luhn check; spaces and dashes dropped"})]
"""A bank card number (银行卡号): 12-19 ASCII digits passing the Luhn check; spaces and dashes people type dropped."""


def period(value: str) -> str:
    """A deposit period (缴存年月) ``YYYYMM``, within ``rules.periods.parse_period``'s bounds; else ValueError."""
    periods.parse_period(value)
    return value


Period = Annotated[str, AfterValidator(period), WithJsonSchema(
    {"type": "string", "pattern": "^[0-9]{4}(0[1-9]|1[0-2])$", "description": "缴存年月 YYYYMM"})]
"""A deposit period (缴存年月), ``YYYYMM``."""

_PLACES = {2: "两", 4: "四"}


def parse_percent(value: str | Decimal, *, places: int = 4, what: str = "比例") -> Decimal:
    """``"12"`` → Decimal("12"): a percent given as a string (or Decimal), never a JSON number (a float would lose
    digits); finite; at most ``places`` decimals. ``what`` names the value in the reason (e.g. 缴存比例)."""
    if isinstance(value, bool) or not isinstance(value, (str, Decimal)):
        raise ValueError(f'{what}须为字符串，如 "12"')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f'{what}须为数字，如 "12"') from None
    if not number.is_finite() or number.as_tuple().exponent < -places:
        raise ValueError(f"{what}最多{_PLACES.get(places, places)}位小数")
    return number


def percent(value: str) -> str:
    """A percent above 0 and at most 100, in its stored form (``"12.0"`` → ``"12"``); else ValueError."""
    number = parse_percent(value)
    if number <= 0 or number > 100:
        raise ValueError("比例须在0到100之间（百分数）")
    return format(number.normalize(), "f")


Percent = Annotated[str, AfterValidator(percent)]
"""A percent string (缴存比例, 年利率): ``"12"``, ``"7.5"``, ``"3.1"``; above 0, at most 100, at most four decimals."""

CreditCode = Annotated[str, Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="统一社会信用代码 (GB 32100-2015)")]
"""A unified social credit code (统一社会信用代码): 18 characters of the GB 32100 alphabet (no I, O, Z, S, V)."""

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
"""A number the center gives a unit, developer, project, building or employee account (unit_no, developer_no,
project_no, building_no; a unit's employee account_no): 1-32 ASCII letters, digits, ``_`` and ``-``."""

RecordKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w\-]+$")]
"""A key of a center record (account_no, contract_no, serial_no, branch_id… in ``gjj import`` and a citizen's
account_no): 1-64 word characters and ``-``."""

SmsCode = Annotated[str, Field(min_length=1, max_length=16)]
"""What a person typed as the SMS code (短信验证码): only bounded here; whether it is the code sent is
``services.sms_codes``' to say (``SMS_CODE_INVALID``, counted against the phone's attempts)."""

BankAccountNo = Annotated[str, Field(pattern=r"^\d{13,19}$", description="bank account number, 13-19 digits")]
"""A unit's bank account number (单位银行账号, not a card: no Luhn check): 13-19 digits."""


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
