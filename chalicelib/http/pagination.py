"""Cursor pagination: ``?limit=`` (default 20, max 100) and an opaque, encrypted ``?cursor=``.

A cursor is the DynamoDB LastEvaluatedKey sealed with AES-256-GCM (authenticated encryption) under a key derived
from the stage's secret, with its scope (the route and the caller) as associated data. So it

* shows nothing: the key inside (which may hold an account or ID number) travels in URLs and so into access
  logs, and only the server can read it;
* cannot be altered or forged: any changed byte fails the GCM tag, a 400;
* is bound to the caller and route: another caller's cursor fails the tag as well, a 400.

Layout: base64url(version byte 1 | 12-byte random nonce | ciphertext and 16-byte tag), no padding.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from pydantic import ConfigDict, Field, model_validator

from chalicelib import errors
from chalicelib.http import auth
from chalicelib.http.schema import BaseModel

T = TypeVar("T")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)


class DateRangeQuery(PageQuery):
    from_: date | None = Field(None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _order(self):
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("起始日期不能晚于结束日期")
        return self


_VERSION = b"\x01"
_NONCE = 12


def _key() -> bytes:
    """256 bits for AES-GCM, derived from the stage secret (its own label, so no other use shares the key)."""

    return hashlib.sha256(("cursor-aes-gcm:" + auth.secret()).encode()).digest()


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    if not last_key:
        return None
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # lazy: off the cold start

    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key()).encrypt(nonce, payload, _VERSION + scope.encode())
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if raw[:1] != _VERSION or len(raw) < 1 + _NONCE + 16:
            raise ValueError("bad cursor")
        nonce, sealed = raw[1:1 + _NONCE], raw[1 + _NONCE:]
        value = json.loads(AESGCM(_key()).decrypt(nonce, sealed, _VERSION + scope.encode()))
        if not isinstance(value, dict):
            raise ValueError("bad cursor")
        return value
    except (ValueError, TypeError, InvalidTag):
        raise errors.ValidationFailed.field("cursor", "无效的翻页游标") from None


def page(query: Callable[..., Iterable[T]], *, limit: int, cursor: str | None, scope: str,
         **query_kwargs: Any) -> tuple[list[T], str | None]:
    """Run one DynamoDB Query page: at most ``limit`` items and the cursor for the next page.

    ``query`` is a PynamoDB ``Model.query`` or ``Index.query``; one Query call per page.
    """
    start = decode_cursor(cursor, scope)
    results = query(limit=limit, page_size=limit, last_evaluated_key=start, **query_kwargs)
    items = list(results)
    last = results.last_evaluated_key if len(items) >= limit else None
    return items, encode_cursor(last, scope)


def envelope(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
