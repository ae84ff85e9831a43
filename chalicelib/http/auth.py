"""Bearer tokens and role checks.

Access tokens are HS256 JWTs (``typ`` ``access``, ``aud`` ``gjj-api``, issuer ``gjj``) bound to a
server-side session: logout or a password change revokes the session and every token of it stops
working at once. ``algorithms`` is pinned; ``alg: none`` and other algorithms are refused.
A token of one role never opens another role's routes (403).
"""

from __future__ import annotations

import contextvars
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, errors, settings
from chalicelib.store.users import Session, User

DEPOSITOR, UNIT, DEVELOPER, OPERATOR = "depositor", "unit", "developer", "operator"
ROLES = (DEPOSITOR, UNIT, DEVELOPER, OPERATOR)
REVIEWER, ADMIN = "reviewer", "admin"
OP_ROLES = (REVIEWER, ADMIN)
ALGORITHM = "HS256"
AUDIENCE = "gjj-api"
ISSUER = "gjj"


@dataclass(frozen=True)
class Principal:
    subject: str          # user_id | unit_no | developer_id | operator username
    role: str
    session_id: str
    op_role: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)


_secret_cache: dict[str, str] = {}
SSM_SECRET_NAME = "/gjj/{stage}/token-secret"


def secret() -> str:
    """The signing secret.

    * ``prod``: the SSM SecureString parameter ``/gjj/prod/token-secret`` (decrypted, cached per process);
      the environment cannot replace it.
    * ``dev``: ``GJJ_TOKEN_SECRET`` when set, else ``/gjj/dev/token-secret`` from SSM.
    * ``local``: ``GJJ_TOKEN_SECRET`` when set, else a generated one kept under ``.local/``.
    """
    cfg = settings.get()
    if cfg.stage == "prod" or (not cfg.is_local and not cfg.token_secret):
        return _ssm_secret(SSM_SECRET_NAME.format(stage=cfg.stage), cfg.region)
    if cfg.token_secret:
        return cfg.token_secret
    path = cfg.local_dir / "token-secret"
    cached = _secret_cache.get(str(path))
    if cached:
        return cached
    if path.exists():
        value = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
    _secret_cache[str(path)] = value
    return value


def _ssm_secret(name: str, region: str) -> str:
    cached = _secret_cache.get(f"ssm:{name}")
    if cached:
        return cached
    import boto3

    answer = boto3.client("ssm", region_name=region).get_parameter(Name=name, WithDecryption=True)
    value = answer["Parameter"]["Value"]
    if len(value) < 32:
        raise RuntimeError(f"the token secret {name} is too short (at least 32 characters)")
    _secret_cache[f"ssm:{name}"] = value
    return value


def reset_secret_cache() -> None:
    _secret_cache.clear()


