"""Identity numbers: citizen ID (GB 11643, 公民身份号码), Chinese mobile numbers, bank cards (Luhn)."""

from __future__ import annotations

import datetime as dt
import re

from stdnum import luhn
from stdnum.cn import ric

_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def normalize_id_number(value: str) -> str:
    return value.strip().upper()


def id_number_problem(value: str, *, today: dt.date | None = None) -> str | None:
    """Why ``value`` is not a valid 18-character citizen ID number, or None when it is.

    Checks the shape, the ISO 7064 MOD 11-2 check character and a real, non-future birth date.
    The region code is deliberately not checked against a table: real numbers carry codes assigned
    after the holder's birth year (e.g. 140105 for a person born in 1985), and the center's records
    are the authority on who exists.
    """
    value = normalize_id_number(value)
    if not _ID_SHAPE.match(value):
        return "身份证号须为18位，最后一位可以是数字或X"
    if value[0] not in "12345678":
        return "身份证号的地区码无效"
    if ric.calc_check_digit(value[:17]) != value[17]:
        return "身份证号校验位不正确"
    try:
        birth = ric.get_birth_date(value)
    except Exception:
        return "身份证号中的出生日期无效"
    if birth.year < 1900 or (today is not None and birth > today):
        return "身份证号中的出生日期无效"
    return None


def is_valid_id_number(value: str, *, today: dt.date | None = None) -> bool:
    return id_number_problem(value, today=today) is None


def birth_date(value: str) -> dt.date:
    return ric.get_birth_date(normalize_id_number(value))


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid ID number (demo data and tests): 6-digit region, birth date, 3-digit sequence."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body)


_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(value: str) -> str:
    value = value.strip().replace(" ", "").replace("-", "")
    if value.startswith("+86"):
        value = value[3:]
    return value


def phone_problem(value: str) -> str | None:
    """Why ``value`` is not a Chinese mobile number (11 digits, 1[3-9]…), or None."""
    import phonenumbers  # lazy: ~20 ms of import time kept off the cold path

    value = normalize_phone(value)
    if not _PHONE_RE.match(value):
        return "手机号须为11位中国大陆手机号码"
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return "手机号须为11位中国大陆手机号码"
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return "手机号须为11位中国大陆手机号码"
    return None


def card_problem(value: str) -> str | None:
    """Why ``value`` is not a plausible bank card number (12-19 digits, Luhn), or None."""
    value = value.strip().replace(" ", "")
    if not re.fullmatch(r"\d{12,19}", value):
        return "银行卡号须为12至19位数字"
    if not luhn.is_valid(value):
        return "银行卡号校验不正确，请核对"
    return None
