"""Withdrawal conditions (提取条件) and the most one may take (可提取金额). Pure: plain data in, a verdict out.

Every number comes from the policy's ``withdrawals`` section; the inputs are plain facts about the person
(:class:`AccountFacts`, :class:`LoanFacts`, :class:`History`) and today's date (China time). The checks of
one type, in the order a citizen is told about them:

1. another withdrawal application is waiting for the center's review (在途业务) → ``pending``;

then the checks of the person, whichever account pays:

* ``person_not_depositing``: none of the person's accounts is still paid into (status normal) → ``still_depositing``.
  A person depositing at a new unit has not lost their job nor retired, whatever an old sealed account says;
* ``retirement_age``: today the person has reached the statutory retirement age (:mod:`chalicelib.rules.retirement`,
  :class:`PersonFacts`) → ``retirement_age``; below it, with ``early_retirement: review`` and a retirement approval
  in the details (离退休证号 and 批准日期), the application goes to review marked early (``Verdict.early``);
* ``once_per_contract``: the contract named in the details has not had this type before → ``contract_used``;
* ``within_months``: the date named in the details (e.g. the purchase date) is at most that many months ago
  → ``window``;

then, account by account:

2. the account's status is not one the type allows (normal / sealed) → ``account_status``;
3. ``min_sealed_months``: sealed (停缴) for at least that many months → ``sealed_months``. The sealing date is
   the account's ``sealed_on``, or for records imported without it the first day after the month paid through;
4. ``min_paid_months``: deposited at least that many months (opening month to the month paid through) and not
   behind (paid through at least last month) → ``paid_months``;
5. ``no_open_loan``: no unsettled HPF loan → ``open_loan`` (for an account-closing type: "请先结清住房公积金贷款");
6. ``loan_statuses``: the person has such a loan (the one named, when the type names one) → ``no_loan``;
   ``not_with_offset``: not while that loan has monthly offset (月对冲) signed → ``offset_signed``;
7. ``interval_months``: the last withdrawal of this type is at least that long ago → ``interval``
   (``last <= add_months(today, -interval)``; the service's race guard uses the same cut-off);
8. housing-consumption exclusivity: with ``housing_consumption_exclusive``, one calendar year allows one kind of
   housing consumption (rent, purchase, build, loan repayment, down payment) → ``housing_exclusive``;
9. the amount: the balance, less ``keep_while_loan_open`` (0.01) while an HPF loan is open — except for the
   account-closing types, which take everything — capped by ``cap``, by the repaid loan's balance
   (``cap_by_loan_balance``), and rounded down to ``round_down_to`` (whole hundreds of yuan, as the seed's
   "¥6900.00元整" for a balance of 6914.66); nothing left → ``no_balance``.

A person with several open accounts is judged on each; the verdict is the account that allows the most.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib import money
from chalicelib.policy import WithdrawalRule, Withdrawals
from chalicelib.rules import periods, refusals
from chalicelib.rules.loans import add_months

UNSETTLED_LOAN_STATUSES = ("applying", "approved", "normal", "overdue")
STATUS_ORDER = {"normal": 0, "sealed": 1, "frozen": 2}
STATUS_NAMES = {"normal": "正常", "sealed": "封存", "frozen": "冻结", "closed": "销户"}


@dataclass(frozen=True)
class AccountFacts:
    account_no: str
    kind: str
    status: str
    balance: int                       # fen
    opened_on: dt.date
    paid_through: str | None = None    # YYYYMM
    sealed_on: dt.date | None = None


@dataclass(frozen=True)
class LoanFacts:
    contract_no: str
    status: str
    balance: int                       # fen
    offset_signed: bool = False


@dataclass(frozen=True)
class PersonFacts:
    """What the ID number tells: the day the statutory retirement age is reached, and that age (60岁1个月)."""

    retires_on: dt.date | None = None
    retirement_age: str | None = None


RETIREMENT_APPROVAL = ("retire_cert_no", "approved_on")      # 离退休证号, 批准日期 (CONTRACT section 5)


def contract_key(contract_no: str) -> str:
    """A contract number as the once-per-contract marker keeps it (spaces and case do not make another)."""
    return "".join(contract_no.split()).upper()


@dataclass(frozen=True)
class History:
    """What the person withdrew before: the latest date per type, the housing-consumption types used in
    today's calendar year, and the type of an application still waiting for review (if any)."""

    last_on: dict[str, dt.date] = field(default_factory=dict)
    housing_types_this_year: frozenset[str] = frozenset()
    pending: str | None = None
    contracts_used: frozenset[tuple[str, str]] = frozenset()     # (type, contract_key) already withdrawn for


