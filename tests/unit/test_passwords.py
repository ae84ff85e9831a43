"""Password rules and hashing (checklist rows 1-4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.services import passwords


@pytest.mark.parametrize("password, ok", [
    ("k7m2q9w", False),                 # 7
    ("k7m2q9w4", True),                 # 8
    ("密码" * 4, True),                  # 8 Chinese characters
    ("春眠不觉晓处处闻啼鸟" * 6 + "夜来风雨", True),   # 64 CJK code points = 192 UTF-8 bytes
    ("abcdefghij" * 6 + "klmn", True),  # 64
    ("abcdefghij" * 6 + "klmno", False),  # 65
    ("x" * 129, False),
])
def test_length_is_counted_in_characters_8_to_64(password, ok):
    assert (passwords.password_problem(password) is None) is ok


@pytest.mark.parametrize("password", ["password", "12345678", "qwertyuiop", "iloveyou", "woaini1314", "1qaz2wsx",
                                      "PASSWORD", "gongjijin123", "公积金123", "Gongjijin2024", "gjj123456",
                                      "aaaaaaaa"])
def test_common_and_context_passwords_are_refused(password):
    assert passwords.password_problem(password)


def test_the_common_list_holds_at_least_the_top_3000():
    assert len(passwords.common_passwords()) >= 3000


def test_the_id_number_and_phone_may_not_be_in_the_password():
    assert passwords.password_problem("pw140105198506150617", id_number="140105198506150617")
    assert passwords.password_problem("x13912345678y", phone="13912345678")
    assert passwords.password_problem("a sensible phrase", id_number="140105198506150617",
                                      phone="13912345678") is None


def test_control_characters_are_refused():
    assert passwords.password_problem("abc\x00defgh")


def test_hash_is_argon2id_at_or_above_the_asvs_row():
    stored = passwords.hash_password("a sensible phrase")
    m, t, p = map(int, re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$.+", stored).groups())
    assert (t >= 2 and m >= 19 * 1024 or t == 1 and m >= 46 * 1024 or t >= 3 and m >= 12 * 1024) and p == 1


def test_no_truncation_a_long_password_differs_from_its_first_72_bytes():
    long_one = "长密码" * 21 + "x"          # 64 characters, 190 bytes
    stored = passwords.hash_password(long_one)
    assert passwords.verify(stored, long_one)
    assert not passwords.verify(stored, long_one.encode()[:72].decode("utf-8", errors="ignore"))
    assert not passwords.verify(stored, long_one[:-1])


def test_verify_with_no_hash_is_false():
    assert passwords.verify(None, "anything-at-all") is False
    assert passwords.verify("not a hash", "anything-at-all") is False


@settings(max_examples=25, deadline=None)
# no control characters in the alphabet (the rule refuses them): drawn from all of text, most draws were refused and
# Hypothesis's filter_too_much health check failed the test on some seeds
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=8, max_size=64)
       .filter(lambda s: passwords.password_problem(s) is None))
def test_any_accepted_password_verifies_exactly(password):
    stored = passwords.hash_password(password)
    assert passwords.verify(stored, password)
    assert not passwords.verify(stored, password + "x")
