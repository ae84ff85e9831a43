"""The unit web hall (单位网厅): the unit's information and its change, its employees, base adjustment.

* 单位信息变更: the unit asks; the change waits in the center's review queue (kind ``unit_change``) and is
  applied to the unit's record on approval.
* 职工列表: the unit's accounts (``unit-index``), one Query per page, ID numbers and phones masked.
* 缴存人登记: a new employee's person record (when the center does not know them yet) and a new employee
  account, in one transaction; ID number checked (GB 11643), ratios within the policy's range, base between
  the floor and the cap. One person, one account (一人一户, issue 16 item 12): a person who has *any*
  account (normal, sealed, …) gets no second one; the unit is told to have the center transfer it (转移).
  A wrong name and an existing account get one and the same answer, so the route tells a unit nothing about
  people who are not its employees, and a unit refused ``registration_refusals_per_day`` times in a day gets
  429 until the next day (issue 17 item 10). The person record of someone the center knows is never
  touched; a phone a unit types for a person the center did not know is marked ``phone_source="unit"``.
* 缴存人信息变更: a unit never changes center-wide identity data (issue 17 item 1). A change of an
  employee's name or phone is a request (kind ``employee_change``) in the center's review queue; nothing
  changes until an operator approves it against the person's documents, and the person is told by SMS on
  the phone on record when the request is made.
* 封存: an employee who left; the account stops depositing and keeps its balance.
* 基数调整: many employees' bases in one request, in the policy's adjustment month, each employee at most
  ``deposit.base_adjustments_per_year`` times a year; every line is checked and any bad line refuses the
  whole request with the reasons by line (``lines.<i>.base``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, masking, policy
from chalicelib.http.pagination import page
from chalicelib.rules import deposits, periods
from chalicelib.services import audit, business, notify
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.accounts import Account, append_terms, terms_entry
from chalicelib.store.business import BusinessRecord
from chalicelib.store.kv import StateItem
from chalicelib.store.people import Person, Unit

UNIT_CHANGE = "unit_change"
CHANGE_FIELDS = ("name", "agent_name", "agent_phone", "bank_name", "bank_account")
CHANGE_LABELS = {"name": "单位名称", "agent_name": "经办人", "agent_phone": "经办人手机", "bank_name": "缴存银行",
                 "bank_account": "缴存银行账号"}


def owner(unit_no: str) -> str:
    """The owner of a unit's business records."""
    return f"unit:{unit_no}"


def unit_of(unit_no: str, *, active: bool = False) -> Unit:
    """The logged-in unit's record; with ``active``, only a unit that deposits (status normal)."""
    try:
        unit = Unit.get(unit_no, consistent_read=True)
    except Unit.DoesNotExist:
        raise errors.NotFound("未找到单位信息，请联系公积金中心") from None
    if active and unit.status != "normal":
        raise errors.NotEligible("单位缴存状态不是正常，不能办理此业务，请联系公积金中心")
    return unit


# ---------------------------------------------------------------- 单位信息变更


def employee_lines(unit_no: str, lines: list[tuple[str, Any]], *, doing: str,
                   problems: dict[str, str]) -> list[tuple[int, Account, Any]]:
    """The lines ``(account_no, value)`` of a unit's request (补缴, 基数调整) that name this unit's employees, each
    once, as ``(index, account, value)``; the others are written into ``problems`` by field
    (``lines.<i>.account_no``).

    Refuses an empty request and one over the policy's ``max_lines_per_request`` (``doing`` names the business in
    the message), and a unit that is not active."""
    limit = policy.get().web_halls.units.max_lines_per_request
    if not lines:
        raise errors.ValidationFailed.field("lines", f"至少{doing}一名职工")
    if len(lines) > limit:
        raise errors.ValidationFailed.field("lines", f"一次最多{doing} {limit} 名职工")
    unit_of(unit_no, active=True)
    found = {a.account_no: a for a in Account.batch_get(list(dict.fromkeys(no for no, _ in lines)),
                                                         consistent_read=True)}
    seen: set[str] = set()
    out: list[tuple[int, Account, Any]] = []
    for i, (account_no, value) in enumerate(lines):
        acct = found.get(account_no)
        if account_no in seen:
            problems[f"lines.{i}.account_no"] = "同一职工出现了两次"
            continue
        seen.add(account_no)
        if acct is None or acct.kind != "employee" or acct.unit_no != unit_no:
            problems[f"lines.{i}.account_no"] = "不是本单位职工"
            continue
        out.append((i, acct, value))
    return out