@dataclass(frozen=True)
class Verdict:
    type: str
    name: str
    eligible: bool
    max_amount: int = 0
    reason_code: str | None = None
    reason: str | None = None
    account_no: str | None = None
    contract_no: str | None = None      # the loan the amount was capped by / the type needs
    early: bool = False                 # retirement below the statutory age, on an approval the center checks

    @property
    def message(self) -> str:
        """What the app shows: "您本次可以提取的金额为：¥24500.00元整。" or the reason."""
        if not self.eligible:
            return self.reason or ""
        return f"您本次可以提取的金额为：¥{money.format(self.max_amount)}元整。"


def interval_cutoff(today: dt.date, months: int) -> dt.date:
    """The latest date a previous withdrawal may have been made for another one to be allowed today."""
    return add_months(today, -months)


def next_allowed(last: dt.date, months: int) -> dt.date:
    """The first day on which ``interval_cutoff(day) >= last``."""
    day = add_months(last, months)
    while interval_cutoff(day, months) < last:
        day += dt.timedelta(days=1)
    return day


def sealed_since(account: AccountFacts) -> dt.date:
    if account.sealed_on is not None:
        return account.sealed_on
    if account.paid_through:
        year, month = int(account.paid_through[:4]), int(account.paid_through[4:])
        return add_months(dt.date(year, month, 1), 1)
    return account.opened_on


def months_deposited(account: AccountFacts) -> int:
    if not account.paid_through:
        return 0
    year, month = int(account.paid_through[:4]), int(account.paid_through[4:])
    return max(0, (year * 12 + month) - (account.opened_on.year * 12 + account.opened_on.month) + 1)


def evaluate(kind: str, policy: Withdrawals, accounts: Sequence[AccountFacts], loans: Sequence[LoanFacts],
             history: History, today: dt.date, *, contract_no: str | None = None,
             person: PersonFacts | None = None, details: Mapping[str, str] | None = None) -> Verdict:
    """The verdict of one type for one person today (see the module doc). ``details`` are the application's
    (None when only asking which types are open: the checks on them are then left to the application)."""
    rule = policy.types[kind]
    candidates = sorted((a for a in accounts if a.status != "closed"),
                        key=lambda a: (STATUS_ORDER.get(a.status, 9), -a.opened_on.toordinal(), a.account_no))
    if not candidates:
        return Verdict(kind, rule.name, False, reason_code="no_account", reason="您没有可以办理提取的公积金账户")
    refused = _person(kind, rule, policy, candidates, history, today, person, details)
    if isinstance(refused, Verdict):
        return refused
    verdicts = [_one(kind, rule, policy, acct, loans, history, today, contract_no) for acct in candidates]
    eligible = [v for v in verdicts if v.eligible]
    if eligible:
        best = max(eligible, key=lambda v: v.max_amount)
        return dataclasses.replace(best, early=refused == "early")
    return verdicts[0]


