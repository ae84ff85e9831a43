"""Flexible employment (灵活就业): opening application, transfer-in, remittance, back-payment, seal/unseal,
monthly amount adjustment and exit withdrawal. Every money route is idempotent (``Idempotency-Key``)."""

from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict, Field

from chalicelib.fields import IdNumber, Mobile, Period, PersonName, SmsCode
from chalicelib.handlers.appointments import AppointmentOut
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.idempotency import request_serial
from chalicelib.http.schema import BaseModel
from chalicelib.money import Money, MoneyOut
from chalicelib.services import flexible, remittance

api = Api(__name__, tag="flexible")


class OpeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName = Field(..., min_length=1, max_length=40)
    id_number: IdNumber
    phone: Mobile
    sms_code: SmsCode
    id_front_upload: str = Field(..., min_length=1, max_length=64)
    id_back_upload: str = Field(..., min_length=1, max_length=64)
    branch_id: str = Field(..., min_length=1, max_length=40)
    date: dt.date
    slot: str = Field(..., min_length=1, max_length=20)
    monthly_amount: Money | None = None


class OpeningOut(BaseModel):
    serial_no: str
    status: str
    appointment: AppointmentOut | None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch_id: str = Field(..., min_length=1, max_length=40)
    date: dt.date
    slot: str = Field(..., min_length=1, max_length=20)


class WindowOut(BaseModel):
    open: bool
    opens_at: str
    closes_at: str


class MonthOut(BaseModel):
    period: str
    amount: MoneyOut


class QuoteBrief(BaseModel):
    from_period: str
    end_period: str
    months: int
    amount: MoneyOut
    lines: list[MonthOut]

    @classmethod
    def of(cls, q) -> QuoteBrief:
        return cls(from_period=q.from_period, end_period=q.end_period, months=q.months, amount=q.amount,
                   lines=[MonthOut(period=p, amount=a) for p, a in zip(q.periods, q.amounts, strict=True)])


class RemittanceView(BaseModel):
    """``due``: ``remit`` (POST /v1/flexible/remittances accepts ``period``), ``back_payment_first`` (pay
    ``back_payment`` with POST /v1/flexible/back-payments first), ``paid`` or ``sealed``."""

    period: str
    amount: MoneyOut
    window: WindowOut
    paid_through: str | None
    account_status: str
    due: str
    message: str
    from_period: str | None
    back_payment: QuoteBrief | None


class RemitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period
    bank_card_id: str = Field(..., min_length=1, max_length=64)


class PaymentOut(BaseModel):
    serial_no: str
    kind: str
    periods: list[str]
    amount: MoneyOut
    balance_after: MoneyOut
    paid_through: str
    status: str
    paid_at: str

    @classmethod
    def of(cls, p: remittance.Payment) -> PaymentOut:
        return cls(serial_no=p.serial_no, kind=p.kind, periods=list(p.periods), amount=p.amount,
                   balance_after=p.balance, paid_through=p.paid_through, status=p.status, paid_at=p.paid_at)


class BackPayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_period: Period


class QuoteOut(BaseModel):
    from_period: str
    end_period: str
    months: int
    amount: MoneyOut
    monthly_amount: MoneyOut      # the amount in force for the last month quoted
    lines: list[MonthOut]         # each month at the amount in force for it
    window: WindowOut


class BackPayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_period: Period
    bank_card_id: str = Field(..., min_length=1, max_length=64)


class StatusOut(BaseModel):
    account_no: str
    status: str
    monthly_amount: MoneyOut
    balance: MoneyOut
    paid_through: str | None


class AmountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money


class ExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_card_id: str = Field(..., min_length=1, max_length=64)


class ExitOut(BaseModel):
    serial_no: str
    status: str
    amount: MoneyOut
    account_status: str


def _status(acct) -> StatusOut:
    return StatusOut(account_no=acct.account_no, status=acct.status, monthly_amount=int(acct.monthly_amount or 0),
                     balance=int(acct.balance or 0), paid_through=acct.paid_through)


@api.route("/v1/flexible/applications", "POST", roles=None, body=OpeningIn, response=OpeningOut, status=201,
           idempotent=True, errors=(404, 409, 422, 503),
           summary="Opening application (开户申请) with ID photos and a branch appointment; no login")
def apply_for_opening(req: Request) -> OpeningOut:
    b = req.body
    serial = request_serial(req, "KH", b.id_number)
    record, appt = flexible.apply_for_opening(
        serial=serial, name=b.name, id_number=b.id_number, phone=b.phone, sms_code=b.sms_code,
        id_front_upload=b.id_front_upload, id_back_upload=b.id_back_upload, branch_id=b.branch_id, day=b.date,
        slot=b.slot, monthly_amount=b.monthly_amount, now=req.now)
    return OpeningOut(serial_no=record.serial_no, status=record.status,
                      appointment=AppointmentOut.of(appt) if appt else None)


@api.route("/v1/flexible/transfer-in", "POST", roles=(auth.DEPOSITOR,), body=TransferIn, response=AppointmentOut,
           status=201, idempotent=True, errors=(404, 409, 422),
           summary="Book the transfer into flexible employment (转入灵活就业预约) for a sealed account")
