"""业务明细 of the web halls: one record shape for a unit's and a developer's business (not a blueprint)."""

from __future__ import annotations

from chalicelib.http.api import Request
from chalicelib.http.pagination import envelope, page
from chalicelib.http.schema import BaseModel
from chalicelib.money import MoneyOut
from chalicelib.store.business import BusinessRecord


class HallBusinessOut(BaseModel):
    serial_no: str
    kind: str
    title: str
    status: str
    submitted_at: str
    decided_at: str | None
    opinion: str | None
    amount: MoneyOut | None

    @classmethod
    def of(cls, r: BusinessRecord) -> HallBusinessOut:
        return cls(serial_no=r.serial_no, kind=r.kind, title=r.title, status=r.status, submitted_at=r.submitted_at,
                   decided_at=r.decided_at, opinion=r.opinion, amount=int(r.amount) if r.amount is not None else None)


class HallBusinessPage(BaseModel):
    items: list[HallBusinessOut]
    next_cursor: str | None


def business_page(req: Request, owner: str) -> dict:
    """A page of ``owner``'s business records, newest first (the ``GET .../me/business`` of both halls)."""
    items, cursor = page(BusinessRecord.owner_index.query, hash_key=owner, scan_index_forward=False,
                         limit=req.query.limit, cursor=req.query.cursor, scope=req.scope())
    return envelope([HallBusinessOut.of(r) for r in items], cursor)