def request_change(unit_no: str, *, serial: str, changes: dict[str, str | None], reason: str,
                   now: dt.datetime) -> BusinessRecord:
    """Submit a change of the unit's information for review; one at a time."""
    existing = records.find_own(serial, owner(unit_no))
    if existing is not None:
        return existing
    unit = unit_of(unit_no)
    wanted = {k: v for k, v in changes.items() if k in CHANGE_FIELDS and v is not None and v != getattr(unit, k)}
    if not wanted:
        raise errors.ValidationFailed("没有需要变更的信息", details={"fields": {"body": "至少变更一项信息"}})
    for r in BusinessRecord.owner_index.query(owner(unit_no), scan_index_forward=False, limit=50):
        if r.kind == UNIT_CHANGE and r.status == "submitted":
            raise errors.AlreadyDone("已有单位信息变更正在审核中，请等待审核结果", details={"serial_no": r.serial_no})
    details = {f"new_{k}": v for k, v in wanted.items()}
    details.update({f"old_{k}": getattr(unit, k) for k in wanted})
    details["reason"] = reason
    record = business.new_record(serial_no=serial, owner=owner(unit_no), kind=UNIT_CHANGE, title="单位信息变更",
                                 now=now, review=True, details=details)
    record = business.submit(record)
    audit.record("unit.change.request", role="unit", who=unit_no, result=audit.OK, now=now,
                 details={"serial_no": serial, "fields": ",".join(sorted(wanted))})
    return record