def transfer_in(req: Request) -> AppointmentOut:
    appt = flexible.transfer_in(id_number=auth.caller_id_number(req.subject), serial=request_serial(req, "ZR"),
                                branch_id=req.body.branch_id, day=req.body.date, slot=req.body.slot, now=req.now)
    return AppointmentOut.of(appt)


@api.route("/v1/flexible/remittance", roles=(auth.DEPOSITOR,), response=RemittanceView, errors=(422,),
           summary="What can be paid now (汇缴, or 补缴 first): period, amount, window, paid through")
def remittance_view(req: Request) -> RemittanceView:
    view = remittance.remittance_view(auth.caller_id_number(req.subject), req.now)
    q = view.pop("back_payment")
    return RemittanceView(**view, back_payment=QuoteBrief.of(q) if q is not None else None)


@api.route("/v1/flexible/remittances", "POST", roles=(auth.DEPOSITOR,), body=RemitIn, response=PaymentOut,
           status=201, idempotent=True, errors=(404, 409, 422, 503),
           summary="Pay this month (汇缴) from a bound card, inside the window")
def remit(req: Request) -> PaymentOut:
    payment = remittance.remit(id_number=auth.caller_id_number(req.subject), period=req.body.period,
                               card_id=req.body.bank_card_id, serial=request_serial(req, "HJ"), now=req.now,
                               actor=f"depositor:{req.subject}", source=req.source_ip or None)
    return PaymentOut.of(payment)


@api.route("/v1/flexible/back-payment", roles=(auth.DEPOSITOR,), query=BackPayQuery, response=QuoteOut,
           errors=(409, 422), summary="Quote a back-payment (补缴) up to an end month")
def back_payment_quote(req: Request) -> QuoteOut:
    id_number = auth.caller_id_number(req.subject)
    q = remittance.quote(id_number, req.query.end_period, req.now)
    return QuoteOut(from_period=q.from_period, end_period=q.end_period, months=q.months, amount=q.amount,
                    monthly_amount=q.amounts[-1], lines=[MonthOut(period=p, amount=a) for p, a in
                                                          zip(q.periods, q.amounts, strict=True)],
                    window=WindowOut(**remittance.window_view(req.now)))


@api.route("/v1/flexible/back-payments", "POST", roles=(auth.DEPOSITOR,), body=BackPayIn, response=PaymentOut,
           status=201, idempotent=True, errors=(404, 409, 422, 503),
           summary="Pay a back-payment (补缴) up to an end month, inside the window")
def back_pay(req: Request) -> PaymentOut:
    payment = remittance.back_pay(id_number=auth.caller_id_number(req.subject), end_period=req.body.end_period,
                                  card_id=req.body.bank_card_id, serial=request_serial(req, "BJ"), now=req.now,
                                  actor=f"depositor:{req.subject}", source=req.source_ip or None)
    return PaymentOut.of(payment)


@api.route("/v1/flexible/seal", "POST", roles=(auth.DEPOSITOR,), response=StatusOut, idempotent=True,
           errors=(409, 422), summary="Seal the account (封存): stop depositing")
def seal(req: Request) -> StatusOut:
    return _status(flexible.set_sealed(id_number=auth.caller_id_number(req.subject), sealed=True,
                                       serial=request_serial(req, "FC"), now=req.now))


@api.route("/v1/flexible/unseal", "POST", roles=(auth.DEPOSITOR,), response=StatusOut, idempotent=True,
           errors=(409, 422), summary="Unseal the account (启封): deposit again")
def unseal(req: Request) -> StatusOut:
    return _status(flexible.set_sealed(id_number=auth.caller_id_number(req.subject), sealed=False,
                                       serial=request_serial(req, "QF"), now=req.now))


@api.route("/v1/flexible/monthly-amount", "PUT", roles=(auth.DEPOSITOR,), body=AmountIn, response=StatusOut,
           idempotent=True, errors=(409, 422),
           summary="Change the monthly amount (月缴存额调整): adjustment month only, once a deposit year")
def adjust(req: Request) -> StatusOut:
    return _status(flexible.adjust_monthly_amount(id_number=auth.caller_id_number(req.subject), amount=req.body.amount,
                                                  serial=request_serial(req, "TZ"), now=req.now))


@api.route("/v1/flexible/exit", "POST", roles=(auth.DEPOSITOR,), body=ExitIn, response=ExitOut, status=201,
           idempotent=True, step_up=True, errors=(404, 409, 422, 503),
           summary="Exit withdrawal (退出缴存提取): the whole balance to a bound card, account closed")
def exit_withdrawal(req: Request) -> ExitOut:
    record = flexible.exit_withdrawal(id_number=auth.caller_id_number(req.subject), card_id=req.body.bank_card_id,
                                      serial=request_serial(req, "TC"), now=req.now, actor=f"depositor:{req.subject}",
                                      source=req.source_ip or None)
    return ExitOut(serial_no=record.serial_no, status=record.status, amount=int(record.amount or 0),
                   account_status="closed")