def encode(claims: dict[str, Any], *, typ: str, ttl_seconds: int, now: datetime | None = None) -> str:
    now = now or clock.now()
    payload = {
        **claims,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": typ,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 5,
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    import jwt  # lazy: PyJWT loads cryptography (x509 and all); a scheduled function never needs it

    return jwt.encode(payload, secret(), algorithm=ALGORITHM, headers={"typ": "JWT"})


def decode(token: str, *, typ: str, now: datetime | None = None) -> dict[str, Any]:
    """Verify signature, algorithm, audience, issuer, expiry and type; 401 on any failure."""
    import jwt  # lazy, as in encode

    now = now or clock.now()
    try:
        claims = jwt.decode(
            token,
            secret(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ", "aud", "iss"], "verify_exp": False,
                     "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise errors.Unauthenticated("登录信息无效，请重新登录") from exc
    ts = now.timestamp()
    if claims.get("typ") != typ:
        raise errors.Unauthenticated("登录信息无效，请重新登录")
    if claims["exp"] <= ts or claims.get("nbf", 0) > ts + 5:
        raise errors.Unauthenticated("登录已过期，请重新登录")
    return claims


def _security():
    """The policy's security section. The policy module is imported here, not at the top: its two dozen pydantic
    classes would be on the path of every cold start, which imports this module through chalicelib.http.api."""
    from chalicelib import policy

    return policy.get().security


def issue_access_token(subject: str, role: str, session_id: str, *, op_role: str | None = None,
                       now: datetime | None = None) -> str:
    claims: dict[str, Any] = {"sub": subject, "role": role, "sid": session_id}
    if op_role:
        claims["op"] = op_role
    return encode(claims, typ="access", ttl_seconds=_security().access_token_seconds, now=now)


def open_session(subject: str, role: str, *, now: datetime | None = None, family_id: str | None = None,
                 op_role: str | None = None):
    """Create a session (the server-side half of a login) and return it. The session is the
    refresh-token family: revoking it ends every access and refresh token issued under it."""

    now = now or clock.now()
    sec = _security()
    expires = now + timedelta(hours=sec.session_absolute_hours)
    session_id = secrets.token_urlsafe(24)
    session = Session(
        session_id=session_id,
        subject=subject,
        role=role,
        created_at=now,
        last_seen_at=now,
        expires_at=expires,
        family_id=family_id or session_id,
        op_role=op_role,
        ttl=int((expires + timedelta(days=1)).timestamp()),
    )
    session.save()
    return session


def revoke_session(session_id: str) -> None:
    try:
        Session(session_id=session_id).update(actions=[Session.revoked.set(True)],
                                              condition=Session.session_id.exists())
    except Exception:  # noqa: BLE001 - a session that is gone is as revoked as it gets
        pass


def revoke_sessions_of(subject: str, *, role: str, keep: str | None = None) -> int:
    """End every session of ``subject`` in ``role`` (password reset/change), except ``keep``."""

    ended = 0
    for item in Session.subject_index.query(subject):
        if item.session_id == keep:
            continue
        try:
            Session(session_id=item.session_id).update(
                actions=[Session.revoked.set(True)],
                condition=Session.session_id.exists() & (Session.role == role))
            ended += 1
        except Exception:  # noqa: BLE001 - another role's session under the same name, or gone
            pass
    return ended


def check_session(session_id: str, subject: str, now: datetime, *, role: str | None = None,
                  op_role: str | None = None):
    """The session must exist, belong to the subject (and role), be unrevoked, within its absolute and
    idle limits. Returns the session."""

    try:
        session = Session.get(session_id)
    except Session.DoesNotExist:
        raise errors.Unauthenticated("登录已失效，请重新登录") from None
    sec = _security()
    if session.revoked or session.subject != subject:
        raise errors.Unauthenticated("登录已失效，请重新登录")
    if role is not None and (session.role != role or (session.op_role or None) != (op_role or None)):
        raise errors.Unauthenticated("登录信息无效，请重新登录")
    if now >= session.expires_at or now - session.last_seen_at > timedelta(minutes=sec.session_idle_minutes):
        raise errors.Unauthenticated("登录已过期，请重新登录")
    if now - session.last_seen_at > timedelta(seconds=60):
        session.update(actions=[Session.last_seen_at.set(now)])
    return session


def authenticate(authorization: str | None, *, now: datetime) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise errors.Unauthenticated()
    token = authorization[len("Bearer "):].strip()
    claims = decode(token, typ="access", now=now)
    role = claims.get("role")
    sid = claims.get("sid")
    if role not in ROLES or not isinstance(sid, str):
        raise errors.Unauthenticated("登录信息无效，请重新登录")
    if claims.get("op") is not None and (role != OPERATOR or claims["op"] not in OP_ROLES):
        raise errors.Unauthenticated("登录信息无效，请重新登录")
    check_session(sid, claims["sub"], now, role=role, op_role=claims.get("op"))
    return Principal(subject=claims["sub"], role=role, session_id=sid, op_role=claims.get("op"), claims=claims)


def authorize(principal: Principal, roles: tuple[str, ...], op_roles: tuple[str, ...] | None) -> None:
    if principal.role not in roles:
        raise errors.Forbidden("当前登录身份无权办理此业务")
    if op_roles and principal.op_role not in op_roles:
        raise errors.Forbidden("当前操作员无此权限")


def issue_step_up_token(principal: Principal, *, now: datetime | None = None) -> str:
    return encode({"sub": principal.subject, "role": principal.role, "sid": principal.session_id},
                  typ="step_up", ttl_seconds=_security().step_up_seconds, now=now)


def verify_step_up(token: str | None, principal: Principal, *, now: datetime) -> None:
    """A step-up token is bound to the session that asked for it and lives 5 minutes."""
    if not token:
        raise errors.Unauthenticated("此业务需要短信验证，请先完成身份验证", details={"step_up": "required"})
    claims = decode(token, typ="step_up", now=now)
    if (claims.get("sid") != principal.session_id or claims.get("sub") != principal.subject
            or claims.get("role") != principal.role):
        raise errors.Unauthenticated("身份验证无效，请重新验证", details={"step_up": "required"})


# The caller's User as read by caller_id_number during the current request (issue 18: a money route read it here and
# again, by ID number, to tell the citizen). Set per request; ``api.dispatch`` forgets it when the request ends.
_caller: contextvars.ContextVar[User | None] = contextvars.ContextVar("gjj_caller_user", default=None)


def forget_caller() -> None:
    _caller.set(None)


def caller_user(id_number: str) -> User | None:
    """The User this request's caller_id_number read, when it is the holder of ``id_number`` (else None)."""
    user = _caller.get()
    return user if user is not None and user.id_number == id_number else None


def caller_id_number(user_id: str) -> str:
    """The ID number of the logged-in depositor (role ``citizen``: ``req.subject`` is the user id); 401 when the
    user is gone. The User is kept for the rest of the request (:func:`caller_user`)."""
    try:
        user = User.get(user_id)
    except User.DoesNotExist:
        raise errors.Unauthenticated("登录信息无效，请重新登录") from None
    _caller.set(user)
    return user.id_number
