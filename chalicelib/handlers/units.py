"""The unit web hall (单位网厅): unit information and its change, employees (职工), registration (缴存人登记),
employee information change and sealing, base adjustment (基数调整), remittance rosters (汇缴清册) and their
payment, back-payment (补缴).

The caller is a unit logged in with its certificate (role ``unit``, subject = the unit number); every route
reads and writes only that unit's data. ID numbers, phones and bank accounts leave masked.
"""

from __future__ import annotations

import secrets

from pydantic import ConfigDict, Field

from chalicelib.fields import BankAccountNo, Code, IdNumber, Mobile, OrgName, Period, PersonName
from chalicelib.handlers.hall_business import HallBusinessOut, HallBusinessPage, business_page
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.idempotency import request_serial, serial_from_key
from chalicelib.http.pagination import PageQuery, envelope
from chalicelib.http.schema import BaseModel
from chalicelib.masking import MaskedCard, MaskedId, MaskedPhone
from chalicelib.money import Money, MoneyOut
from chalicelib.services import roster, units
from chalicelib.store.rosters import Roster, RosterLine

api = Api(__name__, tag="units")
UNIT = (auth.UNIT,)



class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- models


class UnitOut(BaseModel):
    unit_no: str
    name: str
    credit_code: str
    ratio_unit: str
    ratio_person: str
    status: str
    agent_name: str
    agent_phone: MaskedPhone
    bank_name: str | None
    bank_account: MaskedCard | None
    paid_through: str | None


class ChangeIn(_In):
    name: OrgName | None = Field(default=None, min_length=1, max_length=100)
    agent_name: PersonName | None = Field(default=None, min_length=1, max_length=40)
    agent_phone: Mobile | None = None
    bank_name: OrgName | None = Field(default=None, min_length=1, max_length=60)
    bank_account: BankAccountNo | None = None
    reason: str = Field(min_length=1, max_length=200, description="变更原因")


class EmployeeOut(BaseModel):
    account_no: str
    name: str
    id_number: MaskedId
    phone: MaskedPhone
    status: str
    base: MoneyOut
    ratio_unit: str | None
    ratio_person: str | None
    unit_share: MoneyOut
    person_share: MoneyOut
    monthly_amount: MoneyOut
    paid_through: str | None
    opened_on: str
    sealed_on: str | None

    @classmethod
    def of(cls, e: units.Employee) -> EmployeeOut:
        a, c = e.account, e.contribution
        return cls(account_no=a.account_no, name=e.name, id_number=a.id_number, phone=e.phone, status=a.status,
                   base=int(a.base or 0), ratio_unit=a.ratio_unit, ratio_person=a.ratio_person,
                   unit_share=c.unit_share, person_share=c.person_share, monthly_amount=int(a.monthly_amount or 0),
                   paid_through=a.paid_through, opened_on=a.opened_on, sealed_on=a.sealed_on)


class EmployeePage(BaseModel):
    items: list[EmployeeOut]
    next_cursor: str | None


class EmployeeIn(_In):
    name: PersonName = Field(min_length=1, max_length=40)
    id_number: IdNumber
    phone: Mobile
    base: Money = Field(description="缴存基数 (monthly wage base)")
    ratio_unit: str | None = Field(default=None, max_length=6, description="percent; the unit's ratio by default")
    ratio_person: str | None = Field(default=None, max_length=6)



class EmployeeChangeIn(_In):
    name: PersonName | None = Field(default=None, min_length=1, max_length=40)
    phone: Mobile | None = None
    reason: str = Field(default="单位申请变更职工信息", min_length=1, max_length=200, description="变更原因")


class SealIn(_In):
    reason: str = Field(min_length=1, max_length=200, description="封存原因, e.g. 离职")


class BaseLine(_In):
    account_no: Code
    base: Money


class BaseAdjustmentIn(_In):
    lines: list[BaseLine] = Field(min_length=1, max_length=5000)


class AdjustedOut(BaseModel):
    account_no: str
    old_base: MoneyOut
    base: MoneyOut
    monthly_amount: MoneyOut


class BaseAdjustmentOut(BaseModel):
    serial_no: str
    adjusted: int
    lines: list[AdjustedOut]


class RosterIn(_In):
    period: Period = Field(description="清册年月 YYYYMM")


class BackLine(_In):
    account_no: Code
    end_period: Period = Field(description="补缴至 YYYYMM")


class BackPaymentIn(_In):
    lines: list[BackLine] = Field(min_length=1, max_length=5000)


class PayIn(_In):
    bank_account: BankAccountNo | None = None


