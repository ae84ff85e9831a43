"""Identity numbers (身份号码): citizen ID (公民身份号码, GB 11643-1999), Chinese mobile numbers, bank cards (Luhn).

The one place where an ID number or a phone is judged. Every entry point (registration, login, flexible opening,
unit employee registration, developer loan applications, ``gjj import``, the leak scanner's notion of "a real ID
number") goes through :func:`id_number_problem` / :func:`phone_problem`, usually via the field types in
``chalicelib/fields.py``.

Input is normalised before it is judged: Unicode NFKC (so an ideographic space or a full-width ``Ｘ`` is seen for
what it is), surrounding whitespace dropped, ``x`` upper-cased. What remains must be ASCII digits (and ``X`` as the
check character): a full-width or other non-ASCII digit (``1４0105…``) is refused with a message saying so, never
silently read as another number.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# GB 11643-1999 §4-§5: ISO 7064 MOD 11-2. Weight of position i (1-based, left to right) is 2**(18-i) mod 11; the
# check character is 10X98765432[sum mod 11].
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
NON_ASCII_ID = "身份证号只能包含半角数字和X，请切换到半角（英文）输入后重新填写"
NON_ASCII_PHONE = "手机号只能包含半角数字，请切换到半角（英文）输入后重新填写"


def normalize_id_number(value: str) -> str:
    """The canonical form of an entered ID number: surrounding whitespace dropped, ``x`` → ``X``.

    Characters are not converted: a full-width digit stays what it is, so :func:`id_number_problem` refuses it.
    """
    return value.strip().upper()


def _non_ascii_digits(value: str) -> bool:
    """True when the input, once NFKC-normalised and stripped, still differs from its ASCII reading: a full-width
    digit or letter (``４`` U+FF14, ``Ｘ``), another script's digit (``٤``) or any other non-ASCII character."""
    text = unicodedata.normalize("NFKC", value).strip()
    return text != value.strip() or not text.isascii()


def id_check_character(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits."""
    if len(first17) != 17 or not _ASCII_DIGITS.fullmatch(first17):
        raise ValueError("the check character is computed from exactly 17 ASCII digits")
    return ID_CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str, *, today: dt.date | None = None) -> str | None:
    """Why ``value`` is not a valid 18-character citizen ID number, or None when it is.

    Checks: ASCII only; the shape (17 digits and a digit or X); the GB 11643-1999 check character computed from the
    first 17 digits; the birth-date part (positions 7-14) a real date from 1900 on and, given ``today``, not in the
    future. The region code is deliberately not checked against a table: real numbers carry codes assigned after the
    holder's birth year (e.g. 140105 for a person born in 1985), and the center's records are the authority on who
    exists.
    """
    if _non_ascii_digits(value):
        return NON_ASCII_ID
    value = normalize_id_number(value)
    if not _ID_SHAPE.fullmatch(value):
        return "身份证号须为18位，最后一位可以是数字或X"
    if value[0] not in "12345678":
        return "身份证号的地区码无效"
    if id_check_character(value[:17]) != value[17]:
        return "身份证号校验位不正确"
    try:
        birth = birth_date(value)
    except ValueError:
        return "身份证号中的出生日期无效"
    if birth.year < 1900 or (today is not None and birth > today):
        return "身份证号中的出生日期无效"
    return None


def is_valid_id_number(value: str, *, today: dt.date | None = None) -> bool:
    return id_number_problem(value, today=today) is None


def birth_date(value: str) -> dt.date:
    """The birth date written in positions 7-14 (YYYYMMDD); ValueError when it is no date."""
    value = normalize_id_number(value)
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def is_male(value: str) -> bool:
    """GB 11643-1999 §4.3: the sequence code (positions 15-17) is odd for men, even for women."""
    return int(normalize_id_number(value)[16]) % 2 == 1


_PHONE_RE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)


def normalize_phone(value: str) -> str:
    value = value.strip().replace(" ", "").replace("-", "")
    if value.startswith("+86"):
        value = value[3:]
    return value


def phone_problem(value: str) -> str | None:
    """Why ``value`` is not a Chinese mobile number (11 ASCII digits, 1[3-9]…), or None."""
    import phonenumbers  # lazy: ~20 ms of import time kept off the cold path

    if _non_ascii_digits(value):
        return NON_ASCII_PHONE
    value = normalize_phone(value)
    if not _PHONE_RE.fullmatch(value):
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


def normalize_card_no(value: str) -> str:
    """Digits only: the spaces and dashes people type in a card number are dropped."""
    return re.sub(r"[\s-]", "", value or "")


def card_problem(value: str) -> str | None:
    """Why ``value`` is not a plausible bank card number (12-19 ASCII digits once spaces and dashes are dropped,
    Luhn), or None. The one card rule: binding a card, a developer's loan repayment account, ``gjj import``."""
    value = normalize_card_no(value)
    if not value.isascii() or not re.fullmatch(r"[0-9]{12,19}", value):
        return "银行卡号须为12至19位数字"
    if not luhn_valid(value):
        return "银行卡号校验未通过，请核对卡号"
    return None


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B (Luhn): from the right, every second digit doubled (minus 9 above 9); the sum ends in 0.
    Written here rather than imported: python-stdnum's package import costs a cold start about 30 ms."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
