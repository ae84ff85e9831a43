"""Public catalogs: service branches (服务网点) and partner properties (合作楼盘).

Both tables are small, city-wide reference lists with no natural partition to query by, so they are
read with a paginated Scan. That is acceptable ONLY for these public catalogs (tens to a few hundred
items, answers cached by clients through ``Cache-Control``); per-person data is always Queried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.http import pagination
from chalicelib.store.content import Branch, Property

T = TypeVar("T")


def scan_page(scan: Callable[..., Any], key_of: Callable[[T], dict[str, Any]], *, limit: int, cursor: str | None,
              scope: str, filter_condition: Any = None) -> tuple[list[T], str | None]:
    """One page of a (possibly filtered) Scan: up to ``limit`` matches and the cursor after the last one.

    A filter makes DynamoDB's own pages hold fewer matches than asked for, so this reads on until it has
    ``limit + 1`` matches (or the table ends) and resumes the next page after the last match it returns.
    """
    start = pagination.decode_cursor(cursor, scope)
    results = scan(filter_condition=filter_condition, last_evaluated_key=start, page_size=max(limit + 1, 25))
    items: list[T] = []
    for item in results:
        items.append(item)
        if len(items) > limit:
            break
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, pagination.encode_cursor(key_of(items[-1]), scope)


def branches(*, limit: int, cursor: str | None, scope: str) -> tuple[list[Branch], str | None]:
    return scan_page(Branch.scan, lambda b: {"branch_id": {"S": b.branch_id}}, limit=limit, cursor=cursor,
                     scope=scope)


def properties(q: str | None, *, limit: int, cursor: str | None, scope: str) -> tuple[list[Property], str | None]:
    """Partner properties, those whose name contains ``q`` when given."""
    condition = Property.name.contains(q) if q else None
    return scan_page(Property.scan, lambda p: {"project_no": {"S": p.project_no}}, limit=limit, cursor=cursor,
                     scope=scope, filter_condition=condition)