def _person(kind: str, rule: WithdrawalRule, policy: Withdrawals, candidates: Sequence[AccountFacts],
            history: History, today: dt.date, person: PersonFacts | None,
            details: Mapping[str, str] | None) -> Verdict | str | None:
    """The checks of the person (not of one account): a refusal, "early" (retirement below the age, for review),
    or None."""
    first = candidates[0]
    if history.pending:
        pending = policy.types[history.pending].name if history.pending in policy.types else "提取"
        return _no(kind, rule, first, "pending", f"您的{pending}申请正在审核中，请等待审核结果后再办理")
    if rule.person_not_depositing and any(a.status == "normal" for a in candidates):
        return _no(kind, rule, first, "still_depositing",
                   f"您名下还有正常缴存的住房公积金账户，不能办理{rule.name}；"
                   f"{rule.name}须在您的全部账户停缴（封存）后办理")
    outcome = None
    if rule.retirement_age:
        if person is None or person.retires_on is None:
            return _no(kind, rule, first, "retirement_age", f"无法确定您的法定退休年龄，请到网点办理{rule.name}")
        if today < person.retires_on:
            approval = details is not None and all(details.get(f) for f in RETIREMENT_APPROVAL)
            if rule.early_retirement == "review" and approval:
                outcome = "early"
            else:
                said = f"您的法定退休年龄为{person.retirement_age}，{person.retires_on.isoformat()} 起可办理{rule.name}"
                if rule.early_retirement == "review":
                    said += "；已办理提前退休手续的，请填写离退休证号和批准日期提交申请，由公积金中心审核"
                return _no(kind, rule, first, "retirement_age", f"未到法定退休年龄：{said}")
    if rule.once_per_contract and details is not None and details.get(rule.once_per_contract):
        number = details[rule.once_per_contract]
        if (kind, contract_key(number)) in history.contracts_used:
            return _no(kind, rule, first, "contract_used",
                       f"合同 {number} 已办理过{rule.name}，每份合同只能办理一次")
    if rule.within_months and details is not None and details.get(rule.within_months_of or ""):
        since = dt.date.fromisoformat(details[rule.within_months_of])
        until = add_months(since, rule.within_months)
        if today > until:
            return _no(kind, rule, first, "window",
                       f"{rule.name}须在购房之日（{since.isoformat()}）起 {rule.within_months} 个月内办理，"
                       f"已于 {until.isoformat()} 截止")
    return outcome


def _no(kind: str, rule: WithdrawalRule, acct: AccountFacts, code: str, reason: str,
        contract_no: str | None = None) -> Verdict:
    return Verdict(kind, rule.name, False, reason_code=code, reason=reason, account_no=acct.account_no,
                   contract_no=contract_no)


