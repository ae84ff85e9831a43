"""Center operators (中心经办/审批): creation from the command line and username + password login.

Operators get the same password rules, hashing, captcha and lock as citizens; their tokens carry
``op_role`` (``reviewer`` or ``admin``), which the routes check.
"""

from __future__ import annotations

import re
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib import clock, errors
from chalicelib.http import auth
from chalicelib.services import audit, captchas, lockout, passwords, sessions
from chalicelib.services.sessions import TokenPair
from chalicelib.store.users import Operator

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$")
WRONG = "用户名或密码错误"


def create_operator(username: str, password: str, op_role: str, *, now: datetime | None = None):
    """Create an operator; ValidationFailed for a bad name, role or password, Conflict when taken."""

    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise errors.ValidationFailed.field("username", "用户名须为3至32位字母、数字、点、下划线或连字符")
    if op_role not in auth.OP_ROLES:
        raise errors.ValidationFailed.field("op_role", f"角色须为 {' 或 '.join(auth.OP_ROLES)}")
    problem = passwords.password_problem(password) or (
        "密码不能包含用户名" if username.lower() in password.lower() else None)
    if problem:
        raise errors.ValidationFailed.field("password", problem)
    now = now or clock.now()
    operator = Operator(username=username, password_hash=passwords.hash_password(password), op_role=op_role,
                        created_at=now)
    try:
        operator.save(condition=Operator.username.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict(f"操作员 {username} 已存在") from None
        raise
    audit.record("operator.create", role=auth.OPERATOR, who=username, result=audit.OK, now=now,
                 details={"op_role": op_role})
    return operator


def login(username: str, password: str, *, captcha_id: str | None = None, captcha_answer: str | None = None,
          now: datetime, source: str = "") -> TokenPair:
    try:
        operator = Operator.get(username) if username and username.strip() else None
    except Operator.DoesNotExist:
        operator = None
    key = lockout.key_for("operator", username.strip().lower())
    captcha_ok = captchas.check(captcha_id, captcha_answer, now=now) if captcha_id else False
    try:
        lockout.check(key, now=now, captcha_ok=captcha_ok)
    except (errors.AccountLocked, errors.CaptchaRequired) as exc:
        audit.record("auth.login.operator", role=auth.OPERATOR, who=username, result=audit.REFUSED, now=now,
                     source=source, details={"reason": exc.code.lower()})
        raise
    if operator is None or not passwords.verify(operator.password_hash, password) \
            or operator.op_role not in auth.OP_ROLES:
        if operator is None:
            passwords.burn_time(password)
        audit.record("auth.login.operator", role=auth.OPERATOR, who=username, result=audit.REFUSED, now=now,
                     source=source, details={"reason": "wrong_credentials"})
        raise lockout.failed_login(key, now=now, message=WRONG)
    lockout.reset(key)
    audit.record("auth.login.operator", role=auth.OPERATOR, who=username, result=audit.OK, now=now, source=source,
                 details={"op_role": operator.op_role})
    return sessions.start(operator.username, auth.OPERATOR, now=now, op_role=operator.op_role)
