"""Loan services for the borrower (贷款业务): 提前还本, 提前结清, 月对冲签约/解约 (CONTRACT section 5, Loans).

Prepayment and settlement move money: step-up token and ``Idempotency-Key``. The loan read routes (list,
progress, schedule, repayments) live in :mod:`chalicelib.handlers.loans`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool

from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.idempotency import request_serial
from chalicelib.http.schema import BaseModel
from chalicelib.masking import MaskedCard
from chalicelib.money import Money, MoneyOut
from chalicelib.services import loan_offset, loan_services

api = Api(__name__, tag="loans")


class PrepaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money
    mode: Literal["shorten_term", "lower_payment"] = Field(..., description="缩短期限 or 减少月供")


class PlanSummary(BaseModel):
    monthly_payment: MoneyOut
    last_payment: MoneyOut
    remaining_months: int
    total_interest: MoneyOut
    total_payment: MoneyOut


class PrepaymentOut(BaseModel):
    serial_no: str
    status: str
    contract_no: str
    amount: MoneyOut
    mode: str
    balance_after: MoneyOut
    term_months: int
    before: PlanSummary
    after: PlanSummary
    interest_saved: MoneyOut
    interest: MoneyOut = Field(..., description="accrued interest paid first: balance × rate / 360 × interest_days")
    interest_days: int
    principal: MoneyOut = Field(..., description="the rest of amount, paid off the balance")

    @classmethod
    def of(cls, o: loan_services.PrepaymentOutcome) -> PrepaymentOut:
        return cls(serial_no=o.serial_no, status=o.status, contract_no=o.contract_no, amount=o.amount, mode=o.mode,
                   balance_after=o.balance_after, term_months=o.term_months, before=PlanSummary(**o.before),
                   after=PlanSummary(**o.after), interest_saved=o.interest_saved, interest=o.interest,
                   interest_days=o.interest_days, principal=o.principal)


class Receipt(BaseModel):
    receipt_no: str
    contract_no: str
    bank: str
    repay_account: str = Field(..., description="masked")
    principal: MoneyOut
    interest: MoneyOut
    amount: MoneyOut
    settled_on: str
    bank_serial: str


class SettlementOut(BaseModel):
    serial_no: str
    status: str
    contract_no: str
    amount: MoneyOut
    principal: MoneyOut
    interest: MoneyOut
    interest_days: int
    loan_status: str
    receipt: Receipt

    @classmethod
    def of(cls, o: loan_services.SettlementOutcome) -> SettlementOut:
        return cls(serial_no=o.serial_no, status=o.status, contract_no=o.contract_no, amount=o.amount,
                   principal=o.principal, interest=o.interest, interest_days=o.days, loan_status="settled",
                   receipt=Receipt(receipt_no=o.serial_no, contract_no=o.contract_no, bank=o.bank,
                                   repay_account=o.repay_account, principal=o.principal, interest=o.interest,
                                   amount=o.amount, settled_on=o.settled_on, bank_serial=o.bank_serial))


class OffsetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signed: StrictBool


class OffsetOut(BaseModel):
    contract_no: str
    offset_signed: bool
    repayment_day: int
    repay_account: MaskedCard


@api.route("/v1/me/loans/{contract_no}/prepayments", "POST", roles=(auth.DEPOSITOR,), body=PrepaymentIn,
           response=PrepaymentOut, status=201, idempotent=True, step_up=True, errors=(404, 409, 422, 503),
           summary="Prepay principal (提前还本): shorter term or lower installment; new plan, interest saved")
def prepay(req: Request, contract_no: str) -> PrepaymentOut:
    outcome = loan_services.prepay(id_number=auth.caller_id_number(req.subject), contract_no=contract_no,
                                   amount=req.body.amount, mode=req.body.mode,
                                   serial=request_serial(req, "TH", contract_no), now=req.now)
    return PrepaymentOut.of(outcome)


@api.route("/v1/me/loans/{contract_no}/settlement", "POST", roles=(auth.DEPOSITOR,), response=SettlementOut,
           status=201, idempotent=True, step_up=True, errors=(404, 409, 422, 503),
           summary="Settle the loan early (提前结清): remaining principal plus accrued interest; a receipt")
def settle(req: Request, contract_no: str) -> SettlementOut:
    outcome = loan_services.settle(id_number=auth.caller_id_number(req.subject), contract_no=contract_no,
                                   serial=request_serial(req, "JQ", contract_no), now=req.now)
    return SettlementOut.of(outcome)


@api.route("/v1/me/loans/{contract_no}/offset", "PUT", roles=(auth.DEPOSITOR,), body=OffsetIn, response=OffsetOut,
           errors=(404, 409, 422), summary="Sign or cancel monthly offset (月对冲签约/解约)")
def offset(req: Request, contract_no: str) -> OffsetOut:
    loan = loan_offset.set_offset(id_number=auth.caller_id_number(req.subject), contract_no=contract_no,
                                    signed=req.body.signed, now=req.now)
    return OffsetOut(contract_no=loan.contract_no, offset_signed=bool(loan.offset_signed),
                     repayment_day=int(loan.repayment_day), repay_account=loan.repay_account)
