"""My HPF loans (我的贷款): loan information (贷款信息), progress (贷款进度), repayment plan (还款计划) and
repayment records (还款明细, "第21期/总120期"). Read only; prepayment, settlement and offset signing are in
:mod:`chalicelib.handlers.loan_services`.

A contract number that is not the caller's is 404, like an unknown one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from chalicelib import clock
from chalicelib.handlers.content import Rate
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.pagination import PageQuery, page
from chalicelib.http.schema import BaseModel
from chalicelib.masking import MaskedCard
from chalicelib.money import MoneyOut
from chalicelib.services import loan_queries
from chalicelib.store.loans import EXTRA_KEY_BASE, Loan, Repayment, stages_of

api = Api(__name__, tag="loans")


class LoanOut(BaseModel):
    contract_no: str
    bank: str
    repay_account: MaskedCard
    principal: MoneyOut
    balance: MoneyOut
    annual_rate: Rate
    term_months: int
    paid_periods: int
    method: str
    status: str
    disbursed_on: str | None
    repayment_day: int
    next_due_on: dt.date | None
    next_amount: MoneyOut | None
    offset_signed: bool
    arrears: MoneyOut | None = None              # 逾期本息 while status is overdue
    overdue_since: dt.date | None = None         # due date of the oldest unpaid installment
    penalty_to_date: MoneyOut | None = None      # 罚息 accrued on the arrears until today

    @classmethod
    def of(cls, loan: Loan) -> LoanOut:
        plan = loan_queries.plan_of(loan)
        nxt = plan.next_due if plan else None
        return cls(contract_no=loan.contract_no, bank=loan.bank, repay_account=loan.repay_account,
                   principal=int(loan.principal), balance=int(loan.balance), annual_rate=Decimal(loan.annual_rate),
                   term_months=int(loan.term_months), paid_periods=int(loan.paid_periods or 0), method=loan.method,
                   status=loan.status, disbursed_on=loan.disbursed_on or None, repayment_day=int(loan.repayment_day),
                   next_due_on=nxt.due_on if nxt else None, next_amount=nxt.payment if nxt else None,
                   offset_signed=bool(loan.offset_signed),
                   arrears=int(loan.arrears) if loan.arrears is not None else None,
                   overdue_since=loan.overdue_since or None,
                   penalty_to_date=loan_queries.penalty_to_date(loan, clock.now().astimezone(clock.CHINA).date()))


class StageOut(BaseModel):
    code: str
    name: str
    state: str
    at: str | None
    note: str | None


class ProgressOut(BaseModel):
    contract_no: str
    status: str
    stages: list[StageOut]


class PlanPeriodOut(BaseModel):
    period_no: int
    due_on: dt.date | None
    payment: MoneyOut
    principal: MoneyOut
    interest: MoneyOut
    balance_after: MoneyOut
    paid: bool


class ScheduleOut(BaseModel):
    contract_no: str
    method: str
    annual_rate: Rate
    principal: MoneyOut
    balance: MoneyOut
    term_months: int
    paid_periods: int
    recomputed: bool
    remaining_interest: MoneyOut
    periods: list[PlanPeriodOut]


class RepaymentOut(BaseModel):
    date: dt.date
    period_no: int
    periods_total: int
    label: str
    kind: Literal["installment", "prepayment", "settlement"]
    amount: MoneyOut
    principal: MoneyOut
    interest: MoneyOut
    penalty: MoneyOut
    balance_after: MoneyOut
    from_hpf: MoneyOut | None = None             # paid from the HPF account (月对冲)
    from_bank: MoneyOut | None = None            # debited from the repayment bank account


class RepaymentPage(BaseModel):
    contract_no: str
    items: list[RepaymentOut]
    next_cursor: str | None


@api.route("/v1/me/loans", roles=(auth.DEPOSITOR,), response=list[LoanOut],
           summary="My loans (贷款信息) with the next installment")
def my_loans(req: Request) -> list[LoanOut]:
    return [LoanOut.of(loan) for loan in loan_queries.loans_of(auth.caller_id_number(req.subject))]


@api.route("/v1/me/loans/{contract_no}/progress", roles=(auth.DEPOSITOR,), response=ProgressOut, errors=(404,),
           summary="Loan progress (贷款进度): every stage with its state and time")
def progress(req: Request, contract_no: str) -> ProgressOut:
    loan = loan_queries.loan_of(auth.caller_id_number(req.subject), contract_no)
    return ProgressOut(contract_no=loan.contract_no, status=loan.status,
                       stages=[StageOut(**s) for s in stages_of(loan)])


@api.route("/v1/me/loans/{contract_no}/schedule", roles=(auth.DEPOSITOR,), response=ScheduleOut, errors=(404, 422),
           summary="The repayment plan (还款计划), period by period, paid periods marked")
def schedule(req: Request, contract_no: str) -> ScheduleOut:
    loan = loan_queries.loan_of(auth.caller_id_number(req.subject), contract_no)
    plan = loan_queries.require_plan(loan)
    return ScheduleOut(contract_no=loan.contract_no, method=loan.method, annual_rate=Decimal(loan.annual_rate),
                       principal=int(loan.principal), balance=int(loan.balance), term_months=int(loan.term_months),
                       paid_periods=int(loan.paid_periods or 0), recomputed=plan.recomputed,
                       remaining_interest=plan.remaining_interest,
                       periods=[PlanPeriodOut(period_no=p.period_no, due_on=p.due_on, payment=p.payment,
                                          principal=p.principal, interest=p.interest, balance_after=p.balance_after,
                                          paid=p.paid) for p in plan.periods])


@api.route("/v1/me/loans/{contract_no}/repayments", roles=(auth.DEPOSITOR,), query=PageQuery,
           response=RepaymentPage, errors=(404,),
           summary="Repayment records (还款明细), newest first: 第n期/总N期, principal, interest, penalty, balance")
def repayments(req: Request, contract_no: str) -> RepaymentPage:
    loan = loan_queries.loan_of(auth.caller_id_number(req.subject), contract_no)
    total = int(loan.term_months)
    items, cursor = page(Repayment.query, hash_key=loan.contract_no, scan_index_forward=False,
                         limit=req.query.limit, cursor=req.query.cursor, scope=req.scope(loan.contract_no))
    return RepaymentPage(contract_no=loan.contract_no, items=[_repayment(r, total) for r in items],
                         next_cursor=cursor)


# Repayments that are not installments (提前还本, 提前结清) and what the borrower sees for them.
EXTRA_KINDS = {"prepayment": "提前还本", "settlement": "提前结清"}


def _repayment(r: Repayment, total: int) -> RepaymentOut:
    """An installment reads "第21期/总120期"; a prepayment or settlement says what it was, numbered by the
    installments paid before it (its stored key is ``EXTRA_KEY_BASE × n + periods paid``)."""
    kind = r.source if r.source in EXTRA_KINDS else "installment"
    n = int(r.period_no)
    if kind == "installment":
        label = f"第{n}期/总{total}期"
    else:
        # a settlement takes the next installment's key when it is free (see services.loan_services)
        n = n % EXTRA_KEY_BASE if n >= EXTRA_KEY_BASE else n - 1
        label = f"{EXTRA_KINDS[kind]}（第{n}期后）" if n else EXTRA_KINDS[kind]
    return RepaymentOut(date=r.date, period_no=n, periods_total=total, label=label, kind=kind,
                        amount=int(r.amount), principal=int(r.principal), interest=int(r.interest),
                        penalty=int(r.penalty or 0), balance_after=int(r.balance_after),
                        from_hpf=int(r.from_hpf) if r.from_hpf is not None else None,
                        from_bank=int(r.from_bank) if r.from_bank is not None else None)
