"""Notices (资讯公告): 通知公告 (news), 政策法规 (policy), 办事指南 (guide).

The public sees published notices whose day has come, newest first, one Query page at a time on
the sparse ``public-index``; operators create, edit and withdraw them and see every status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib import errors, log
from chalicelib.http import pagination
from chalicelib.store.content import Notice

logger = log.get("notices")


@dataclass(frozen=True)
class Draft:
    category: str
    title: str
    body: str
    published_on: date | None = None


def list_public(category: str, *, today: date, limit: int, cursor: str | None,
                scope: str) -> tuple[list[Notice], str | None]:
    """Published notices of a category up to ``today``, newest first."""
    tomorrow = (today + timedelta(days=1)).isoformat()
    return pagination.page(Notice.public_index.query, hash_key=category,
                           range_key_condition=Notice.sort_key < tomorrow,
                           scan_index_forward=False, limit=limit, cursor=cursor, scope=scope)


def list_all(category: str, *, limit: int, cursor: str | None, scope: str) -> tuple[list[Notice], str | None]:
    """Every notice of a category, withdrawn and future ones too (operators)."""
    return pagination.page(Notice.category_index.query, hash_key=category, scan_index_forward=False,
                           limit=limit, cursor=cursor, scope=scope)


def _load(notice_id: str) -> Notice:
    try:
        return Notice.get(notice_id)
    except Notice.DoesNotExist:
        raise errors.NotFound("未找到该公告") from None


def _save(notice: Notice, condition=None) -> None:
    """Save under the notice's version; a concurrent change is a 409 instead of a lost update."""
    try:
        notice.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict("公告已被他人修改，请刷新后重试") from None
        raise


def get_public(notice_id: str, *, today: date) -> Notice:
    notice = _load(notice_id)
    if notice.status != "published" or notice.published_on > today.isoformat():
        raise errors.NotFound("未找到该公告")
    return notice


def get_any(notice_id: str) -> Notice:
    return _load(notice_id)


def create(draft: Draft, *, now: datetime, operator: str) -> Notice:
    notice = Notice(
        notice_id=f"N{now:%Y%m%d}{uuid.uuid4().hex[:10].upper()}",
        category=draft.category, title=draft.title, body=draft.body,
        published_on=(draft.published_on or now.date()).isoformat(), status="published",
        created_by=operator, updated_by=operator, updated_at=now,
    )
    _save(notice, Notice.notice_id.does_not_exist())
    log.event(logger, "notice.created", notice_id=notice.notice_id, operator=operator)
    return notice


def edit(notice_id: str, draft: Draft, *, now: datetime, operator: str) -> Notice:
    """Replace a notice's category, title, body and (when given) its day; the status stays."""
    notice = _load(notice_id)
    notice.category, notice.title, notice.body = draft.category, draft.title, draft.body
    if draft.published_on is not None:
        notice.published_on = draft.published_on.isoformat()
    notice.updated_by, notice.updated_at = operator, now
    _save(notice)
    log.event(logger, "notice.edited", notice_id=notice_id, operator=operator)
    return notice


def withdraw(notice_id: str, *, now: datetime, operator: str) -> Notice:
    """Take a notice down (撤回): it leaves the public lists at once and is kept for the record."""
    notice = _load(notice_id)
    if notice.status == "withdrawn":
        raise errors.AlreadyDone("该公告已撤回")
    notice.status = "withdrawn"
    notice.updated_by, notice.updated_at = operator, now
    _save(notice)
    log.event(logger, "notice.withdrawn", notice_id=notice_id, operator=operator)
    return notice