def _one(kind: str, rule: WithdrawalRule, policy: Withdrawals, acct: AccountFacts, loans: Sequence[LoanFacts],
         history: History, today: dt.date, contract_no: str | None) -> Verdict:
    if acct.status not in rule.account_status:
        allowed = "或".join(STATUS_NAMES[s] for s in rule.account_status)
        if acct.status == "frozen":
            reason = "账户已冻结，不能办理提取，请到网点咨询"
        else:
            reason = f"账户状态为{STATUS_NAMES.get(acct.status, acct.status)}，{rule.name}须为{allowed}状态"
        return _no(kind, rule, acct, "account_status", reason)
    if rule.min_sealed_months:
        allowed_on = add_months(sealed_since(acct), rule.min_sealed_months)
        if today < allowed_on:
            return _no(kind, rule, acct, "sealed_months",
                       f"账户封存满 {rule.min_sealed_months} 个月后方可办理{rule.name}，"
                       f"{allowed_on.isoformat()} 起可办理")
    if rule.min_paid_months:
        behind = not acct.paid_through or acct.paid_through < periods.period_of(add_months(today.replace(day=1), -1))
        if behind or months_deposited(acct) < rule.min_paid_months:
            return _no(kind, rule, acct, "paid_months",
                       f"须连续足额缴存满 {rule.min_paid_months} 个月方可办理{rule.name}")
    open_loans = [loan for loan in loans if loan.status in UNSETTLED_LOAN_STATUSES]
    if rule.no_open_loan and open_loans:
        if rule.closes_account:
            return _no(kind, rule, acct, "open_loan",
                       f"您有未结清的住房公积金贷款，请先结清住房公积金贷款后再办理{rule.name}（销户）")
        return _no(kind, rule, acct, "open_loan", f"您有未结清的住房公积金贷款，不能办理{rule.name}")
    loan: LoanFacts | None = None
    if rule.loan_statuses:
        wanted = [x for x in loans if x.status in rule.loan_statuses
                  and (contract_no is None or x.contract_no == contract_no)]
        if not wanted:
            what = f"合同号为 {contract_no} 的" if contract_no else ""
            return _no(kind, rule, acct, "no_loan", f"未找到{what}符合条件的住房公积金贷款，不能办理{rule.name}")
        if rule.not_with_offset:
            free = [x for x in wanted if not x.offset_signed]
            if not free:
                return _no(kind, rule, acct, "offset_signed",
                           f"贷款已签订月对冲还款，不能办理{rule.name}；如需一次还清请办理提前结清",
                           wanted[0].contract_no)
            wanted = free
        loan = max(wanted, key=lambda x: (x.balance, x.contract_no))
    if rule.interval_months:
        last = history.last_on.get(kind)
        if last is not None and last > interval_cutoff(today, rule.interval_months):
            again = next_allowed(last, rule.interval_months)
            return _no(kind, rule, acct, "interval",
                       f"{rule.name}每 {rule.interval_months} 个月可办理一次，上次办理于 {last.isoformat()}，"
                       f"{again.isoformat()} 起可再次办理")
    if policy.housing_consumption_exclusive and rule.housing_consumption:
        others = sorted(history.housing_types_this_year - {kind})
        if others:
            used = "、".join(policy.types[t].name if t in policy.types else t for t in others)
            return _no(kind, rule, acct, "housing_exclusive",
                       f"本年度已办理{used}，同一年度只能办理一种住房消费类提取")
    top = max_amount(rule, policy, acct.balance, loan_open=bool(open_loans),
                     loan_balance=loan.balance if loan is not None else None)
    if top <= 0:
        kept = f"（贷款未结清期间账户须保留 {money.format(policy.keep_while_loan_open)} 元）" if open_loans else ""
        return _no(kind, rule, acct, "no_balance", f"账户可提取余额不足{kept}",
                   loan.contract_no if loan else None)
    return Verdict(kind, rule.name, True, max_amount=top, account_no=acct.account_no,
                   contract_no=loan.contract_no if loan else None)


def max_amount(rule: WithdrawalRule, policy: Withdrawals, balance: int, *, loan_open: bool,
               loan_balance: int | None = None) -> int:
    """The most one withdrawal of this type may take from ``balance`` (fen; 0 when nothing)."""
    if rule.closes_account:
        return max(balance, 0)
    top = balance - (policy.keep_while_loan_open if loan_open else 0)
    if rule.cap is not None:
        top = min(top, rule.cap)
    if rule.cap_by_loan_balance and loan_balance is not None:
        top = min(top, loan_balance)
    if rule.round_down_to:
        top = top // rule.round_down_to * rule.round_down_to
    return max(top, 0)


def require(verdict: Verdict) -> None:
    """Raise the refusal a citizen understands when the verdict says no."""
    if not verdict.eligible:
        raise refusals.NotEligible(verdict.reason, details={"type": verdict.type, "reason": verdict.reason_code})


def amount_to_take(verdict: Verdict, rule: WithdrawalRule, requested: int | None, balance: int) -> int:
    """The amount of this withdrawal: the maximum when none is asked for; an asked amount within it."""
    require(verdict)
    if requested is None:
        return verdict.max_amount
    if rule.closes_account and requested != verdict.max_amount:
        raise refusals.InvalidField.field(
            "amount", f"{rule.name}须提取账户全部余额 {money.format(verdict.max_amount)} 元",
            message=f"{rule.name}将销户，须提取全部余额")
    if requested <= 0:
        raise refusals.InvalidField.field("amount", "须大于 0")
    if requested > balance:
        raise refusals.InsufficientBalance(f"账户余额 {money.format(balance)} 元，不足本次提取金额",
                                         details={"max_amount": money.format(verdict.max_amount)})
    if requested > verdict.max_amount:
        raise refusals.NotEligible(f"本次最多可提取 {money.format(verdict.max_amount)} 元",
                                 details={"type": verdict.type, "reason": "over_max",
                                          "max_amount": money.format(verdict.max_amount)})
    return requested
