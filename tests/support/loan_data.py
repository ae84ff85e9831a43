"""HPF loans for tests (through the real store model), with the repayment history they imply."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from chalicelib.rules import loans as rules

_seq = itertools.count(1)


def loan(id_number: str, *, contract_no: str | None = None, principal: int = 40_000_000, annual_rate: str = "2.60",
         term_months: int = 240, method: str = "equal_installment", disbursed_on: str = "2024-11-20",
         repayment_day: int = 20, paid_periods: int = 21, status: str = "normal", offset_signed: bool = False,
         repay_account: str = "6217000010001234567", with_repayments: bool = True):
    """A loan whose balance and repayments follow its own schedule after ``paid_periods`` installments
    (period k dated on the repayment day, k months after the month of disbursement)."""
    from chalicelib.store.loans import Loan, Repayment

    contract_no = contract_no or f"HT-T{next(_seq):05d}"
    plan = rules.schedule(principal, Decimal(annual_rate), term_months, method)
    balance = rules.balance_after(plan, paid_periods)
    item = Loan(contract_no, id_number=id_number, bank="中国建设银行太原分行", repay_account=repay_account,
                principal=principal, annual_rate=annual_rate, term_months=term_months, method=method,
                disbursed_on=disbursed_on, repayment_day=repayment_day, balance=balance, paid_periods=paid_periods,
                status=status, offset_signed=offset_signed)
    if offset_signed:
        item.offset_day = repayment_day
    item.save()
    if with_repayments and paid_periods:
        start = dt.date.fromisoformat(disbursed_on)
        with Repayment.batch_write() as batch:
            for p in plan.periods[:paid_periods]:
                day = rules.add_months(start, p.period_no, repayment_day)
                batch.save(Repayment(contract_no, p.period_no, date=day.isoformat(), amount=p.payment,
                                     principal=p.principal, interest=p.interest, penalty=0,
                                     balance_after=p.balance_after, source="bank"))
    return item
