"""Registration (用户注册) and finding users: who a principal is, and whether a person may register.

A person may register when name, ID number and phone match the center's records (a person with an
account) and that phone came from the center or was proven by the person: a phone a unit typed when it
registered a person the center did not know (``Person.phone_source == "unit"``) is not proof of who is
registering, because the unit may hold it (issue 17 item 1); the person confirms it at a branch first.
One user per ID number, one per phone, one per Alipay user: each is claimed in the ``state``
table in the same transaction that writes the user, so two racing registrations cannot both win.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import errors
from chalicelib.http import auth
from chalicelib.rules.identity import id_number_problem, normalize_id_number, normalize_phone, phone_problem
from chalicelib.services import audit, passwords, sms_codes
from chalicelib.store import base
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem
from chalicelib.store.people import Person
from chalicelib.store.users import User

PHONE_NOT_PROVEN = ("您在公积金中心登记的手机号由单位代为登记，尚未经本人核实，暂不能用于网上注册。"
                    "请携带身份证到公积金中心任一网点核实手机号后再注册")
NOT_IN_RECORDS = ("您填写的姓名、身份证号或手机号与公积金中心登记的信息不一致（或尚未开立公积金账户），"
                  "请携带身份证到公积金中心任一网点核实更正后再注册")


def claim_key(kind: str, value: str) -> str:
    return f"claim#{kind}#{value}"


def user_by_id_number(id_number: str):
    id_number = normalize_id_number(id_number or "")
    if not id_number:
        return None
    found = list(User.id_number_index.query(id_number, limit=1))
    return found[0] if found else None


def users_by_id_numbers(id_numbers: Iterable[str]) -> dict[str, User]:
    """The registered users of many ID numbers at once (batch jobs, a roster's employees), by ID number.

    Users are keyed by an opaque id, and ``id-number-index`` is a GSI, which BatchGetItem cannot read; but every
    user's ID number is claimed in the ``state`` table (``claim#id#<id_number>`` → user id, written in the
    transaction that writes the user, :func:`create_user`). So: the claims, then the users, each a BatchGetItem of
    up to 100 keys (PynamoDB pages them): the calls grow with the hundreds of people, not with each one
    (issue 18). A person without a claim has no user and is left out."""
    wanted = list(dict.fromkeys(n for n in id_numbers if n))
    if not wanted:
        return {}
    claims = StateItem.batch_get([(claim_key("id", n), "-") for n in wanted])
    user_ids = list(dict.fromkeys(c.value for c in claims if c.value))
    if not user_ids:
        return {}
    asked = set(wanted)
    return {u.id_number: u for u in User.batch_get(user_ids) if u.id_number in asked}


def user_by_phone(phone: str):
    phone = normalize_phone(phone or "")
    if not phone:
        return None
    found = list(User.phone_index.query(phone, limit=1))
    return found[0] if found else None


def user_by_id(user_id: str):
    if not user_id:
        return None
    try:
        return User.get(user_id)
    except User.DoesNotExist:
        return None


def user_by_principal(principal: str):
    """A principal is an ID number or a phone."""
    value = principal.strip()
    phone = normalize_phone(value)
    if len(phone) == 11 and phone.isdigit():
        return user_by_phone(phone)
    if len(value) == 18:
        return user_by_id_number(value)
    return None


def current_user(user_id: str):
    user = user_by_id(user_id)
    if user is None:
        raise errors.Unauthenticated("登录已失效，请重新登录")
    return user


def person_in_records(id_number: str):
    """The person in the center's records who has an account, or None."""

    id_number = normalize_id_number(id_number or "")
    if not id_number:
        return None
    try:
        person = Person.get(id_number)
    except Person.DoesNotExist:
        return None
    if not list(Account.person_index.query(person.id_number, limit=1)):
        return None
    return person


