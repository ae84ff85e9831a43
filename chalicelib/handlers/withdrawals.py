"""Withdrawals (提取): which types a depositor may withdraw today and how much, applying, and one application.

``POST /v1/withdrawals`` needs a step-up token and an ``Idempotency-Key``; each type's ``details`` are checked
against its own fields (CONTRACT section 5), a problem reported as ``details.<field>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from chalicelib import errors, policy
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.idempotency import request_serial
from chalicelib.http.schema import BaseModel
from chalicelib.money import Money, MoneyOut
from chalicelib.policy import WITHDRAWAL_TYPES
from chalicelib.services import withdrawals
from chalicelib.store.business import BusinessRecord

api = Api(__name__, tag="withdrawals")

WithdrawalType = Literal[WITHDRAWAL_TYPES]  # type: ignore[valid-type]
_CODE = Field(..., min_length=1, max_length=40, pattern=r"^[0-9A-Za-z\-_/()（）\u4e00-\u9fff]+$")


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoDetails(_Details):
    pass


class RetirementDetails(_Details):
    retire_unit: str = Field(..., min_length=1, max_length=60)
    retire_cert_no: str = _CODE
    approved_on: dt.date


class UnemploymentDetails(_Details):
    unemployment_cert_no: str = _CODE


class PurchaseDetails(_Details):
    purchase_contract_no: str = _CODE


class DownPaymentDetails(_Details):
    purchase_contract_no: str = _CODE
    purchase_date: dt.date = Field(..., description="购房合同签订日期: the withdrawal is open within the policy's "
                                                    "window after it (within_months)")


class BuildDetails(_Details):
    build_contract_no: str = _CODE


class HpfLoanDetails(_Details):
    contract_no: str = _CODE


class CommercialLoanDetails(_Details):
    bank: str = Field(..., min_length=2, max_length=60)
    loan_contract_no: str = _CODE


DETAILS: dict[str, type[_Details]] = {
    "retirement": RetirementDetails, "incapacity": NoDetails, "abroad": NoDetails, "employment_ended": NoDetails,
    "unemployment": UnemploymentDetails, "rent": NoDetails, "purchase": PurchaseDetails, "build": BuildDetails,
    "hpf_loan_repayment": HpfLoanDetails, "commercial_loan_repayment": CommercialLoanDetails,
    "property_fee": NoDetails, "loan_down_payment": DownPaymentDetails,
}


class TypeOut(BaseModel):
    type: str
    name: str
    eligible: bool
    reason_if_not: str | None
    reason_code: str | None = Field(None, description="pending, still_depositing, retirement_age, "
                                    "contract_used, window, account_status, sealed_months, paid_months, "
                                    "open_loan, no_loan, offset_signed, interval, housing_exclusive, no_balance, "
                                    "no_account")
    max_amount: MoneyOut | None = Field(None, description="您本次可以提取的金额 (null when not eligible)")
    message: str
    review: Literal["automatic", "manual"]
    closes_account: bool
    details_fields: list[str]


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: WithdrawalType
    amount: Money | None = Field(None, description="omitted: the most allowed; account-closing types take all")
    bank_card_id: str = Field(..., min_length=1, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, description="the type's own fields (CONTRACT section 5)")


class WithdrawalOut(BaseModel):
    serial_no: str
    type: str
    name: str
    status: str
    review: Literal["automatic", "manual"]
    amount: MoneyOut
    card: str | None
    submitted_at: str
    decided_at: str | None
    opinion: str | None
    details: dict[str, str]

    @classmethod
    def of(cls, r: BusinessRecord) -> WithdrawalOut:
        d = r.details.as_dict() if r.details else {}
        rule = policy.get().withdrawals.types[r.type]
        fields = set(DETAILS[r.type].model_fields)
        return cls(serial_no=r.serial_no, type=r.type, name=r.title, status=r.status, review=rule.review,
                   amount=int(r.amount or 0), card=d.get("card"), submitted_at=r.submitted_at,
                   decided_at=r.decided_at, opinion=r.opinion,
                   details={k: str(v) for k, v in d.items() if k in fields})


def _details(kind: str, raw: dict[str, Any]) -> dict[str, str]:
    try:
        parsed = DETAILS[kind].model_validate(raw)
    except ValidationError as exc:
        fields = errors.validation_details(exc)["fields"]
        raise errors.ValidationFailed(details={"fields": {f"details.{k}": v for k, v in fields.items()}}) from None
    return {k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in parsed.model_dump().items()}


@api.route("/v1/withdrawals/types", roles=(auth.DEPOSITOR,), response=list[TypeOut],
           summary="Every withdrawal type: may I withdraw now, why not, and how much (您本次可以提取的金额)")
def withdrawal_types(req: Request) -> list[TypeOut]:
    rules = policy.get().withdrawals.types
    return [TypeOut(type=v.type, name=v.name, eligible=v.eligible, reason_if_not=v.reason, reason_code=v.reason_code,
                    max_amount=v.max_amount if v.eligible else None, message=v.message,
                    review=rules[v.type].review, closes_account=rules[v.type].closes_account,
                    details_fields=list(DETAILS[v.type].model_fields))
            for v in withdrawals.types(auth.caller_id_number(req.subject), req.now)]


@api.route("/v1/withdrawals", "POST", roles=(auth.DEPOSITOR,), body=WithdrawalIn, response=WithdrawalOut,
           status=201, idempotent=True, step_up=True, errors=(404, 409, 422, 503),
           summary="Withdraw (提取): automatic types are paid at once, the others wait for the center's review")
def apply_for_withdrawal(req: Request) -> WithdrawalOut:
    b = req.body
    record = withdrawals.apply(id_number=auth.caller_id_number(req.subject), kind=b.type, amount=b.amount,
                               card_id=b.bank_card_id, details=_details(b.type, b.details),
                               serial=request_serial(req, "TQ"), now=req.now,
                               actor=f"depositor:{req.subject}", source=req.source_ip or None)
    return WithdrawalOut.of(record)


@api.route("/v1/withdrawals/{serial_no}", roles=(auth.DEPOSITOR,), response=WithdrawalOut, errors=(404,),
           summary="One of my withdrawal applications and its decision")
def withdrawal(req: Request, serial_no: str) -> WithdrawalOut:
    return WithdrawalOut.of(withdrawals.get(auth.caller_id_number(req.subject), serial_no))
