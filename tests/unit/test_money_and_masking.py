import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import masking, money


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_format_then_parse_is_the_identity(fen):
    text = money.format(fen)
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2
    assert money.parse(text) == fen


@given(st.integers(min_value=-(10**15) + 1, max_value=-1))
def test_negative_amounts_need_allow_negative(fen):
    with pytest.raises(ValueError):
        money.parse(money.format(fen))
    assert money.parse(money.format(fen), allow_negative=True) == fen


@pytest.mark.parametrize("bad", [12.5, 12, "12", "12.5", "12.500", "1e3", " 1.00", "1,000.00", True, None, "0x10.00"])
def test_anything_but_a_two_place_string_is_refused(bad):
    with pytest.raises(ValueError):
        money.parse(bad)


def test_format_refuses_floats():
    with pytest.raises(TypeError):
        money.format(1.5)


@pytest.mark.parametrize("fen, yuan", [(212649, 212600), (212650, 212700), (50, 100), (49, 0)])
def test_round_to_yuan_is_half_up(fen, yuan):
    assert money.round_to_yuan(fen) == yuan


def test_masks_follow_the_contract():
    assert masking.id_number("140105198501011234") == "140105********1234"
    assert masking.phone("13812345678") == "138****5678"
    assert masking.card("6222021234567890123") == "622202*********0123"


def test_scrub_masks_identifiers_inside_free_text():
    line = "login 140105198501011234 from 13812345678 card 6222021234567890123 amount 2126.00"
    out = masking.scrub(line)
    assert "140105198501011234" not in out and "13812345678" not in out and "6222021234567890123" not in out
    assert "140105********1234" in out and "138****5678" in out and "2126.00" in out


def test_validation_reasons_are_chinese_for_pydantics_own_checks():
    """A citizen reads these: pydantic's English ("String should have at least 1 character") never reaches them."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from chalicelib import errors

    class Form(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str = Field(min_length=1, max_length=4)
        term: int = Field(ge=12, le=360)
        method: Literal["equal_installment", "equal_principal"]
        day: "dt.date"

    import datetime as dt  # noqa: F401  (the annotation above)

    Form.model_rebuild(_types_namespace={"dt": dt})
    try:
        Form.model_validate({"name": "", "term": 6, "method": "balloon", "day": "2026-13-01", "x": 1})
    except ValidationError as exc:
        fields = errors.validation_details(exc)["fields"]
    assert fields == {"name": "至少 1 个字符", "term": "不能小于 12",
                      "method": "须为以下之一：'equal_installment'、'equal_principal'",
                      "day": "日期格式须为 YYYY-MM-DD", "x": "不允许的字段"}
