"""Citizens' calculators (便民工具): loan repayment (公积金贷款还款试算) and prepayment (提前还款试算).

Public and free of storage: the answers come from ``chalicelib.rules.loans``, the same code that draws up
real repayment plans and prepayments, so a trial calculation and the loan itself agree to the fen.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from chalicelib import errors, money, policy
from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.money import Money, MoneyOut
from chalicelib.rules import loans

api = Api(__name__, tag="tools")

_RATE_RE = re.compile(r"^\d{1,2}(\.\d{1,4})?$")


def _parse_rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str) or not _RATE_RE.match(value):
        raise ValueError('年利率须为百分数字符串，如 "3.10"（表示 3.10%）')
    return Decimal(value)


RateIn = Annotated[Decimal, BeforeValidator(_parse_rate),
                   WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}(\.\d{1,4})?$", "examples": ["3.10"],
                                   "description": "percent a year; the current policy rate when omitted"})]
RateOut = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str),
                    WithJsonSchema({"type": "string", "examples": ["3.10"], "description": "percent a year"})]
Method = Literal["equal_installment", "equal_principal"]
Home = Literal["first", "second"]


class _LoanTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: Money
    annual_rate: RateIn | None = None
    term_months: StrictInt = Field(ge=1, description="at most the policy's longest term")
    method: Method
    home: Home = Field("first", description="first or second home, for the default rate")

    @field_validator("principal")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("贷款本金须大于零")
        return value

    @field_validator("term_months")
    @classmethod
    def _within_policy(cls, value: int) -> int:
        longest = policy.get().loans.max_term_months
        if value > longest:
            raise ValueError(f"贷款期限不能超过 {longest} 个月")
        return value

    def rate(self, today: date) -> tuple[Decimal, str]:
        if self.annual_rate is not None:
            return self.annual_rate, "request"
        return loans.rate_for(policy.get().rates, today, self.term_months, self.home), "policy"


class LoanCalcIn(_LoanTerms):
    first_due: date | None = Field(None, description="date the first installment; periods then carry due_on")
    repayment_day: StrictInt | None = Field(None, ge=1, le=31)


class PeriodOut(BaseModel):
    period_no: int
    due_on: date | None
    payment: MoneyOut
    principal: MoneyOut
    interest: MoneyOut
    balance_after: MoneyOut


class LoanCalcOut(BaseModel):
    principal: MoneyOut
    annual_rate: RateOut
    rate_source: Literal["policy", "request"]
    term_months: int
    method: Method
    monthly_payment: MoneyOut = Field(description="the first installment (equal for equal installment)")
    last_payment: MoneyOut
    total_payment: MoneyOut
    total_interest: MoneyOut
    periods: list[PeriodOut]


class PrepayCalcIn(_LoanTerms):
    paid_periods: StrictInt = Field(0, ge=0, description="installments already paid")
    balance: Money | None = Field(None, description="the balance now; from the schedule when omitted")
    prepay_amount: Money
    mode: Literal["shorten_term", "lower_payment"]

    @model_validator(mode="after")
    def _consistent(self):
        if self.paid_periods >= self.term_months:
            raise ValueError("已还期数须少于贷款期限")
        if self.balance is not None and not 0 < self.balance <= self.principal:
            raise ValueError("贷款余额须大于零且不超过贷款本金")
        if self.prepay_amount <= 0:
            raise ValueError("提前还款金额须大于零")
        return self


class SummaryOut(BaseModel):
    balance: MoneyOut
    monthly_payment: MoneyOut
    last_payment: MoneyOut
    remaining_months: int
    total_interest: MoneyOut
    total_payment: MoneyOut


class PrepayCalcOut(BaseModel):
    annual_rate: RateOut
    rate_source: Literal["policy", "request"]
    method: Method
    mode: Literal["shorten_term", "lower_payment"]
    paid_periods: int
    balance: MoneyOut
    prepay_amount: MoneyOut
    before: SummaryOut
    after: SummaryOut
    interest_saved: MoneyOut
    months_saved: int
    notes: list[str] = Field(description="policy conditions this trial does not meet (提示)")


def _refused(exc: ValueError, field: str = "body") -> errors.ValidationFailed:
    return errors.ValidationFailed(str(exc), details={"fields": {field: str(exc)}})


def _summary(s: loans.Summary) -> SummaryOut:
    return SummaryOut(balance=s.balance, monthly_payment=s.monthly_payment, last_payment=s.last_payment,
                      remaining_months=s.remaining_months, total_interest=s.total_interest,
                      total_payment=s.total_payment)


@api.route("/v1/tools/loan-calculator", "POST", roles=None, body=LoanCalcIn, response=LoanCalcOut,
           summary="Repayment schedule of a loan (还款试算), exact to the fen")
def loan_calculator(req: Request):
    body: LoanCalcIn = req.body
    rate, source = body.rate(req.now.date())
    try:
        plan = loans.schedule(body.principal, rate, body.term_months, body.method, first_due=body.first_due,
                              repayment_day=body.repayment_day,
                              max_term_months=policy.get().loans.max_term_months)
    except ValueError as exc:
        raise _refused(exc) from None
    return LoanCalcOut.model_validate({
        "principal": plan.principal, "annual_rate": rate, "rate_source": source, "term_months": plan.term_months,
        "method": plan.method, "monthly_payment": plan.monthly_payment, "last_payment": plan.last_payment,
        "total_payment": plan.total_payment, "total_interest": plan.total_interest,
        "periods": [vars(p) for p in plan.periods],
    })


def _policy_notes(body: PrepayCalcIn, balance: int) -> list[str]:
    rules = policy.get().loans.prepayment
    notes = []
    if body.paid_periods < rules.min_months_repaid:
        notes.append(f"正常还款满 {rules.min_months_repaid} 个月后才能申请提前还款")
    if body.prepay_amount < min(rules.min_amount, balance):
        notes.append(f"每次提前部分还款不少于 {money.format(rules.min_amount)} 元")
    return notes


@api.route("/v1/tools/prepayment-calculator", "POST", roles=None, body=PrepayCalcIn, response=PrepayCalcOut,
           summary="Before and after a partial prepayment (提前还款试算) and the interest saved")
def prepayment_calculator(req: Request):
    body: PrepayCalcIn = req.body
    rate, source = body.rate(req.now.date())
    try:
        if body.balance is None:
            original = loans.schedule(body.principal, rate, body.term_months, body.method)
            balance = loans.balance_after(original, body.paid_periods)
        else:
            balance = body.balance
    except ValueError as exc:
        raise _refused(exc) from None
    if body.prepay_amount > balance:
        raise errors.ValidationFailed.field("prepay_amount", f"提前还款金额不能超过贷款余额 {money.format(balance)} 元")
    try:
        result = loans.prepayment(balance, rate, body.term_months - body.paid_periods, body.method,
                                  body.prepay_amount, body.mode)
    except ValueError as exc:
        raise _refused(exc) from None
    return PrepayCalcOut(
        annual_rate=rate, rate_source=source, method=body.method, mode=body.mode, paid_periods=body.paid_periods,
        balance=balance, prepay_amount=body.prepay_amount, before=_summary(result.before),
        after=_summary(result.after), interest_saved=result.interest_saved,
        months_saved=result.before.remaining_months - result.after.remaining_months,
        notes=_policy_notes(body, balance),
    )
