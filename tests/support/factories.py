"""Test data builders: people with valid ID numbers, accounts, users, and logged-in tokens.

Everything goes through the real store models; tokens go through the real session machinery.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from chalicelib import clock
from chalicelib.http import auth

_seq = itertools.count(1)


def gb11643_check(first17: str) -> str:
    """The check character of GB 11643-1999, written here from the standard and independently of
    ``chalicelib.rules.identity`` (the rule under test): position i (1-based) weighs 2**(18-i) mod 11, the
    weighted sum mod 11 indexes "10X98765432"."""
    total = sum(int(digit) * (2 ** (18 - i) % 11) for i, digit in enumerate(first17, start=1))
    return "10X98765432"[total % 11]


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """A valid ID number for tests: 6-digit region, birth date, 3-digit sequence (odd: a man), check character."""
    body = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + gb11643_check(body)


def new_id_number(birth: dt.date | None = None, region: str = "140105") -> str:
    """A fresh ID number. Without ``birth``: born 1985-06-15, one day later for every 1,000 numbers handed out, so
    a long run (the bench's world makes thousands of depositors) never hands out a number twice; a test that cares
    about the age passes ``birth``."""
    n = next(_seq)
    day = birth if birth is not None else dt.date(1985, 6, 15) + dt.timedelta(days=n // 1000)
    return make_id_number(region, day, n % 1000)


def new_phone() -> str:
    return f"139{next(_seq):08d}"


def person(*, id_number: str | None = None, name: str = "张三", phone: str | None = None):
    from chalicelib.store.people import Person

    p = Person(id_number=id_number or new_id_number(), name=name, phone=phone or new_phone())
    p.save()
    return p


def account(person_or_id, *, kind: str = "employee", status: str = "normal", balance: int = 0,
            monthly_amount: int = 100000, base: int = 500000, unit_no: str | None = "U0001",
            paid_through: str | None = "202606", opened_on: str = "2015-07-01", account_no: str | None = None):
    from chalicelib.store.accounts import Account

    id_number = person_or_id if isinstance(person_or_id, str) else person_or_id.id_number
    a = Account(account_no=account_no or f"A{next(_seq):09d}", id_number=id_number, kind=kind,
                unit_no=unit_no if kind == "employee" else None, status=status, base=base,
                ratio_person="12", ratio_unit="12", monthly_amount=monthly_amount, balance=balance,
                paid_through=paid_through, opened_on=opened_on,
                remit_group=Account.remit_group_for(kind, status))
    a.save()
    return a


def user(person_obj, *, user_id: str | None = None, sms_subscribed: bool = False):
    """A registered user of ``person_obj`` with its ID number claimed, as registration writes it
    (``identity.create_user``: the claim is how batch jobs find the users of many ID numbers)."""
    from chalicelib.store.kv import StateItem
    from chalicelib.store.users import User

    u = User(user_id=user_id or f"u{next(_seq):08d}", id_number=person_obj.id_number, phone=person_obj.phone,
             sms_subscribed=sms_subscribed, created_at=clock.now())
    u.save()
    StateItem(pk=f"claim#id#{person_obj.id_number}", sk="-", value=u.user_id).save()
    return u


@dataclass
class Login:
    token: str
    session_id: str
    subject: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def with_headers(self, **extra: str) -> dict[str, str]:
        return {**self.headers, **extra}

    def step_up_token(self) -> str:
        principal = auth.Principal(subject=self.subject, role=self.role, session_id=self.session_id)
        return auth.issue_step_up_token(principal)


def login(subject: str, role: str = auth.DEPOSITOR, *, op_role: str | None = None) -> Login:
    """A real session and access token for ``subject`` in ``role`` (bypassing the login routes)."""
    session = auth.open_session(subject, role, op_role=op_role)
    token = auth.issue_access_token(subject, role, session.session_id, op_role=op_role)
    return Login(token=token, session_id=session.session_id, subject=subject, role=role)


def depositor(*, balance: int = 0, kind: str = "employee", status: str = "normal", **account_kwargs):
    """A person with an account, a registered user and a login: (person, account, user, login)."""
    p = person()
    a = account(p, kind=kind, status=status, balance=balance, **account_kwargs)
    u = user(p)
    return p, a, u, login(u.user_id)


def card(person_or_id, *, card_no: str = "6222020200112233445", bank_name: str = "中国工商银行",
         card_id: str | None = None):
    """A bound bank card (a card ending in 0000 is declined by the local bank simulator)."""
    from chalicelib.store.cards import BankCard

    id_number = person_or_id if isinstance(person_or_id, str) else person_or_id.id_number
    c = BankCard(id_number=id_number, card_id=card_id or f"c{next(_seq):08d}", card_no=card_no,
                 bank_name=bank_name, bound_at=clock.iso(clock.now()))
    c.save()
    return c


def deposit(account_no: str, amount: int, *, at: str, period: str | None = None, kind: str = "remit",
            serial_no: str | None = None):
    """A deposit posted through the ledger at China time ``at`` ("2026-07-15T09:00:00+08:00")."""
    from chalicelib.services import ledger

    serial = serial_no or f"D{next(_seq):09d}"
    result = ledger.post([ledger.Posting(account_no, serial, "D", amount, kind, period=period or at[:7].replace("-", ""))],
                         now=dt.datetime.fromisoformat(at))
    return result.entries[0]


def withdrawal(account_no: str, amount: int, *, at: str, type: str = "rent", serial_no: str | None = None):
    """A withdrawal posted through the ledger at China time ``at``."""
    from chalicelib.services import ledger

    serial = serial_no or f"W{next(_seq):09d}"
    result = ledger.post([ledger.Posting(account_no, serial, "W", amount, "withdrawal", type=type)],
                         now=dt.datetime.fromisoformat(at))
    return result.entries[0]


def loan(person_or_id, *, contract_no: str | None = None, principal: int = 30_000_000, annual_rate: str = "2.85",
         term_months: int = 120, method: str = "equal_installment", disbursed_on: str = "2016-12-10",
         repayment_day: int = 14, paid_periods: int = 0, balance: int | None = None, status: str = "normal",
         repay_account: str = "6222020200112233445", bank: str = "中国建设银行太原分行", stages=None):
    """A loan whose balance is the plan's after ``paid_periods`` unless ``balance`` says otherwise."""
    from decimal import Decimal

    from chalicelib.rules import loans as rules
    from chalicelib.store.loans import Loan

    id_number = person_or_id if isinstance(person_or_id, str) else person_or_id.id_number
    if balance is None:
        plan = rules.schedule(principal, Decimal(annual_rate), term_months, method)
        balance = rules.balance_after(plan, paid_periods)
    item = Loan(contract_no=contract_no or f"HT{next(_seq):08d}", id_number=id_number, bank=bank,
                repay_account=repay_account, principal=principal, annual_rate=annual_rate, term_months=term_months,
                method=method, disbursed_on=disbursed_on, repayment_day=repayment_day, balance=balance,
                paid_periods=paid_periods, status=status, stages=stages)
    item.save()
    return item


def message(person_or_id, *, title: str = "提取成功", body: str = "您的提取已到账。", box: str = "unread",
            kind: str = "withdrawal", at: str | None = None):
    """A message in a citizen's box, posted as the services post them."""
    from chalicelib.services import notify

    id_number = person_or_id if isinstance(person_or_id, str) else person_or_id.id_number
    now = dt.datetime.fromisoformat(at) if at else clock.now()
    return notify.post_message(id_number, title=title, body=body, kind=kind, now=now, box=box)

def unit(*, unit_no: str | None = None, name: str = "太原示例科技有限公司", ratio: str = "12", status: str = "normal",
         bank_account: str | None = "6222020200112233445", agent_phone: str = "13900000001"):
    """A unit (单位) in the center's records, with a bank account for roster debits by default."""
    from chalicelib.store.people import Unit

    u = Unit(unit_no=unit_no or f"U{next(_seq):06d}", name=name, credit_code="91140100MA0K000001",
             ratio_unit=ratio, ratio_person=ratio, status=status, agent_name="王经办", agent_phone=agent_phone,
             bank_name="中国工商银行" if bank_account else None, bank_account=bank_account)
    u.save()
    return u


def developer(*, developer_no: str | None = None, name: str = "示例置业有限公司", status: str = "normal"):
    """A developer (开发企业) registered by the center."""
    from chalicelib.store.developers import Developer

    d = Developer(developer_no=developer_no or f"D{next(_seq):06d}", name=name, credit_code="91140100MA0K00000X",
                  contact_name="刘联系", contact_phone="13900000009", status=status, created_at=clock.now())
    d.save()
    return d