def _approve_change(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    unit_no = record.owner.removeprefix("unit:")
    d = record.details.as_dict() if record.details else {}
    changes = {k: d[f"new_{k}"] for k in CHANGE_FIELDS if f"new_{k}" in d}
    unit = unit_of(unit_no)
    actions = [getattr(Unit, k).set(v) for k, v in changes.items()]
    actions += [Unit.version.set((unit.version or 0) + 1), Unit.updated_at.set(now)]
    try:
        unit.update(actions=actions, condition=Unit.version == unit.version)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict("单位信息刚被修改，请重试") from None
        raise
    return "done"


business.register(UNIT_CHANGE, business.Reviewer(title="单位信息变更", approve=_approve_change))


# ---------------------------------------------------------------- 职工


@dataclass(frozen=True)
class Employee:
    account: Account
    name: str
    phone: str

    @property
    def contribution(self) -> deposits.Contribution:
        a = self.account
        return deposits.contribution(int(a.base or 0), Decimal(a.ratio_unit or "0"), Decimal(a.ratio_person or "0"),
                                     policy.get().deposit)


def _with_people(accounts: list[Account]) -> list[Employee]:
    ids = list(dict.fromkeys(a.id_number for a in accounts))
    people = {p.id_number: p for p in Person.batch_get(ids)} if ids else {}
    return [Employee(a, people[a.id_number].name if a.id_number in people else "",
                     people[a.id_number].phone if a.id_number in people else "") for a in accounts]


def employees_page(unit_no: str, *, limit: int, cursor: str | None, scope: str) -> tuple[list[Employee], str | None]:
    """One page of the unit's employees' accounts, in account order (one Query of ``unit-index``)."""

    accounts, next_cursor = page(Account.unit_index.query, hash_key=unit_no, limit=limit, cursor=cursor, scope=scope)
    return _with_people(accounts), next_cursor


def employee_account(unit_no: str, account_no: str) -> Account:
    """An account of this unit's employee; 404 for any other (never says whose it is)."""
    try:
        account = Account.get(account_no, consistent_read=True)
    except Account.DoesNotExist:
        raise errors.NotFound("未找到该职工") from None
    if account.kind != "employee" or account.unit_no != unit_no:
        raise errors.NotFound("未找到该职工")
    return account


def employee(unit_no: str, account_no: str) -> Employee:
    return _with_people([employee_account(unit_no, account_no)])[0]


def account_no_for(serial: str) -> str:
    return "GR" + hashlib.sha256(serial.encode()).hexdigest()[:12].upper()


def _ratio(field: str, value: str | None, default: str) -> Decimal:
    try:
        ratio = deposits.parse_ratio(value if value is not None else default)
    except ValueError as exc:
        raise errors.ValidationFailed.field(field, str(exc)) from None
    problem = deposits.ratio_problem(ratio, policy.get().deposit)
    if problem:
        raise errors.ValidationFailed.field(field, problem)
    return ratio


NOT_REGISTERED = ("无法为该职工办理缴存人登记：请核对姓名与身份证号；如该职工已有公积金账户（含封存账户），"
                  "按一人一户规定不能再开立新账户，请持职工身份证到公积金中心办理账户转移")


def _refusals_key(unit_no: str, now: dt.datetime) -> tuple[str, str]:
    return f"unit-reg-refused#{unit_no}", now.astimezone(clock.CHINA).strftime("%Y%m%d")


def _check_refusals(unit_no: str, now: dt.datetime) -> None:
    """429 once the unit was refused ``registration_refusals_per_day`` times today (nobody is looked up)."""

    pk, sk = _refusals_key(unit_no, now)
    try:
        count = int(StateItem.get(pk, sk, consistent_read=True).count or 0)
    except StateItem.DoesNotExist:
        return
    if count >= policy.get().web_halls.units.registration_refusals_per_day:
        local = now.astimezone(clock.CHINA)
        midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        raise errors.RateLimited("今日缴存人登记被拒绝的次数过多，请核对职工信息后明天再试或联系公积金中心",
                                 retry_after=max(1, int((midnight - local).total_seconds())))


def _refuse(unit_no: str, now: dt.datetime, reason: str, id_number: str) -> errors.ApiError:
    pk, sk = _refusals_key(unit_no, now)
    StateItem(pk=pk, sk=sk).update(actions=[StateItem.count.add(1), StateItem.ttl.set(now + dt.timedelta(days=2))])
    audit.record("unit.employee.register", role="unit", who=unit_no, result=audit.REFUSED, now=now,
                 details={"reason": reason, "id_number": id_number})
    return errors.NotEligible(NOT_REGISTERED)


def register_employee(unit_no: str, *, serial: str, name: str, id_number: str, phone: str, base_fen: int,
                      ratio_unit: str | None, ratio_person: str | None, now: dt.datetime) -> Employee:
    """缴存人登记: the person (if new) and a normal employee account of this unit, in one transaction."""
    account_no = account_no_for(serial)
    try:
        existing = Account.get(account_no, consistent_read=True)
        if existing.unit_no != unit_no:
            raise errors.Conflict(records.SERIAL_CONFLICT)
        return employee(unit_no, account_no)
    except Account.DoesNotExist:
        pass
    unit = unit_of(unit_no, active=True)
    dep = policy.get().deposit
    r_unit = _ratio("ratio_unit", ratio_unit, unit.ratio_unit)
    r_person = _ratio("ratio_person", ratio_person, unit.ratio_person)
    problem = deposits.base_problem(base_fen, dep)
    if problem:
        raise errors.ValidationFailed.field("base", problem)
    _check_refusals(unit_no, now)
    try:
        person = Person.get(id_number, consistent_read=True)
        if person.name.strip() != name.strip():
            raise _refuse(unit_no, now, "name_mismatch", id_number)
        new_person = None
    except Person.DoesNotExist:
        # a person the center does not know: the unit's phone is kept, marked as not proven by the person
        new_person = Person(id_number, name=name.strip(), phone=phone, phone_source="unit", updated_at=now)
    if list(Account.person_index.query(id_number, limit=1)):
        # 一人一户: any account at all (a sealed one too) — the center transfers it, no second one is opened
        raise _refuse(unit_no, now, "has_account", id_number)
    money = deposits.contribution(base_fen, r_unit, r_person, dep)
    day = now.astimezone(clock.CHINA).date().isoformat()
    account = Account(account_no, id_number=id_number, kind="employee", unit_no=unit_no, status="normal",
                      base=base_fen, ratio_unit=deposits.ratio_text(r_unit),
                      ratio_person=deposits.ratio_text(r_person), monthly_amount=money.total, balance=0,
                      paid_through=None, opened_on=day, version=0, updated_at=now)
    record = business.new_record(serial_no=serial, owner=owner(unit_no), kind="employee_registration",
                                 title="缴存人登记", now=now, review=False, status="done", account_no=account_no,
                                 details={"name": name, "id_number": id_number, "base": base_fen})
    try:
        with TransactWrite(connection=base.connection()) as tx:
            if new_person is not None:
                tx.save(new_person, condition=Person.id_number.does_not_exist())
            tx.save(account, condition=Account.account_no.does_not_exist())
            records.submit_in(tx, record)
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        try:   # a concurrent retry of the same request got there first
            return employee(unit_no, account_no)
        except errors.NotFound:
            raise errors.Conflict("该职工刚被登记，请刷新后查看") from None
    audit.record("unit.employee.register", role="unit", who=unit_no, result=audit.OK, now=now,
                 details={"account_no": account_no, "id_number": id_number})
    return Employee(account, name.strip() if new_person else person.name, phone if new_person else person.phone)


EMPLOYEE_CHANGE = "employee_change"


def request_employee_change(unit_no: str, account_no: str, *, serial: str, name: str | None, phone: str | None,
                            reason: str, now: dt.datetime) -> BusinessRecord:
    """缴存人信息变更: the unit asks the center to change an employee's name or phone; nothing changes until an
    operator approves it (kind ``employee_change``). One request waits at a time for an employee."""
    existing = records.find_own(serial, owner(unit_no))
    if existing is not None:
        return existing
    account = employee_account(unit_no, account_no)
    try:
        person = Person.get(account.id_number, consistent_read=True)
    except Person.DoesNotExist:
        raise errors.NotFound("未找到该职工的个人信息，请联系公积金中心") from None
    unproven = person.phone_source == "unit"      # the same phone again asks the center to confirm it
    wanted = {k: v for k, v in (("name", name.strip() if name else None), ("phone", phone))
              if v is not None and (v != getattr(person, k) or (k == "phone" and unproven))}
    if not wanted:
        raise errors.ValidationFailed("没有需要变更的信息", details={"fields": {"body": "至少变更一项信息"}})
    for r in BusinessRecord.owner_index.query(owner(unit_no), scan_index_forward=False, limit=200):
        if r.kind == EMPLOYEE_CHANGE and r.status == "submitted" and r.account_no == account_no:
            raise errors.AlreadyDone("该职工已有信息变更正在审核中，请等待审核结果", details={"serial_no": r.serial_no})
    details = {f"new_{k}": v for k, v in wanted.items()}
    details.update({f"old_{k}": getattr(person, k) for k in wanted})
    details["id_number"] = account.id_number
    details["reason"] = reason
    record = business.submit(business.new_record(
        serial_no=serial, owner=owner(unit_no), kind=EMPLOYEE_CHANGE, title="缴存人信息变更", now=now, review=True,
        account_no=account_no, details=details))
    labels = "、".join({"name": "姓名", "phone": "手机号"}[k] for k in wanted)
    notify.queue_sms(f"employee-change#{serial}", person.phone,
                     f"【住房公积金】单位（{unit_no}）申请变更您在公积金中心登记的{labels}，中心审核后生效。"
                     f"如非本人知情，请立即联系公积金中心。", now=now)
    audit.record("unit.employee.change.request", role="unit", who=unit_no, result=audit.OK, now=now,
                 details={"serial_no": serial, "account_no": account_no, "fields": ",".join(sorted(wanted))})
    return record


def _approve_employee_change(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    """The operator saw the person's documents: the person record changes, unless it changed meanwhile."""
    d = record.details.as_dict() if record.details else {}
    actions = []
    condition = Person.id_number.exists()
    for k in ("name", "phone"):
        if f"new_{k}" in d:
            actions.append(getattr(Person, k).set(d[f"new_{k}"]))
            condition &= getattr(Person, k) == d[f"old_{k}"]
    if "new_phone" in d:
        actions.append(Person.phone_source.remove())    # confirmed by the center
    try:
        Person(d["id_number"]).update(actions=[*actions, Person.updated_at.set(now)], condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict("该职工的个人信息在申请后已变更，请驳回后由单位重新申请") from None
        raise
    if "new_phone" in d:
        notify.queue_sms(f"employee-changed#{record.serial_no}", d["old_phone"],
                         f"【住房公积金】您在公积金中心登记的手机号已变更为{masking.phone(d['new_phone'])}。"
                         f"如非本人知情，请立即联系公积金中心。", now=now)
    return "done"


business.register(EMPLOYEE_CHANGE, business.Reviewer(title="缴存人信息变更", approve=_approve_employee_change))


def seal_employee(unit_no: str, account_no: str, *, serial: str, reason: str, now: dt.datetime) -> Employee:
    """封存: an employee who left stops depositing; the balance stays (and earns interest)."""
    account = employee_account(unit_no, account_no)
    if account.status == "sealed":
        raise errors.AlreadyDone("该职工账户已封存")
    if account.status != "normal":
        raise errors.NotEligible("该职工账户不是正常状态，不能封存")
    day = now.astimezone(clock.CHINA).date().isoformat()
    try:
        account.update(actions=[Account.status.set("sealed"), Account.sealed_on.set(day),
                                Account.version.set(int(account.version or 0) + 1), Account.updated_at.set(now)],
                       condition=(Account.version == account.version) & (Account.status == "normal"))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict("职工账户刚被修改，请刷新后重试") from None
        raise
    business.submit(business.new_record(serial_no=serial, owner=owner(unit_no), kind="employee_seal",
                                        title="职工封存", now=now, review=False, status="done",
                                        account_no=account_no, details={"reason": reason}))
    audit.record("unit.employee.seal", role="unit", who=unit_no, result=audit.OK, now=now,
                 details={"account_no": account_no})
    return employee(unit_no, account_no)


# ---------------------------------------------------------------- 基数调整


@dataclass(frozen=True)
class Adjusted:
    account_no: str
    old_base: int
    base: int
    monthly_amount: int


def adjust_bases(unit_no: str, *, serial: str, lines: list[tuple[str, int]], now: dt.datetime) -> list[Adjusted]:
    """基数调整: new bases for many employees at once, all lines valid or none applied."""
    dep = policy.get().deposit
    local = now.astimezone(clock.CHINA)
    if local.month != dep.base_adjustment_month:
        raise errors.WindowClosed(f"基数调整只在每年 {dep.base_adjustment_month} 月办理")
    problems: dict[str, str] = {}
    year = str(local.year)
    todo: list[tuple[Account, int]] = []
    done: list[Adjusted] = []
    for i, acct, new_base in employee_lines(unit_no, lines, doing="调整", problems=problems):
        if acct.base_serial == serial:           # applied by an earlier attempt of this same request
            done.append(Adjusted(acct.account_no, int(acct.base or 0), int(acct.base or 0),
                                 int(acct.monthly_amount or 0)))
            continue
        if acct.status != "normal":
            problems[f"lines.{i}.account_no"] = "职工账户不是正常缴存状态"
            continue
        problem = deposits.base_problem(new_base, dep)
        if problem:
            problems[f"lines.{i}.base"] = problem
            continue
        if acct.base_year == year and int(acct.base_adjustments or 0) >= dep.base_adjustments_per_year:
            problems[f"lines.{i}.account_no"] = f"该职工本年度已调整过基数（每年 {dep.base_adjustments_per_year} 次）"
            continue
        todo.append((acct, new_base))
    if problems:
        raise errors.ValidationFailed(f"{len(problems)} 行有误，未做任何调整，请修改后重新提交",
                                      details={"fields": problems})
    for acct, new_base in todo:
        done.append(_set_base(acct, new_base, serial=serial, year=year, now=now))
    business.submit(business.new_record(serial_no=serial, owner=owner(unit_no), kind="base_adjustment",
                                        title="基数调整", now=now, review=False, status="done",
                                        details={"employees": len(lines), "year": year}))
    audit.record("unit.base_adjustment", role="unit", who=unit_no, result=audit.OK, now=now,
                 details={"serial_no": serial, "employees": len(lines)})
    order = {no: i for i, (no, _) in enumerate(lines)}
    return sorted(done, key=lambda a: order[a.account_no])


def _set_base(acct: Account, new_base: int, *, serial: str, year: str, now: dt.datetime) -> Adjusted:
    dep = policy.get().deposit
    for _attempt in range(3):
        money = deposits.contribution(new_base, Decimal(acct.ratio_unit or "0"), Decimal(acct.ratio_person or "0"),
                                      dep)
        count = int(acct.base_adjustments or 0) + 1 if acct.base_year == year else 1
        old_base = int(acct.base or 0)
        try:
            # the new base holds from this month on; earlier months keep theirs (a 补缴 line uses the base in
            # force for its month, issue 16 item 5)
            entry = terms_entry(periods.period_of(now), acct, amount=money.total, base=new_base)
            acct.update(actions=[Account.base.set(new_base), Account.monthly_amount.set(money.total),
                                 Account.base_year.set(year), Account.base_adjustments.set(count),
                                 Account.base_serial.set(serial), Account.version.set(int(acct.version or 0) + 1),
                                 Account.updated_at.set(now), append_terms(acct, entry)],
                        condition=Account.version == acct.version)
            return Adjusted(acct.account_no, old_base, new_base, money.total)
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            acct = Account.get(acct.account_no, consistent_read=True)   # a deposit moved it: read and again
    raise errors.Conflict("职工账户正忙，请稍后重试")
