"""公民身份号码 (GB 11643-1999): known answers from outside the code, and an independent implementation in this file.

Sources:
* GB 11643-1999 §8 (示例): ``11010519491231002X`` — a woman born 1949-12-31 in 北京市朝阳区.
* python-stdnum's ``stdnum.cn.ric`` module doctest: ``360426199101010071``.
* ISO 7064 MOD 11-2, the check-character system GB 11643 names, written below in its recursive form
  (P := ((P + digit) × 2) mod 11; check = (12 − P) mod 11, 10 written X), which is a different computation from the
  weight table the rule uses, so a shared mistake is unlikely.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from stdnum.cn import ric

from chalicelib.rules import identity

STANDARD_EXAMPLE = "11010519491231002X"
STDNUM_DOCTEST = "360426199101010071"


def iso7064_mod11_2(first17: str) -> str:
    p = 0
    for digit in first17:
        p = ((p + int(digit)) * 2) % 11
    check = (12 - p) % 11
    return "X" if check == 10 else str(check)


def _random_body(rng: random.Random) -> str:
    birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 90))
    region = f"{rng.choice('12345678')}{rng.randrange(0, 100000):05d}"
    return f"{region}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"


# A table of 300 numbers computed here, seeded so a failure names the same number every run.
TABLE = [(body, iso7064_mod11_2(body)) for body in (_random_body(random.Random(11643 + i)) for i in range(300))]


@pytest.mark.parametrize("number", [STANDARD_EXAMPLE, STANDARD_EXAMPLE.lower(), STDNUM_DOCTEST])
def test_published_numbers_are_valid(number):
    assert identity.id_number_problem(number) is None


def test_the_in_file_implementation_agrees_with_the_published_numbers():
    assert iso7064_mod11_2(STANDARD_EXAMPLE[:17]) == "X"
    assert iso7064_mod11_2(STDNUM_DOCTEST[:17]) == "1"


def test_python_stdnum_used_as_documented_agrees_with_the_table():
    """stdnum's calc_check_digit takes the whole number (and drops its last character itself)."""
    for body, check in TABLE[:50]:
        assert ric.calc_check_digit(body + check) == check


@pytest.mark.parametrize("body, check", TABLE)
def test_the_right_check_character_passes_and_every_other_is_refused(body, check):
    assert identity.id_check_character(body) == check
    assert identity.id_number_problem(body + check) is None
    for other in "0123456789X":
        if other != check:
            assert identity.id_number_problem(body + other) == "身份证号校验位不正确"


def test_one_number_in_eleven_is_not_what_a_16_digit_check_would_accept():
    """The bug this pins: a check computed from 16 digits refuses about 10 of 11 real numbers."""
    wrong = sum(1 for body, check in TABLE if ric.calc_check_digit(body) != check)
    assert wrong > len(TABLE) * 0.8
    assert all(identity.is_valid_id_number(body + check) for body, check in TABLE)


@pytest.mark.parametrize("value", [
    "1\uff140105198503120114",          # a full-width ４
    "\uff11\uff14\uff10\uff11\uff10\uff15198503120114",   # full-width 14010 5
    "1401051985031201\u0661\u0664",     # Arabic-Indic digits
    "11010519491231002\uff38",          # a full-width Ｘ
    "140105198503120114\u200b",         # a zero-width space
])
def test_non_ascii_digits_are_refused_with_a_message_that_says_so(value):
    assert identity.id_number_problem(value) == identity.NON_ASCII_ID


def test_surrounding_whitespace_and_a_lower_case_x_are_normalised():
    assert identity.id_number_problem(f"  {STANDARD_EXAMPLE.lower()} \u3000") is None
    assert identity.normalize_id_number(f" {STANDARD_EXAMPLE.lower()} ") == STANDARD_EXAMPLE


@pytest.mark.parametrize("birth, reason", [
    ("19850230", "30 February"),
    ("19851301", "month 13"),
    ("18991231", "before 1900"),
])
def test_the_birth_date_part_must_be_a_real_date(birth, reason):
    body = f"140105{birth}011"
    assert identity.id_number_problem(body + iso7064_mod11_2(body)) == "身份证号中的出生日期无效", reason


def test_a_birth_date_after_today_is_refused():
    body = "14010520270101011"
    number = body + iso7064_mod11_2(body)
    assert identity.id_number_problem(number, today=dt.date(2026, 12, 1)) == "身份证号中的出生日期无效"
    assert identity.id_number_problem(number, today=dt.date(2027, 1, 1)) is None


def test_sex_is_the_parity_of_the_sequence_code():
    """GB 11643-1999 §4.3: 顺序码的奇数分配给男性，偶数分配给女性. The standard's example (…002X) is a woman."""
    assert identity.is_male(STANDARD_EXAMPLE) is False
    assert identity.is_male(STDNUM_DOCTEST) is True        # sequence 007
    assert identity.birth_date(STANDARD_EXAMPLE) == dt.date(1949, 12, 31)


@pytest.mark.parametrize("value, ok", [
    ("13800000001", True), ("+86 138-0000-0001", True),
    ("1\uff13800000001", False), ("138000000\u0660\u0661", False), ("12800000001", False),
])
def test_phones_are_ascii_mainland_mobiles(value, ok):
    problem = identity.phone_problem(value)
    assert (problem is None) is ok
    if "\uff13" in value or "\u0660" in value:
        assert problem == identity.NON_ASCII_PHONE


def test_luhn_agrees_with_python_stdnum_on_every_check_digit():
    """The card check (ISO/IEC 7812-1 Annex B) against python-stdnum's luhn, an implementation from outside the code."""
    from stdnum import luhn

    rng = random.Random(7812)
    for _ in range(200):
        body = "".join(str(rng.randrange(10)) for _ in range(rng.randrange(11, 18)))
        for d in "0123456789":
            assert identity.luhn_valid(body + d) is luhn.is_valid(body + d)
    assert identity.luhn_valid("4111111111111111") and not identity.luhn_valid("4111111111111112")
