"""Center review (中心审核): the operators' queues and their decisions, for every reviewable kind.

A business area makes its kind reviewable by registering a reviewer in
:mod:`chalicelib.services.business`; these routes then serve it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib import masking
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.pagination import PageQuery, envelope, page
from chalicelib.http.schema import BaseModel
from chalicelib.money import MoneyOut
from chalicelib.services import business
from chalicelib.store.business import BusinessRecord

api = Api(__name__, tag="admin-reviews")


class QueueQuery(PageQuery):
    kind: str = Field(..., min_length=1, max_length=40)


class ReviewItem(BaseModel):
    serial_no: str
    kind: str
    type: str | None
    title: str
    owner: str
    status: str
    submitted_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    opinion: str | None = None
    amount: MoneyOut | None = None
    details: dict[str, str] = {}

    @classmethod
    def of(cls, r: BusinessRecord) -> ReviewItem:
        return cls(serial_no=r.serial_no, kind=r.kind, type=r.type, title=r.title, owner=masking.scrub(r.owner),
                   status=r.status, submitted_at=r.submitted_at, decided_at=r.decided_at, decided_by=r.decided_by,
                   opinion=r.opinion, amount=r.amount,
                   details={k: masking.scrub(str(v)) for k, v in (r.details.as_dict() if r.details else {}).items()})


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    next_cursor: str | None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    opinion: str = Field(..., min_length=1, max_length=500)


@api.route("/v1/admin/reviews/kinds", roles=(auth.OPERATOR,), response=list[str],
           summary="Kinds of business the center reviews")
def review_kinds(req: Request) -> list[str]:
    return business.kinds()


@api.route("/v1/admin/reviews", roles=(auth.OPERATOR,), query=QueueQuery, response=ReviewPage,
           summary="The review queue of one kind, oldest first (待审核)")
def review_queue(req: Request) -> dict:
    business.reviewer_for(req.query.kind)
    items, cursor = page(BusinessRecord.queue_index.query, hash_key=req.query.kind, scan_index_forward=True,
                         limit=req.query.limit, cursor=req.query.cursor, scope=req.scope(req.query.kind))
    return envelope([ReviewItem.of(r) for r in items], cursor)


@api.route("/v1/admin/reviews/{serial_no}", roles=(auth.OPERATOR,), response=ReviewItem,
           summary="One application under review")
def review_item(req: Request, serial_no: str) -> ReviewItem:
    return ReviewItem.of(business.get(serial_no))


@api.route("/v1/admin/reviews/{serial_no}/decision", "POST", roles=(auth.OPERATOR,),
           op_roles=("reviewer", "admin"), body=Decision, response=ReviewItem, errors=(404, 409),
           summary="Approve or reject with an opinion (审批)")
def decide(req: Request, serial_no: str) -> ReviewItem:
    record = business.decide(serial_no, approve=req.body.decision == "approve", opinion=req.body.opinion,
                             operator=req.subject, now=req.now)
    return ReviewItem.of(record)
