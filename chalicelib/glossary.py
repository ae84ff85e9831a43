"""Glossary (术语表): each Chinese business term and the one name the code gives it.

Read this before naming anything. New code uses the ``code`` name (in identifiers, module names, docstrings);
``stored`` lists spellings that are kept because they are written in DynamoDB items, ledger and business-record
kinds, imported records or CONTRACT.md (/work/shared/CONTRACT.md): those never change, the code maps them.
``modules`` says where the term lives. Sources of the terms: 《住房公积金管理条例》, the Taiyuan center's guides in
/work/shared/seeds/ and /work/shared/reference/domain-research.md.

Pure data, no imports of the project: ``tests/unit/test_glossary.py`` checks that every module named here exists.
"""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    chinese: str
    code: str
    meaning: str
    stored: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()


TERMS: tuple[Term, ...] = (
    Term("住房公积金", "hpf", "housing provident fund: the account, its deposits, interest, withdrawals and loans"),
    Term("缴存人", "depositor", "a person with an HPF account; logged in with role citizen", ("citizen",)),
    Term("职工", "employee", "a depositor employed by a unit; account kind employee", ("employee",),
         ("chalicelib/services/units.py",)),
    Term("单位", "unit", "an employer that deposits for its employees; role unit", ("unit",),
         ("chalicelib/services/units.py", "chalicelib/handlers/units.py")),
    Term("灵活就业", "flexible", "a self-employed depositor paying alone; account kind flexible", ("flexible",),
         ("chalicelib/services/flexible.py", "chalicelib/rules/flexible.py", "chalicelib/handlers/flexible.py")),
    Term("公民身份号码", "id_number", "the GB 11643 citizen ID number", (),
         ("chalicelib/rules/identity.py", "chalicelib/fields.py")),
    Term("缴存年月", "period", "a deposit month, YYYYMM", (),
         ("chalicelib/fields.py", "chalicelib/rules/periods.py")),
    Term("缴至年月", "paid_through", "the last month paid", ("paid_through",)),
    Term("缴存基数", "base", "the monthly wage a unit employee's deposit is computed from (fen)", ("base",),
         ("chalicelib/rules/deposits.py",)),
    Term("缴存比例", "ratio", "a percent of the base: ratio_unit (单位) and ratio_person (个人)",
         ("ratio_unit", "ratio_person"), ("chalicelib/rules/deposits.py", "chalicelib/fields.py")),
    Term("月缴存额", "monthly_amount", "what is deposited a month (both shares for an employee)", ("monthly_amount",)),
    Term("汇缴", "remittance", "paying the current month's deposit; a unit pays it with a roster",
         ("remit", "unit_remittance", "remittance"),
         ("chalicelib/rules/remittance.py", "chalicelib/services/remittance.py", "chalicelib/services/roster.py")),
    Term("补缴", "back_payment", "paying earlier unpaid months", ("backpay", "back_payment", "unit_back_payment"),
         ("chalicelib/rules/remittance.py", "chalicelib/services/remittance.py", "chalicelib/services/roster.py")),
    Term("汇缴清册/补缴清册", "roster", "a unit's list of employee lines for one remittance or back-payment",
         ("roster_no",), ("chalicelib/services/roster.py", "chalicelib/store/rosters.py")),
    Term("提取", "withdrawal", "taking money out of the account for a reason the policy lists", ("withdrawal",),
         ("chalicelib/rules/withdrawals.py", "chalicelib/services/withdrawals.py")),
    Term("月对冲", "offset", "repaying a loan's installment from the borrower's HPF balance each month",
         ("offset_signed", "offset_day", "offset", "loan_offset"),
         ("chalicelib/services/loan_offset.py",)),
    Term("提前还款", "prepayment", "paying loan principal before it is due", (),
         ("chalicelib/rules/loans.py", "chalicelib/services/loan_services.py")),
    Term("封存", "seal", "stopping deposits on an account (it keeps its balance)", ("sealed", "sealed_on"),
         ("chalicelib/rules/flexible.py", "chalicelib/services/flexible.py")),
    Term("启封", "unseal", "depositing again on a sealed account", (),
         ("chalicelib/rules/flexible.py", "chalicelib/services/flexible.py")),
    Term("结息", "interest", "the yearly interest credited on the settlement day (30 June)", ("interest",),
         ("chalicelib/rules/interest.py", "chalicelib/services/interest.py")),
    Term("积数", "jishu", "balance × days accrued in an HPF year; interest is jishu × the daily rate",
         ("jishu", "accruals"), ("chalicelib/rules/interest.py",)),
    Term("业务明细", "business record", "one piece of business a person or unit applied for, with its status",
         ("BusinessRecord",), ("chalicelib/store/business.py", "chalicelib/services/business.py")),
    Term("账户明细", "ledger entry", "one change of a balance; every balance change is one", ("LedgerEntry",),
         ("chalicelib/store/ledger.py", "chalicelib/services/ledger.py")),
    Term("银行卡", "card", "a bound bank card a payment or payout uses", ("bank_card_id", "card_no"),
         ("chalicelib/services/cards.py", "chalicelib/fields.py")),
    Term("不予办理", "refusal", "why the rules say no: not eligible, window closed, insufficient balance, done",
         (), ("chalicelib/rules/refusals.py", "chalicelib/errors.py")),
)

BY_CHINESE = {term.chinese: term for term in TERMS}
BY_CODE = {term.code: term for term in TERMS}
