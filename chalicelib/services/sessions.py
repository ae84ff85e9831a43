"""Sessions and token pairs (登录会话): open a session and issue access + refresh tokens for any role.

Reusable by every login (depositors, operators, unit and developer certificates): call
:func:`start`. Refresh tokens are 256-bit random strings stored only as SHA-256; each works once.
Using one names its successor, derived as ``HMAC(secret, old token)``, so a client that lost the
answer can retry the same old token within ``refresh_grace_seconds`` and gets the same refresh token
again (FAPI's caveat); a used token coming back later (or after its successor was used) revokes the
session, which is the token family: every access and refresh token of it stops working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import errors, policy
from chalicelib.http import auth
from chalicelib.http.schema import BaseModel
from chalicelib.services import audit
from chalicelib.store.users import RefreshToken

PREFIX = "rt_"


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    role: str
    token_type: str = "Bearer"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _successor(token: str) -> str:
    mac = hmac.new(auth.secret().encode(), f"refresh-rotate:{token}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _store(token: str, session, now: datetime) -> None:
    item = RefreshToken(token_hash=_hash(token), session_id=session.session_id, subject=session.subject,
                        role=session.role, issued_at=int(now.timestamp()), ttl=session.expires_at + timedelta(days=1))
    try:
        item.save(condition=RefreshToken.token_hash.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise   # already stored: the successor of a retried token


def _pair(session, refresh_token: str, now: datetime) -> TokenPair:
    access = auth.issue_access_token(session.subject, session.role, session.session_id,
                                     op_role=session.op_role, now=now)
    return TokenPair(access_token=access, refresh_token=refresh_token,
                     expires_in=policy.get().security.access_token_seconds, role=session.role)


def start(subject: str, role: str, *, now: datetime, op_role: str | None = None) -> TokenPair:
    """Open a session for ``subject`` in ``role`` and issue its first token pair."""
    session = auth.open_session(subject, role, now=now, op_role=op_role)
    refresh_token = PREFIX + secrets.token_urlsafe(32)
    _store(refresh_token, session, now)
    return _pair(session, refresh_token, now)


def refresh(token: str, *, now: datetime, source: str = "") -> TokenPair:
    """Exchange a refresh token for a new pair (rotation with reuse detection)."""

    invalid = errors.Unauthenticated("登录已失效，请重新登录")
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 100:
        raise invalid
    try:
        item = RefreshToken.get(_hash(token))
    except RefreshToken.DoesNotExist:
        raise invalid from None
    session = auth.check_session(item.session_id, item.subject, now)
    if session.role != item.role:
        raise invalid
    ts = int(now.timestamp())
    successor = _successor(token)
    first_use = False
    if item.used_at is None:
        try:
            item.update(actions=[RefreshToken.used_at.set(ts)], condition=RefreshToken.used_at.does_not_exist())
            first_use = True
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            item.refresh()
    if not first_use:
        grace = policy.get().security.refresh_grace_seconds
        if ts - item.used_at > grace or _used(successor):
            auth.revoke_session(item.session_id)
            audit.record("auth.refresh.reuse", role=item.role, who=item.subject, result=audit.REFUSED, now=now,
                         source=source, details={"session": item.session_id[:8]})
            raise invalid
    _store(successor, session, now)
    audit.record("auth.refresh", role=item.role, who=item.subject, result=audit.OK, now=now, source=source)
    return _pair(session, successor, now)


def _used(token: str) -> bool:
    try:
        return RefreshToken.get(_hash(token)).used_at is not None
    except RefreshToken.DoesNotExist:
        return False


def end(principal: auth.Principal, *, now: datetime, source: str = "") -> None:
    """Log out (退出登录): the session ends, and with it every access and refresh token of it."""
    auth.revoke_session(principal.session_id)
    audit.record("auth.logout", role=principal.role, who=principal.subject, result=audit.OK, now=now, source=source)
