"""A depositor's own account and its records (个人账户信息, 缴存支取信息): what the app's 账户信息, 缴存明细 and
提取明细 pages and the web hall's 缴存支取信息 show.

* Which account: a person normally has one. With several (an old closed one and a current one), the
  *current* account is the one not closed (normal, then sealed, then frozen; the latest opened first), else
  the latest opened; ``account_no`` names another of the person's own accounts, anyone else's is 404.
* Each list page is ONE DynamoDB Query on a key designed for it, newest first, with the date range as the
  key condition on ``flow_key`` (``<date>#<serial>``): deposits on ``dir-index`` ``<account>#D``,
  withdrawals on ``dir-index`` ``<account>#W``, both merged (缴存支取) on ``flow-index`` ``<account>``.
  The first page finds the account through the person's accounts (``person-index``); later pages take it
  from the signed cursor (a GetItem, checked against the caller).
* 上期余额/本期余额 come from the account's carried-over balance of each HPF year (:mod:`chalicelib.rules.balances`),
  already on the account item: no extra read per page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from chalicelib import errors, policy
from chalicelib.http import pagination
from chalicelib.rules import balances
from chalicelib.store.accounts import Account
from chalicelib.store.ledger import DEPOSIT, WITHDRAWAL, LedgerEntry
from chalicelib.store.loans import Loan
from chalicelib.store.people import Person, Unit
from chalicelib.store.users import User

_CURRENT_ORDER = {"normal": 0, "sealed": 1, "frozen": 2, "closed": 3}

DEPOSIT_TITLES = {"remit": "汇缴", "backpay": "补缴", "interest": "结息", "transfer_in": "转入",
                  "reversal": "退回"}
OTHER_WITHDRAWAL_TITLES = {"exit": "退出缴存提取", "closure": "销户提取"}   # types outside the policy's list


def current_account(accounts: list[Account]) -> Account:
    """The person's current account among ``accounts`` (see the module doc)."""
    if not accounts:
        raise errors.NotFound("您还没有公积金账户")
    latest_first = sorted(accounts, key=lambda a: a.opened_on or "", reverse=True)
    return min(latest_first, key=lambda a: _CURRENT_ORDER.get(a.status, 9))


def accounts_of(id_number: str) -> list[Account]:
    """Every account of the person (one Query on ``person-index``)."""
    return list(Account.person_index.query(id_number))


def own_account(id_number: str, account_no: str) -> Account:
    """``account_no`` when it is the person's own; 404 otherwise (the same answer for "not yours")."""
    try:
        acct = Account.get(account_no)
    except Account.DoesNotExist:
        acct = None
    if acct is None or acct.id_number != id_number:
        raise errors.NotFound("未找到该公积金账户")
    return acct


def account_for(id_number: str, account_no: str | None = None) -> Account:
    return own_account(id_number, account_no) if account_no else current_account(accounts_of(id_number))


@dataclass(frozen=True)
class Listing:
    """One kind of ledger list: which index, how its hash key is built, and which attribute of the
    cursor names the account."""

    index: Any
    direction: str | None

    def hash_key(self, account_no: str) -> str:
        return f"{account_no}#{self.direction}" if self.direction else account_no

    def account_in(self, start: dict[str, Any] | None) -> str | None:
        if not start:
            return None
        if self.direction:
            value = (start.get("acct_dir") or {}).get("S", "")
            return value.rpartition("#")[0] or None
        return (start.get("account_no") or {}).get("S") or None


DEPOSITS = Listing(LedgerEntry.dir_index, DEPOSIT)
WITHDRAWALS = Listing(LedgerEntry.dir_index, WITHDRAWAL)
MOVEMENTS = Listing(LedgerEntry.flow_index, None)


