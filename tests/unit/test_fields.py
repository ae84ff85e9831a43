"""The field types of chalicelib/fields.py: Period, Percent, Card (one rule each, used by handlers and the importer).

Sources of the expected values: a period is YYYYMM with a month 01-12 (the 缴存年月 of the center's statements,
e.g. "汇缴201809"); the housing provident fund began in 1991 (Shanghai), so no deposit month is before 1990;
card numbers: 4111 1111 1111 1111 is the card networks' published Visa test number (Luhn-valid), and changing its
last digit breaks the ISO/IEC 7812-1 check.
"""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from chalicelib import fields
from chalicelib.rules import deposits

PERIOD = TypeAdapter(fields.Period)
PERCENT = TypeAdapter(fields.Percent)
CARD = TypeAdapter(fields.Card)


@pytest.mark.parametrize("value", ["202607", "199001", "209912"])
def test_a_period_is_yyyymm(value):
    assert PERIOD.validate_python(value) == value


@pytest.mark.parametrize("value", ["202613", "202600", "20260", "2026-07", "2026071", "１２３４５６", "198912", ""])
def test_what_is_not_a_period_is_refused(value):
    with pytest.raises(ValidationError):
        PERIOD.validate_python(value)


@pytest.mark.parametrize(("value", "stored"), [("12", "12"), ("7.50", "7.5"), ("12.0", "12"), ("3.1", "3.1"),
                                               ("100", "100")])
def test_a_percent_is_stored_in_its_short_form(value, stored):
    assert PERCENT.validate_python(value) == stored


@pytest.mark.parametrize("value", [12, 7.5, "abc", "0", "-1", "100.5", "1.23456", "NaN"])
def test_what_is_not_a_percent_is_refused(value):
    with pytest.raises(ValidationError):
        PERCENT.validate_python(value)


@pytest.mark.parametrize("value", ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111"])
def test_a_card_number_keeps_its_digits(value):
    assert CARD.validate_python(value) == "4111111111111111"


@pytest.mark.parametrize(("value", "reason"), [
    ("4111111111111112", "银行卡号校验未通过，请核对卡号"),
    ("12345", "银行卡号须为12至19位数字"),
    ("４１１１１１１１１１１１１１１１", "银行卡号须为12至19位数字"),     # full-width digits are not read as digits
])
def test_what_is_not_a_card_number_is_refused_with_the_reason(value, reason):
    with pytest.raises(ValidationError) as caught:
        CARD.validate_python(value)
    assert reason in str(caught.value)


def test_the_deposit_ratio_is_the_percent_rule_with_two_decimals():
    assert str(deposits.parse_ratio("7.25")) == "7.25"
    with pytest.raises(ValueError, match="缴存比例最多两位小数"):
        deposits.parse_ratio("7.125")
