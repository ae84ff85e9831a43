"""My messages (个人任务管理): 消息 (unread), 待办 (todo) and 已阅 (read); view, mark read (标为已阅), delete (删除).

See :mod:`chalicelib.services.inbox`. A message id is the caller's own: another person's id is not found (404).
"""

from __future__ import annotations

from typing import Literal

from chalicelib import masking
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.pagination import PageQuery
from chalicelib.http.schema import BaseModel
from chalicelib.services import inbox
from chalicelib.store.messages import Message

api = Api(__name__, tag="messages")

Box = Literal["unread", "read", "todo"]


class BoxQuery(PageQuery):
    box: Box = "unread"


class MessageOut(BaseModel):
    id: str
    box: Box
    kind: str
    title: str
    body: str
    created_at: str
    read_at: str | None
    serial_no: str | None

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(id=inbox.wire_id(m.message_id), box=m.box, kind=m.kind, title=masking.scrub(m.title),
                   body=masking.scrub(m.body), created_at=m.created_at, read_at=m.read_at, serial_no=m.serial_no)


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


@api.route("/v1/me/messages", roles=(auth.DEPOSITOR,), query=BoxQuery, response=MessagePage,
           summary="One box of my messages (消息/待办/已阅), newest first")
def list_messages(req: Request) -> MessagePage:
    items, cursor = inbox.box_page(auth.caller_id_number(req.subject), req.query.box, limit=req.query.limit,
                                   cursor=req.query.cursor, scope=req.scope(req.query.box))
    return MessagePage(items=[MessageOut.of(m) for m in items], next_cursor=cursor)


@api.route("/v1/me/messages/{id}", roles=(auth.DEPOSITOR,), response=MessageOut, errors=(404,),
           summary="View one message (查看)")
def view_message(req: Request, id: str) -> MessageOut:
    return MessageOut.of(inbox.get(auth.caller_id_number(req.subject), id))


@api.route("/v1/me/messages/{id}/read", "POST", roles=(auth.DEPOSITOR,), response=MessageOut,
           errors=(404,), summary="Mark a message read (标为已阅): it moves to the read box")
def mark_read(req: Request, id: str) -> MessageOut:
    return MessageOut.of(inbox.mark_read(auth.caller_id_number(req.subject), id, req.now))


@api.route("/v1/me/messages/{id}", "DELETE", roles=(auth.DEPOSITOR,), status=204, errors=(404,),
           summary="Delete a message (删除): it leaves every box")
def delete_message(req: Request, id: str) -> None:
    inbox.delete(auth.caller_id_number(req.subject), id)