def matches_records(name: str, id_number: str, phone: str | None):
    person = person_in_records(id_number)
    if person is None or person.name.strip() != name.strip():
        return None
    if phone is not None and normalize_phone(person.phone) != normalize_phone(phone):
        return None
    return person


def phone_trusted(person) -> bool:
    """The person's phone on record came from the center or was proven by the person (not typed by a unit)."""
    return getattr(person, "phone_source", None) != "unit"


def check_id_number(value: str, *, now: datetime, field: str = "id_number") -> str:
    value = normalize_id_number(value)
    problem = id_number_problem(value, today=now.date())
    if problem:
        raise errors.ValidationFailed.field(field, problem)
    return value


def check_phone(value: str, *, field: str = "phone") -> str:
    problem = phone_problem(value)
    if problem:
        raise errors.ValidationFailed.field(field, problem)
    return normalize_phone(value)


def check_password(value: str, *, id_number: str | None, phone: str | None, field: str = "password") -> None:
    problem = passwords.password_problem(value, id_number=id_number, phone=phone)
    if problem:
        raise errors.ValidationFailed.field(field, problem)


def create_user(*, id_number: str, phone: str, now: datetime, password: str | None = None,
                query_password: str | None = None, alipay_user_id: str | None = None):
    """Write a user with its claims in one transaction; 409 when the ID number or phone is taken."""

    user = User(user_id="u" + secrets.token_hex(8), id_number=id_number, phone=phone,
                password_hash=passwords.hash_password(password) if password else None,
                query_password_hash=passwords.hash_password(query_password) if query_password else None,
                sms_subscribed=False, created_at=now, alipay_user_id=alipay_user_id)
    claims = [StateItem(pk=claim_key("id", id_number), sk="-", value=user.user_id),
              StateItem(pk=claim_key("phone", phone), sk="-", value=user.user_id)]
    if alipay_user_id:
        claims.append(StateItem(pk=claim_key("alipay", alipay_user_id), sk="-", value=user.user_id))
    try:
        with TransactWrite(connection=base.connection()) as tx:
            for claim in claims:
                tx.save(claim, condition=StateItem.pk.does_not_exist())
            tx.save(user, condition=User.user_id.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed" and reasons[0] != "ConditionalCheckFailed":
            raise errors.Conflict("该手机号已被其他用户使用，请更换手机号") from None
        raise errors.Conflict("该身份证号已注册，请直接登录或通过找回密码重置密码") from None
    return user


def register(*, name: str, id_number: str, phone: str, password: str, query_password: str | None,
             sms_code: str, now: datetime, source: str = "") -> str:
    """Register a depositor (用户注册); returns the new user id."""
    id_number = check_id_number(id_number, now=now)
    phone = check_phone(phone)
    check_password(password, id_number=id_number, phone=phone)
    if query_password is not None:
        check_password(query_password, id_number=id_number, phone=phone, field="query_password")
    try:
        sms_codes.verify(phone, "register", sms_code, now=now)
    except errors.SmsCodeInvalid:
        audit.record("auth.register", role=auth.DEPOSITOR, who=id_number, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "sms_code"})
        raise
    person = matches_records(name, id_number, phone)
    if person is None:
        audit.record("auth.register", role=auth.DEPOSITOR, who=id_number, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "not_in_records"})
        raise errors.NotEligible(NOT_IN_RECORDS)
    if not phone_trusted(person):
        audit.record("auth.register", role=auth.DEPOSITOR, who=id_number, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "phone_not_proven"})
        raise errors.NotEligible(PHONE_NOT_PROVEN)
    try:
        user = create_user(id_number=id_number, phone=phone, now=now, password=password,
                           query_password=query_password)
    except errors.Conflict:
        audit.record("auth.register", role=auth.DEPOSITOR, who=id_number, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "already_registered"})
        raise
    audit.record("auth.register", role=auth.DEPOSITOR, who=user.user_id, result=audit.OK, now=now, source=source,
                 details={"id_number": id_number, "phone": phone})
    return user.user_id