def flow_range(start: dt.date | None, end: dt.date | None):
    """The key condition on ``flow_key`` (``<date>#<serial>``) for ``start..end`` inclusive, or None."""
    if start and end:
        return LedgerEntry.flow_key.between(start.isoformat(), f"{end.isoformat()}$")   # '#' < '$'
    if start:
        return LedgerEntry.flow_key >= start.isoformat()
    if end:
        return LedgerEntry.flow_key < f"{end.isoformat()}$"
    return None


def records_page(listing: Listing, *, id_number: str, account_no: str | None, start: dt.date | None,
                 end: dt.date | None, limit: int, cursor: str | None,
                 scope: str) -> tuple[Account, list[LedgerEntry], str | None]:
    """One page of the account's ledger entries, newest first: ``(account, entries, next_cursor)``."""
    continued = listing.account_in(pagination.decode_cursor(cursor, scope))
    if continued:
        if account_no and account_no != continued:
            raise errors.ValidationFailed.field("cursor", "翻页游标与账户不符")
        acct = own_account(id_number, continued)
    else:
        acct = account_for(id_number, account_no)
    kwargs: dict[str, Any] = {"hash_key": listing.hash_key(acct.account_no), "scan_index_forward": False}
    condition = flow_range(start, end)
    if condition is not None:
        kwargs["range_key_condition"] = condition
    entries, next_cursor = pagination.page(listing.index.query, limit=limit, cursor=cursor, scope=scope, **kwargs)
    return acct, entries, next_cursor


def year_figures(acct: Account, entry: LedgerEntry) -> tuple[int | None, int | None]:
    """(上期余额, 本期余额) of ``entry``; None when the records do not reach back to its HPF year's start."""
    year = balances.hpf_year(entry.date, policy.get().deposit.interest_settlement)
    carried = balances.carried_over(balances.plain(acct.year_openings), year)
    if carried is None:
        return None, None
    return carried, int(entry.balance_after) - carried


def title_of(entry: LedgerEntry) -> str:
    """What the app shows for an entry: "汇缴202607公积金", "租房提取", "结息"."""
    if entry.direction == DEPOSIT:
        word = DEPOSIT_TITLES.get(entry.kind, "缴存")
        return f"{word}{entry.period}公积金" if entry.period and entry.kind in ("remit", "backpay") else word
    rule = policy.get().withdrawals.types.get(entry.type or "")
    return rule.name if rule else OTHER_WITHDRAWAL_TITLES.get(entry.type or "", "提取")


# ---------------------------------------------------------------- who and which account (基本信息, 缴存信息)


@dataclass
class AccountView:
    """基本信息, 缴存信息 and 贷款信息 of the account page."""

    person: Any            # store.people.Person
    account: Account
    unit: Any | None       # store.people.Unit
    accounts: list[Account]
    loans: list[Any]       # store.loans.Loan


def profile(user_id: str):
    """(User, Person) of a logged-in depositor."""

    try:
        user = User.get(user_id)
    except User.DoesNotExist:
        raise errors.Unauthenticated("登录信息无效，请重新登录") from None
    try:
        person = Person.get(user.id_number)
    except Person.DoesNotExist:
        raise errors.NotFound("未找到您的缴存人信息，请到网点核对") from None
    return user, person


def account_view(id_number: str, account_no: str | None = None) -> AccountView:
    accounts = accounts_of(id_number)
    if account_no:
        matching = [a for a in accounts if a.account_no == account_no]
        if not matching:
            raise errors.NotFound("未找到该公积金账户")
        acct = matching[0]
    else:
        acct = current_account(accounts)
    unit = None
    if acct.unit_no:
        try:
            unit = Unit.get(acct.unit_no)
        except Unit.DoesNotExist:
            unit = None
    try:
        person = Person.get(id_number)
    except Person.DoesNotExist:
        raise errors.NotFound("未找到您的缴存人信息，请到网点核对") from None
    loans = list(Loan.person_index.query(id_number))
    return AccountView(person=person, account=acct, unit=unit, accounts=accounts, loans=loans)
