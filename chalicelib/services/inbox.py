"""A citizen's messages (个人任务管理: 消息 / 待办 / 已阅).

Messages arrive through :func:`chalicelib.services.notify.post_message` in the ``unread`` box (消息) or the
``todo`` box (待办). Viewing one does not change it; marking it read (标为已阅) moves it to ``read`` (已阅);
deleting it (删除) is a soft delete: the item stays, marked ``deleted``, and leaves every box.

Each box list is one Query on ``box-index`` (``<id_number>#<box>``), newest first. A message is addressed by
the caller's id number and its id, so another person's message is simply not found.

On the wire a message id is the stored one with ``#`` written as ``-`` (it goes in a URL path).
"""

from __future__ import annotations

import re
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import clock, errors
from chalicelib.http import pagination
from chalicelib.store.messages import Message

_WIRE_ID = re.compile(r"^(\d{20})-([0-9a-f]{8})$")


def wire_id(message_id: str) -> str:
    return message_id.replace("#", "-")


def stored_id(wire: str) -> str:
    match = _WIRE_ID.match(wire or "")
    if not match:
        raise errors.NotFound("未找到该消息")
    return f"{match.group(1)}#{match.group(2)}"


def box_page(id_number: str, box: str, *, limit: int, cursor: str | None, scope: str):
    """One page of a box, newest first."""
    return pagination.page(Message.box_index.query, hash_key=Message.box_key_for(id_number, box),
                           scan_index_forward=False, limit=limit, cursor=cursor, scope=scope)


def get(id_number: str, wire: str) -> Message:
    try:
        msg = Message.get(id_number, stored_id(wire))
    except Message.DoesNotExist:
        raise errors.NotFound("未找到该消息") from None
    if msg.deleted:
        raise errors.NotFound("该消息已删除")
    return msg


def mark_read(id_number: str, wire: str, now: datetime) -> Message:
    """标为已阅: an unread message or a to-do moves to the read box; a read one stays as it is."""
    msg = get(id_number, wire)
    if msg.box == "read":
        return msg
    try:
        msg.update(actions=[Message.box.set("read"), Message.box_key.set(Message.box_key_for(id_number, "read")),
                            Message.read_at.set(clock.iso(now))],
                   condition=Message.message_id.exists() & (Message.deleted == False))  # noqa: E712
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.NotFound("该消息已删除") from None
        raise
    return msg


def delete(id_number: str, wire: str) -> None:
    """删除: the message leaves every box (kept, marked deleted)."""
    msg = get(id_number, wire)
    try:
        msg.update(actions=[Message.deleted.set(True), Message.box_key.remove()],
                   condition=Message.message_id.exists() & (Message.deleted == False))  # noqa: E712
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.NotFound("该消息已删除") from None
        raise
