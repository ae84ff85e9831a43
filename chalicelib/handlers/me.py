"""The depositor's own information (信息查询): who they are, their account (基本信息/缴存信息/贷款信息), deposit
records (缴存明细), withdrawal records (提取明细), both merged (缴存支取信息), and what they applied for online
(业务明细/我发起的).

A person with several accounts sees the current one; ``?account_no=`` names another of their own (see
:mod:`chalicelib.services.account_records`). Lists are date-ranged (``?from=&to=``), newest first, one
DynamoDB Query a page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import ConfigDict, Field

from chalicelib.fields import RecordKey
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.pagination import DateRangeQuery, PageQuery, envelope, page
from chalicelib.http.schema import BaseModel
from chalicelib.masking import MaskedId, MaskedPhone
from chalicelib.money import MoneyOut
from chalicelib.services import account_records as records
from chalicelib.store.business import BusinessRecord

api = Api(__name__, tag="me")

AccountNo = Annotated[RecordKey | None, Field(description="one of my own accounts; default: the current one")]


class MeOut(BaseModel):
    name: str
    id_number: MaskedId
    phone: MaskedPhone
    user_id: str
    sms_subscribed: bool


class AccountQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_no: AccountNo = None


class RecordsQuery(DateRangeQuery):
    account_no: AccountNo = None


class AccountUnitOut(BaseModel):
    unit_no: str
    name: str


class HolderOut(BaseModel):
    name: str
    id_number: MaskedId
    phone: MaskedPhone


class AccountBrief(BaseModel):
    account_no: str
    kind: str
    status: str
    opened_on: str


class LoanBrief(BaseModel):
    contract_no: str
    bank: str
    status: str
    principal: MoneyOut
    balance: MoneyOut
    term_months: int
    paid_periods: int


class AccountOut(BaseModel):
    account_no: str
    kind: str
    status: str
    unit: AccountUnitOut | None
    base: MoneyOut
    ratio_person: str | None
    ratio_unit: str | None
    monthly_amount: MoneyOut
    balance: MoneyOut
    paid_through: str | None
    opened_on: str
    last_withdrawal_on: str | None
    holder: HolderOut
    accounts: list[AccountBrief]
    loans: list[LoanBrief]


class DepositOut(BaseModel):
    serial_no: str
    date: dt.date
    period: str | None
    kind: str
    title: str
    amount: MoneyOut
    balance_before: MoneyOut
    balance_after: MoneyOut
    carried_over: MoneyOut | None = Field(description="上期余额: balance carried into this HPF year")
    year_to_date: MoneyOut | None = Field(description="本期余额: balance_after − carried_over")


class WithdrawalRecordOut(BaseModel):
    serial_no: str
    date: dt.date
    type: str | None
    title: str
    amount: MoneyOut
    balance_after: MoneyOut
    status: str = Field(description="posted: taken from the account, the bank is paying it out (处理中); "
                                    "paid: the bank paid it (已到账); reversed: the bank refused it and the money "
                                    "was put back (已退回, see the reversal deposit)")


class MovementOut(BaseModel):
    serial_no: str
    date: dt.date
    direction: str = Field(description="in (缴存) | out (支取)")
    kind: str
    type: str | None
    period: str | None
    title: str
    amount: MoneyOut
    balance_before: MoneyOut
    balance_after: MoneyOut
    status: str


class DepositPage(BaseModel):
    account_no: str
    items: list[DepositOut]
    next_cursor: str | None


class WithdrawalPage(BaseModel):
    account_no: str
    items: list[WithdrawalRecordOut]
    next_cursor: str | None


class MovementPage(BaseModel):
    account_no: str
    items: list[MovementOut]
    next_cursor: str | None


class MyBusinessOut(BaseModel):
    serial_no: str
    type: str
    subtype: str | None
    title: str
    status: str
    submitted_at: str
    decided_at: str | None
    opinion: str | None
    amount: MoneyOut | None


class MyBusinessPage(BaseModel):
    items: list[MyBusinessOut]
    next_cursor: str | None


@api.route("/v1/me", roles=(auth.DEPOSITOR,), response=MeOut, summary="Who I am (个人基本信息), masked")
def me(req: Request) -> MeOut:
    user, person = records.profile(req.subject)
    return MeOut(name=person.name, id_number=user.id_number, phone=user.phone, user_id=user.user_id,
                 sms_subscribed=bool(user.sms_subscribed))


@api.route("/v1/me/account", roles=(auth.DEPOSITOR,), query=AccountQuery, response=AccountOut, errors=(404,),
           summary="My account: basic, deposit and loan information (账户信息)")
def account(req: Request) -> AccountOut:
    view = records.account_view(auth.caller_id_number(req.subject), req.query.account_no)
    a, p = view.account, view.person
    return AccountOut(
        account_no=a.account_no, kind=a.kind, status=a.status,
        unit=AccountUnitOut(unit_no=view.unit.unit_no, name=view.unit.name) if view.unit else None,
        base=int(a.base or 0), ratio_person=a.ratio_person, ratio_unit=a.ratio_unit,
        monthly_amount=int(a.monthly_amount or 0), balance=int(a.balance or 0), paid_through=a.paid_through,
        opened_on=a.opened_on, last_withdrawal_on=a.last_withdrawal_on,
        holder=HolderOut(name=p.name, id_number=p.id_number, phone=p.phone),
        accounts=[AccountBrief(account_no=x.account_no, kind=x.kind, status=x.status, opened_on=x.opened_on)
                  for x in view.accounts],
        loans=[LoanBrief(contract_no=loan.contract_no, bank=loan.bank, status=loan.status,
                         principal=int(loan.principal), balance=int(loan.balance), term_months=int(loan.term_months),
                         paid_periods=int(loan.paid_periods or 0)) for loan in view.loans])


def _page(req: Request, listing: records.Listing):
    q = req.query
    return records.records_page(listing, id_number=auth.caller_id_number(req.subject), account_no=q.account_no,
                                start=q.from_, end=q.to, limit=q.limit, cursor=q.cursor,
                                scope=req.scope(f"{q.from_}|{q.to}"))


@api.route("/v1/me/deposits", roles=(auth.DEPOSITOR,), query=RecordsQuery, response=DepositPage, errors=(404,),
           summary="My deposit records (缴存明细), newest first, with 上期余额/本期余额/合计余额")
def deposits(req: Request) -> DepositPage:
    acct, entries, cursor = _page(req, records.DEPOSITS)
    items = []
    for e in entries:
        carried, ytd = records.year_figures(acct, e)
        items.append(DepositOut(serial_no=e.serial_no, date=e.date, period=e.period, kind=e.kind,
                                title=records.title_of(e), amount=int(e.amount), balance_before=int(e.balance_before),
                                balance_after=int(e.balance_after), carried_over=carried, year_to_date=ytd))
    return DepositPage(account_no=acct.account_no, items=items, next_cursor=cursor)


@api.route("/v1/me/withdrawals", roles=(auth.DEPOSITOR,), query=RecordsQuery, response=WithdrawalPage,
           errors=(404,), summary="My withdrawal records (提取明细), newest first")
def withdrawals(req: Request) -> WithdrawalPage:
    acct, entries, cursor = _page(req, records.WITHDRAWALS)
    items = [WithdrawalRecordOut(serial_no=e.serial_no, date=e.date, type=e.type, title=records.title_of(e),
                           amount=int(e.amount), balance_after=int(e.balance_after), status=e.status)
             for e in entries]
    return WithdrawalPage(account_no=acct.account_no, items=items, next_cursor=cursor)


@api.route("/v1/me/transactions", roles=(auth.DEPOSITOR,), query=RecordsQuery, response=MovementPage,
           errors=(404,), summary="Deposits and withdrawals merged (缴存支取信息), newest first")
def transactions(req: Request) -> MovementPage:
    acct, entries, cursor = _page(req, records.MOVEMENTS)
    items = [MovementOut(serial_no=e.serial_no, date=e.date, direction="in" if e.direction == "D" else "out",
                         kind=e.kind, type=e.type, period=e.period, title=records.title_of(e), amount=int(e.amount),
                         balance_before=int(e.balance_before), balance_after=int(e.balance_after), status=e.status)
             for e in entries]
    return MovementPage(account_no=acct.account_no, items=items, next_cursor=cursor)


@api.route("/v1/me/business", roles=(auth.DEPOSITOR,), query=PageQuery, response=MyBusinessPage,
           summary="What I applied for online (业务明细/我发起的), newest first, with status and opinion")
def business(req: Request) -> dict:
    items, cursor = page(BusinessRecord.owner_index.query, hash_key=auth.caller_id_number(req.subject),
                         scan_index_forward=False, limit=req.query.limit, cursor=req.query.cursor, scope=req.scope())
    return envelope([MyBusinessOut(serial_no=r.serial_no, type=r.kind, subtype=r.type, title=r.title, status=r.status,
                                 submitted_at=r.submitted_at, decided_at=r.decided_at, opinion=r.opinion,
                                 amount=int(r.amount) if r.amount is not None else None) for r in items], cursor)
