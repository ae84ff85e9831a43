"""Public content (资讯公告, 便民工具): notices, FAQ, service channels, branches, partner properties, rates.

Every public read here is the same for every caller, so it is sent with ``Cache-Control: public``; operators
manage notices under ``/v1/admin/notices``. Slots and appointments are in ``handlers/appointments.py``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator

from chalicelib import clock, errors, policy
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.pagination import PageQuery
from chalicelib.http.schema import BaseModel
from chalicelib.rules import loans as loan_rules
from chalicelib.services import catalog, guides, notices
from chalicelib.store.content import NOTICE_CATEGORIES

api = Api(__name__, tag="content")

# How long clients and CDNs may reuse a public answer (seconds in the header; not business numbers).
NOTICES_CACHE = "public, max-age=300"
CATALOG_CACHE = "public, max-age=3600"
RATES_CACHE = "public, max-age=3600"

Category = Literal[NOTICE_CATEGORIES]  # type: ignore[valid-type]  # news | policy | guide
Rate = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str),
                 WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["2.60"],
                                 "description": "percent a year"})]
_NOTICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _notice_id(value: str) -> str:
    if not _NOTICE_ID.match(value):
        raise errors.NotFound("未找到该公告")
    return value


# ---------------------------------------------------------------- notices (资讯公告)


class NoticeQuery(PageQuery):
    category: Category


class NoticeSummary(BaseModel):
    notice_id: str
    category: Category
    title: str
    published_on: date


class NoticePage(BaseModel):
    items: list[NoticeSummary]
    next_cursor: str | None


class NoticeOut(NoticeSummary):
    body: str


class AdminNoticeOut(NoticeOut):
    status: Literal["published", "withdrawn"]
    created_by: str | None
    updated_by: str | None
    updated_at: str | None


class AdminNoticePage(BaseModel):
    items: list[AdminNoticeOut]
    next_cursor: str | None


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: Category
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    published_on: date | None = Field(None, description="the day it is shown from; today when omitted")


def _summary(n) -> NoticeSummary:
    return NoticeSummary(notice_id=n.notice_id, category=n.category, title=n.title, published_on=n.published_on)


def _full(n) -> NoticeOut:
    return NoticeOut(notice_id=n.notice_id, category=n.category, title=n.title, published_on=n.published_on,
                     body=n.body)


def _admin(n) -> AdminNoticeOut:
    return AdminNoticeOut(notice_id=n.notice_id, category=n.category, title=n.title, published_on=n.published_on,
                          body=n.body, status=n.status, created_by=n.created_by, updated_by=n.updated_by,
                          updated_at=clock.iso(n.updated_at) if isinstance(n.updated_at, datetime) else None)


def _draft(body: NoticeIn) -> notices.Draft:
    return notices.Draft(category=body.category, title=body.title, body=body.body, published_on=body.published_on)


@api.route("/v1/notices", roles=None, query=NoticeQuery, response=NoticePage, cache_control=NOTICES_CACHE,
           summary="Notices of a category (通知公告/政策法规/办事指南), newest first")
def list_notices(req: Request):
    items, cursor = notices.list_public(req.query.category, today=req.now.date(), limit=req.query.limit,
                                        cursor=req.query.cursor, scope=req.scope(req.query.category))
    return NoticePage(items=[_summary(n) for n in items], next_cursor=cursor)


@api.route("/v1/notices/{notice_id}", roles=None, response=NoticeOut, cache_control=NOTICES_CACHE, errors=(404,),
           summary="One published notice")
def get_notice(req: Request, notice_id: str):
    return _full(notices.get_public(_notice_id(notice_id), today=req.now.date()))


@api.route("/v1/admin/notices", roles=(auth.OPERATOR,), query=NoticeQuery, response=AdminNoticePage,
           summary="Every notice of a category, withdrawn and scheduled ones too (operators)")
def admin_list_notices(req: Request):
    items, cursor = notices.list_all(req.query.category, limit=req.query.limit, cursor=req.query.cursor,
                                     scope=req.scope(req.query.category))
    return AdminNoticePage(items=[_admin(n) for n in items], next_cursor=cursor)


@api.route("/v1/admin/notices", "POST", roles=(auth.OPERATOR,), body=NoticeIn, response=AdminNoticeOut,
           status=201, summary="Publish a notice (operators)")
def create_notice(req: Request):
    return _admin(notices.create(_draft(req.body), now=req.now, operator=req.subject))


@api.route("/v1/admin/notices/{notice_id}", roles=(auth.OPERATOR,), response=AdminNoticeOut, errors=(404,),
           summary="One notice, whatever its status (operators)")
def admin_get_notice(req: Request, notice_id: str):
    return _admin(notices.get_any(_notice_id(notice_id)))


@api.route("/v1/admin/notices/{notice_id}", "PUT", roles=(auth.OPERATOR,), body=NoticeIn,
           response=AdminNoticeOut, errors=(404, 409), summary="Edit a notice (operators)")
def edit_notice(req: Request, notice_id: str):
    return _admin(notices.edit(_notice_id(notice_id), _draft(req.body), now=req.now, operator=req.subject))


@api.route("/v1/admin/notices/{notice_id}/withdraw", "POST", roles=(auth.OPERATOR,), response=AdminNoticeOut,
           errors=(404, 409), summary="Withdraw a notice from the public (operators)")
def withdraw_notice(req: Request, notice_id: str):
    return _admin(notices.withdraw(_notice_id(notice_id), now=req.now, operator=req.subject))


# ---------------------------------------------------------------- FAQ and service channels


class FaqQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | None = Field(None, max_length=20)


class FaqPage(BaseModel):
    items: list[guides.Faq]
    next_cursor: str | None = None


class ChannelPage(BaseModel):
    items: list[guides.Channel]
    next_cursor: str | None = None


@api.route("/v1/faq", roles=None, query=FaqQuery, response=FaqPage, cache_control=CATALOG_CACHE,
           summary="Frequently asked questions (常见问题), optionally of one category")
def faq(req: Request):
    items = [f for f in guides.faq() if req.query.category in (None, f.category)]
    return FaqPage(items=items)


@api.route("/v1/service-channels", roles=None, response=ChannelPage, cache_control=CATALOG_CACHE,
           summary="Service channels (服务渠道): hotline, SMS, app, website, counters")
def service_channels(req: Request):
    return ChannelPage(items=list(guides.channels()))


# ---------------------------------------------------------------- branches and partner properties


class BranchOut(BaseModel):
    branch_id: str
    name: str
    address: str
    phone: str
    hours: str | None


class BranchPage(BaseModel):
    items: list[BranchOut]
    next_cursor: str | None


class PropertyQuery(PageQuery):
    q: str | None = Field(None, max_length=50, description="part of the property's name")

    @field_validator("q")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class PropertyOut(BaseModel):
    project_no: str
    name: str
    developer: str
    address: str
    status: str


class PropertyPage(BaseModel):
    items: list[PropertyOut]
    next_cursor: str | None


@api.route("/v1/branches", roles=None, query=PageQuery, response=BranchPage, cache_control=CATALOG_CACHE,
           summary="Service branches (服务网点) with address, phone and hours")
def list_branches(req: Request):
    items, cursor = catalog.branches(limit=req.query.limit, cursor=req.query.cursor, scope=req.scope())
    return BranchPage(items=[BranchOut(branch_id=b.branch_id, name=b.name, address=b.address, phone=b.phone,
                                       hours=b.hours) for b in items], next_cursor=cursor)


@api.route("/v1/properties", roles=None, query=PropertyQuery, response=PropertyPage, cache_control=CATALOG_CACHE,
           summary="Partner properties (合作楼盘), searchable by name with ?q=")
def list_properties(req: Request):
    q = req.query.q
    items, cursor = catalog.properties(q, limit=req.query.limit, cursor=req.query.cursor, scope=req.scope(q or ""))
    return PropertyPage(items=[PropertyOut(project_no=p.project_no, name=p.name, developer=p.developer,
                                           address=p.address, status=p.status) for p in items], next_cursor=cursor)


# ---------------------------------------------------------------- rates (公积金利率)


class DepositRateOut(BaseModel):
    effective_from: date
    rate: Rate
    current: bool


class BandOut(BaseModel):
    up_to_5_years: Rate = Field(description=f"terms up to {loan_rules.UP_TO_5_YEARS_MONTHS} months")
    over_5_years: Rate


class LoanRateOut(BaseModel):
    effective_from: date
    first_home: BandOut
    second_home: BandOut = Field(description="the floor for a second home")
    current: bool


class RatesOut(BaseModel):
    as_of: date
    unit: Literal["percent_per_year"] = "percent_per_year"
    up_to_5_years_max_months: int = loan_rules.UP_TO_5_YEARS_MONTHS
    deposit: list[DepositRateOut] = Field(description="newest first")
    loan: list[LoanRateOut] = Field(description="newest first")


@api.route("/v1/rates", roles=None, response=RatesOut, cache_control=RATES_CACHE,
           summary="Deposit and loan rates with their effective dates (公积金利率)")
def rates(req: Request):
    table = policy.get().rates
    today = req.now.date()
    deposit_now = table.deposit_rate_on(today)
    loan_now = table.loan_rate_on(today)
    return RatesOut(
        as_of=today,
        deposit=[DepositRateOut(effective_from=r.effective_from, rate=r.rate, current=r is deposit_now)
                 for r in reversed(table.deposit)],
        loan=[LoanRateOut(effective_from=r.effective_from,
                          first_home=BandOut(**r.first_home.model_dump()),
                          second_home=BandOut(**r.second_home.model_dump()),
                          current=r is loan_now)
              for r in reversed(table.loan)],
    )
