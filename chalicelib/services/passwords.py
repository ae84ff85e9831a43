"""Passwords (登录密码): argon2id hashing and the rules a new password must meet.

Hashing: argon2id, t=2, m=19 MiB, p=1 (OWASP's row; ASVS 5.0 Appendix C accepts it). The whole
password is hashed, never truncated (argon2 has no 72-byte limit, unlike bcrypt).

Rules (ASVS 5.0 6.2.x, NIST 800-63B): 8 to 64 characters counted as Unicode code points, any
characters including Chinese, no composition rules, not on the common-password list, and not
containing the holder's ID number or phone.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 64
TIME_COST = 2
MEMORY_KIB = 19 * 1024
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM,
                         hash_len=32, salt_len=16, type=Type.ID)
_COMMON_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a fixed string: verifying against it costs what a real verification costs, so an
    unknown principal answers as slowly as a wrong password (ASVS 6.3.8). Made on first use, off the
    cold start."""
    return _hasher.hash("dummy-password-for-timing-equality")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still spends the time of one verification."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend one verification's time (for principals that do not exist)."""
    verify(None, password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


CONTEXT_WORDS = ("公积金", "gongjijin", "gjj", "住房公积金", "太原")


def password_problem(password: str, *, id_number: str | None = None, phone: str | None = None) -> str | None:
    """Why ``password`` may not be used, or None. Counts code points, as NIST asks."""
    if not isinstance(password, str):
        return "密码格式不正确"
    length = len(password)
    if length < MIN_LENGTH:
        return f"密码至少需要{MIN_LENGTH}个字符"
    if length > MAX_LENGTH:
        return f"密码最多{MAX_LENGTH}个字符"
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in password):
        return "密码不能包含控制字符"
    lowered = password.lower()
    if lowered in common_passwords():
        return "密码过于常见，请换一个更难猜的密码"
    if lowered.rstrip("0123456789!@#._-") in CONTEXT_WORDS:
        return "密码过于常见，请换一个更难猜的密码"
    if id_number and (id_number.lower() in lowered or id_number[-8:].lower() == lowered):
        return "密码不能包含身份证号"
    if phone and phone in password:
        return "密码不能包含手机号"
    if len(set(password)) == 1:
        return "密码过于简单，请换一个更难猜的密码"
    return None