class RosterOut(BaseModel):
    roster_no: str
    serial_no: str
    kind: str
    period: str | None
    from_period: str
    end_period: str
    status: str
    employees: int
    lines: int
    unit_total: MoneyOut
    person_total: MoneyOut
    total: MoneyOut
    skipped: int
    note: str | None
    created_at: str
    bank_account: MaskedCard | None
    paid_at: str | None
    credited: int | None
    credited_amount: MoneyOut | None
    refunded_amount: MoneyOut | None
    reason: str | None

    @classmethod
    def of(cls, r: Roster) -> RosterOut:
        def fen(value):
            return int(value) if value is not None else None

        return cls(roster_no=r.roster_no, serial_no=r.roster_no, kind=r.kind, period=r.period,
                   from_period=r.from_period, end_period=r.end_period, status=r.status, employees=int(r.employees),
                   lines=int(r.lines), unit_total=int(r.unit_total), person_total=int(r.person_total),
                   total=int(r.total), skipped=int(r.skipped or 0), note=r.note, created_at=r.created_at,
                   bank_account=r.bank_account, paid_at=r.paid_at, credited=fen(r.credited),
                   credited_amount=fen(r.credited_amount), refunded_amount=fen(r.refunded_amount), reason=r.reason)


class RosterPage(BaseModel):
    items: list[RosterOut]
    next_cursor: str | None


class LineOut(BaseModel):
    account_no: str
    name: str
    id_number: MaskedId
    period: str
    base: MoneyOut
    ratio_unit: str
    ratio_person: str
    unit_share: MoneyOut
    person_share: MoneyOut
    amount: MoneyOut

    @classmethod
    def of(cls, line: RosterLine, name: str) -> LineOut:
        return cls(account_no=line.account_no, name=name, id_number=line.id_number, period=line.period,
                   base=int(line.base), ratio_unit=line.ratio_unit, ratio_person=line.ratio_person,
                   unit_share=int(line.unit_share), person_share=int(line.person_share), amount=int(line.amount))


class LinePage(BaseModel):
    items: list[LineOut]
    next_cursor: str | None


# ---------------------------------------------------------------- unit


@api.route("/v1/units/me", roles=UNIT, response=UnitOut, errors=(404,), summary="The unit's information (单位信息)")
def unit_info(req: Request) -> UnitOut:
    u = units.unit_of(req.subject)
    return UnitOut(unit_no=u.unit_no, name=u.name, credit_code=u.credit_code, ratio_unit=u.ratio_unit,
                   ratio_person=u.ratio_person, status=u.status, agent_name=u.agent_name, agent_phone=u.agent_phone,
                   bank_name=u.bank_name, bank_account=u.bank_account, paid_through=u.paid_through)


@api.route("/v1/units/me/change-requests", "POST", roles=UNIT, body=ChangeIn, response=HallBusinessOut, status=201,
           idempotent=True, errors=(404, 409), summary="Ask for a change of the unit's information (单位信息变更)")
def request_change(req: Request) -> HallBusinessOut:
    b = req.body
    record = units.request_change(req.subject, serial=request_serial(req, "DB"), reason=b.reason,
                                  changes=b.model_dump(exclude={"reason"}), now=req.now)
    return HallBusinessOut.of(record)


@api.route("/v1/units/me/business", roles=UNIT, query=PageQuery, response=HallBusinessPage,
           summary="The unit's business, newest first (单位业务明细)")
def unit_business(req: Request) -> dict:
    return business_page(req, units.owner(req.subject))


# ---------------------------------------------------------------- employees


@api.route("/v1/units/me/employees", roles=UNIT, query=PageQuery, response=EmployeePage,
           summary="The unit's employees (职工列表), by account number")
def employees(req: Request) -> dict:
    items, cursor = units.employees_page(req.subject, limit=req.query.limit, cursor=req.query.cursor,
                                         scope=req.scope())
    return envelope([EmployeeOut.of(e) for e in items], cursor)


@api.route("/v1/units/me/employees", "POST", roles=UNIT, body=EmployeeIn, response=EmployeeOut, status=201,
           idempotent=True, errors=(404, 409, 422), summary="Register an employee (缴存人登记)")
def register_employee(req: Request) -> EmployeeOut:
    b = req.body
    e = units.register_employee(req.subject, serial=request_serial(req, "DJ"), name=b.name, id_number=b.id_number,
                                phone=b.phone, base_fen=b.base, ratio_unit=b.ratio_unit, ratio_person=b.ratio_person,
                                now=req.now)
    return EmployeeOut.of(e)


@api.route("/v1/units/me/employees/{account_no}", roles=UNIT, response=EmployeeOut, errors=(404,),
           summary="One employee of the unit")
def employee(req: Request, account_no: str) -> EmployeeOut:
    return EmployeeOut.of(units.employee(req.subject, account_no))


@api.route("/v1/units/me/employees/{account_no}", "PUT", roles=UNIT, body=EmployeeChangeIn, response=HallBusinessOut,
           status=202, errors=(404, 409),
           summary="Ask the center to change an employee's name or phone (缴存人信息变更); it waits in the center's "
           "review queue (kind employee_change) and nothing changes before approval")
