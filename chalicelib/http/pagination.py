"""Cursor pagination: ``?limit=`` (default 20, max 100) and an opaque, signed ``?cursor=``.

A cursor is the DynamoDB LastEvaluatedKey, signed with HMAC and bound to a scope (the route and
the caller), so it cannot be forged or used to read another person's partition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib import errors

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


def _key() -> bytes:
    from chalicelib.http import auth

    return hashlib.sha256(("cursor:" + auth.secret()).encode()).digest()


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    if not last_key:
        return None
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(), scope.encode() + b"|" + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, payload = raw[:16], raw[16:]
        expected = hmac.new(_key(), scope.encode() + b"|" + payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            raise ValueError("bad mac")
        value = json.loads(payload)
        if not isinstance(value, dict):
            raise ValueError("bad cursor")
        return value
    except (ValueError, TypeError):
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