def change_employee(req: Request, account_no: str) -> HallBusinessOut:
    b = req.body
    key = req.headers.get("idempotency-key")       # optional here: a repeat with the same key is the same request
    serial = serial_from_key(req.scope(), key[:128], "BG") if key else "BG" + secrets.token_hex(8).upper()
    return HallBusinessOut.of(units.request_employee_change(req.subject, account_no, serial=serial, name=b.name,
                                                            phone=b.phone, reason=b.reason, now=req.now))


@api.route("/v1/units/me/employees/{account_no}/seal", "POST", roles=UNIT, body=SealIn, response=EmployeeOut,
           idempotent=True, errors=(404, 409, 422), summary="Seal the account of an employee who left (封存)")
def seal_employee(req: Request, account_no: str) -> EmployeeOut:
    return EmployeeOut.of(units.seal_employee(req.subject, account_no, serial=request_serial(req, "FC"),
                                              reason=req.body.reason, now=req.now))


@api.route("/v1/units/me/base-adjustments", "POST", roles=UNIT, body=BaseAdjustmentIn, response=BaseAdjustmentOut,
           status=201, idempotent=True, errors=(404, 409, 422),
           summary="Adjust many employees' bases at once (基数调整), in the adjustment month; all lines or none")
def adjust_bases(req: Request) -> BaseAdjustmentOut:
    serial = request_serial(req, "JS")
    done = units.adjust_bases(req.subject, serial=serial, lines=[(x.account_no, x.base) for x in req.body.lines],
                              now=req.now)
    return BaseAdjustmentOut(serial_no=serial, adjusted=len(done), lines=[
        AdjustedOut(account_no=a.account_no, old_base=a.old_base, base=a.base, monthly_amount=a.monthly_amount)
        for a in done])


# ---------------------------------------------------------------- rosters


@api.route("/v1/units/me/rosters", "POST", roles=UNIT, body=RosterIn, response=RosterOut, status=201,
           idempotent=True, errors=(404, 409, 422), summary="Compute the month's remittance roster (汇缴清册)")
def create_roster(req: Request) -> RosterOut:
    return RosterOut.of(roster.create_remittance(req.subject, serial=request_serial(req, "HJ"), period=req.body.period,
                                                 now=req.now))


@api.route("/v1/units/me/back-payments", "POST", roles=UNIT, body=BackPaymentIn, response=RosterOut, status=201,
           idempotent=True, errors=(404, 409, 422),
           summary="Compute a back-payment roster (补缴清册) for chosen employees up to chosen months")
def create_back_payment(req: Request) -> RosterOut:
    lines = [(x.account_no, x.end_period) for x in req.body.lines]
    return RosterOut.of(roster.create_back_payment(req.subject, serial=request_serial(req, "BJ"), lines=lines,
                                                   now=req.now))


@api.route("/v1/units/me/rosters", roles=UNIT, query=PageQuery, response=RosterPage,
           summary="The unit's rosters, newest first")
def rosters(req: Request) -> dict:
    items, cursor = roster.rosters_page(req.subject, limit=req.query.limit, cursor=req.query.cursor,
                                        scope=req.scope())
    return envelope([RosterOut.of(r) for r in items], cursor)


@api.route("/v1/units/me/rosters/{roster_no}", roles=UNIT, response=RosterOut, errors=(404,), summary="One roster")
def roster_view(req: Request, roster_no: str) -> RosterOut:
    return RosterOut.of(roster.roster_of(req.subject, roster_no))


@api.route("/v1/units/me/rosters/{roster_no}/lines", roles=UNIT, query=PageQuery, response=LinePage, errors=(404,),
           summary="A roster's lines (清册明细), by account and month")
def roster_lines(req: Request, roster_no: str) -> dict:
    items, cursor = roster.lines_page(req.subject, roster_no, limit=req.query.limit, cursor=req.query.cursor,
                                      scope=req.scope(roster_no))
    return envelope([LineOut.of(line, name) for line, name in items], cursor)


@api.route("/v1/units/me/rosters/{roster_no}", "DELETE", roles=UNIT, response=RosterOut, errors=(404, 409),
           summary="Void a roster that is not paid (作废清册)")
def cancel_roster(req: Request, roster_no: str) -> RosterOut:
    return RosterOut.of(roster.cancel(req.subject, roster_no, now=req.now))


@api.route("/v1/units/me/rosters/{roster_no}/payment", "POST", roles=UNIT, body=PayIn, response=RosterOut,
           idempotent=True, errors=(404, 409, 422, 503),
           summary="Pay a roster: one debit of the unit, every line credited once (汇缴/补缴入账); resumable")
def pay_roster(req: Request, roster_no: str) -> RosterOut:
    paid = roster.pay(req.subject, roster_no, bank_account=req.body.bank_account, now=req.now,
                      actor=f"unit:{req.subject}", source=req.source_ip or None)
    return RosterOut.of(paid)
