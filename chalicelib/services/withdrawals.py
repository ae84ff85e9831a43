"""Withdrawals (提取): what each citizen may take today, automatic payouts and applications for center review.

Eligibility and amounts are :mod:`chalicelib.rules.withdrawals` on facts read here: the person's accounts and
HPF loans, their earlier withdrawals, and an application still under review. Earlier withdrawals come from two
places: entries imported from the center's records (ledger entries without a business serial) and, for
withdrawals made here, *markers* in the ``state`` table under ``withdrawal#<id_number>``:

* ``last#<type>``: the date of the last withdrawal of a type that has an interval (``status`` = its serial);
* ``housing#<year>``: the housing-consumption type used that calendar year (``count`` withdrawals hold it);
* ``pending``: the serial of the application waiting for review (在途业务; one at a time);
* ``contract#<type>#<contract>``: the contract a once-per-contract type (贷款首付款提取) was paid for.

The person's own facts come from the ID number: the statutory retirement age (:mod:`chalicelib.rules.retirement`,
from the birth date and sex) that 离退休提取 needs.

The markers are written in the same ledger transaction as the money, under conditions that restate the rules
(the last one at least ``interval_months`` ago; the same housing type or none), so two withdrawals racing past
the checks cannot both commit. A payout the bank declines is reversed (``kind="reversal"``) in one transaction
that also gives the markers back, so the citizen may try again with another card.

Types the policy marks ``automatic`` (租房, 偿还公积金贷款, 物业费) pay at once: the withdrawal is posted with its
business record (one transaction, as :func:`chalicelib.services.flexible.exit_withdrawal`), then the bank
pays it out (the money-out saga of :mod:`chalicelib.services.payments`). ``manual`` types wait in the review
queue (kind ``withdrawal``); an operator's approval re-checks the rules on fresh data, posts, and pays out;
account-closing types (离退休, 完全丧失劳动能力) then take the whole balance and close the account in the same
transaction. A retry with the same ``Idempotency-Key`` (same serial) resumes where the first attempt stopped
and never posts twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, masking, money, policy
from chalicelib.rules import identity, retirement
from chalicelib.rules import withdrawals as rules
from chalicelib.services import business, cards, interest, ledger, notify, payments
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.accounts import Account
from chalicelib.store.base import condition_failed
from chalicelib.store.business import BusinessRecord
from chalicelib.store.cards import BankCard
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import WITHDRAWAL, LedgerEntry
from chalicelib.store.loans import Loan

KIND = "withdrawal"
_ATTEMPTS = 4


def _rule(kind: str):
    try:
        return policy.get().withdrawals.types[kind]
    except KeyError:
        raise errors.ValidationFailed.field("type", "未知的提取类型") from None


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(clock.CHINA).date()


def markers_pk(id_number: str) -> str:
    return f"withdrawal#{id_number}"


# ---------------------------------------------------------------- facts


@dataclass
class Facts:
    accounts: list[Account]
    loans: list[Loan]
    history: rules.History
    markers: dict[str, StateItem]
    person: rules.PersonFacts | None = None

    def account_facts(self) -> list[rules.AccountFacts]:
        return [account_facts(a) for a in self.accounts]

    def loan_facts(self) -> list[rules.LoanFacts]:
        return [rules.LoanFacts(loan.contract_no, loan.status, int(loan.balance or 0), bool(loan.offset_signed))
                for loan in self.loans]

    def account(self, account_no: str) -> Account:
        return next(a for a in self.accounts if a.account_no == account_no)


def account_facts(a: Account) -> rules.AccountFacts:
    return rules.AccountFacts(
        account_no=a.account_no, kind=a.kind, status=a.status, balance=int(a.balance or 0),
        opened_on=dt.date.fromisoformat(a.opened_on), paid_through=a.paid_through,
        sealed_on=dt.date.fromisoformat(a.sealed_on) if a.sealed_on else None)


def person_facts(id_number: str) -> rules.PersonFacts:
    """The statutory retirement age of the ID number's holder (the policy's group for a woman's withdrawal)."""
    try:
        birth = identity.birth_date(id_number)
    except ValueError:
        return rules.PersonFacts()
    cfg = policy.get().retirement_age
    group = retirement.group_for(cfg, male=identity.is_male(id_number), use="withdrawal")
    return rules.PersonFacts(retires_on=retirement.retirement_date(birth, group),
                             retirement_age=retirement.describe(retirement.age_months(birth, group)))


def facts(id_number: str, today: dt.date, *, ignore_pending: str | None = None) -> Facts:
    """Everything the rules need about one person (a handful of Queries)."""
    wd = policy.get().withdrawals
    accounts = list(Account.person_index.query(id_number))
    loans = list(Loan.person_index.query(id_number))
    markers = {m.sk: m for m in StateItem.query(markers_pk(id_number), consistent_read=True)}
    last_on: dict[str, dt.date] = {}
    housing: set[str] = set()
    contracts: set[tuple[str, str]] = set()
    longest = max([r.interval_months or 0 for r in wd.types.values()] + [12])
    since = min(dt.date(today.year, 1, 1), rules.interval_cutoff(today, longest)).isoformat()
    for acct in accounts:
        for entry in LedgerEntry.dir_index.query(f"{acct.account_no}#{WITHDRAWAL}", LedgerEntry.flow_key >= since):
            # imported withdrawals; those made here are told by their markers (a reversed one gave its back)
            if entry.kind != "withdrawal" or entry.business_serial or entry.type not in wd.types:
                continue
            on = dt.date.fromisoformat(entry.date)
            if entry.type not in last_on or on > last_on[entry.type]:
                last_on[entry.type] = on
            if on.year == today.year and wd.types[entry.type].housing_consumption:
                housing.add(entry.type)
    for sk, item in markers.items():
        if sk.startswith("last#") and item.value:
            kind, on = sk.removeprefix("last#"), dt.date.fromisoformat(item.value)
            if kind not in last_on or on > last_on[kind]:
                last_on[kind] = on
        elif sk == f"housing#{today.year}" and item.value and int(item.count or 0) > 0:
            housing.add(item.value)
        elif sk.startswith("contract#"):
            kind, _, key = sk.removeprefix("contract#").partition("#")
            contracts.add((kind, key))
    pending_item = markers.get("pending")
    pending = None
    if pending_item is not None and pending_item.value != ignore_pending:
        pending = pending_item.status or "unknown"
    return Facts(accounts=accounts, loans=loans, markers=markers, person=person_facts(id_number),
                 history=rules.History(last_on=last_on, housing_types_this_year=frozenset(housing), pending=pending,
                                       contracts_used=frozenset(contracts)))


def verdict(kind: str, f: Facts, today: dt.date, contract_no: str | None = None,
            details: dict[str, str] | None = None) -> rules.Verdict:
    return rules.evaluate(kind, policy.get().withdrawals, f.account_facts(), f.loan_facts(), f.history, today,
                          contract_no=contract_no, person=f.person, details=details)


def types(id_number: str, now: dt.datetime) -> list[rules.Verdict]:
    """For every type of the policy: may this person withdraw it today, and how much (GET /v1/withdrawals/types)."""
    today = _today(now)
    f = facts(id_number, today)
    return [verdict(kind, f, today) for kind in policy.get().withdrawals.types]


# ---------------------------------------------------------------- applying


def apply(*, id_number: str, kind: str, amount: int | None, card_id: str, details: dict[str, str], serial: str,
          now: dt.datetime, actor: str, source: str | None = None) -> BusinessRecord:
    """``POST /v1/withdrawals``: pay an automatic type now, or submit a manual one for review."""
    rule = _rule(kind)
    # the record of a retry and the card asked for, in one round trip (issue 18); the card is judged where it was
    record, (asked_card,) = records.find_own_with(serial, id_number, KIND, (BankCard, id_number, card_id))
    if record is None:
        today = _today(now)
        for name, said in (("approved_on", "批准日期"), ("purchase_date", "购房日期")):
            if name in details and dt.date.fromisoformat(details[name]) > today:
                raise errors.ValidationFailed.field(f"details.{name}", f"{said}不能晚于今天")
        f = facts(id_number, today)
        v = verdict(kind, f, today, contract_no=details.get("contract_no"), details=details)
        rules.require(v)
        acct = f.account(v.account_no)
        take = rules.amount_to_take(v, rule, amount, int(acct.balance or 0))
        card = cards.bound(asked_card)
        extra = {}
        if v.early:
            extra["early_retirement"] = (f"提前退休：法定退休年龄{f.person.retirement_age}"
                                         f"（{f.person.retires_on.isoformat()}），请核验离退休批准")
        record = business.new_record(
            serial_no=serial, owner=id_number, kind=KIND, type=kind, title=rule.name, now=now,
            review=rule.review == "manual", amount=take, account_no=acct.account_no,
            details={**details, **extra, "card_id": card.card_id, "card": masking.card(card.card_no),
                     "bank_name": card.bank_name, "loan": v.contract_no})
        if rule.review == "manual":
            return _submit(record, now)
        posted = _post(record, f, now, actor=actor, source=source)
        if posted.replayed:
            record = records.find(serial)
        # else the record is as the posting's transaction saved it; the entry and the card are the ones just
        # written and read (issue 18: no second read of either in this request)
        entry = next((e for e in posted.entries if e.serial_no == serial), None)
        payee = card.card_no
    else:
        entry = payee = None
    if record.queue is not None or rule.review == "manual":
        return record

    def declined(record: BusinessRecord, reason: str) -> None:
        notify.citizen(id_number, title=f"{record.title}未成功",
                       body=f"您的{record.title}银行转账未成功：{reason}，资金已退回您的公积金账户，可更换银行卡后重新申请。",
                       kind="withdrawal", now=now, key=serial, serial_no=serial)

    return payments.money_out(record, to=lambda: _payee(record, card_no=payee, entry=entry), now=now,
                              reverse=lambda amount, reason: _reverse(record, amount, reason, now),
                              paid=lambda record: _notify_paid(record, now, entry=entry), declined=declined,
                              tell=lambda record: ("withdrawal", f"{record.title}成功",
                                                   f"您的{record.title} {_paid_sentence(record, entry)}。"))


def get(id_number: str, serial: str) -> BusinessRecord:
    record = records.find(serial)
    if record is None or record.owner != id_number or record.kind != KIND:
        raise errors.NotFound("未找到该提取业务")
    return record


def _submit(record: BusinessRecord, now: dt.datetime) -> BusinessRecord:
    """A manual type waits for review; the ``pending`` marker makes it the person's only one in progress."""
    pending = StateItem(markers_pk(record.owner), "pending", value=record.serial_no, status=record.type,
                        updated_at=clock.iso(now))
    try:
        with TransactWrite(connection=base.connection()) as tx:
            records.submit_in(tx, record)
            tx.save(pending, condition=StateItem.pk.does_not_exist())
    except TransactWriteError:
        again = records.find(record.serial_no)
        if again is not None:
            return again
        raise errors.NotEligible("您有提取申请正在审核中，请等待审核结果后再办理",
                                 details={"type": record.type, "reason": "pending"}) from None
    notify.citizen(record.owner, title=f"{record.title}申请已提交",
                   body=f"您的{record.title}申请（{money.format(int(record.amount or 0))} 元）已提交，"
                        f"请等待公积金中心审核，审核结果将通知您。",
                   kind="withdrawal", now=now, key=f"submitted#{record.serial_no}", serial_no=record.serial_no)
    return record


# ---------------------------------------------------------------- posting


def contract_marker(rule, kind: str, details: dict) -> str | None:
    """The sk of the once-per-contract marker of this application (None when the type has none)."""
    if not rule.once_per_contract or not details.get(rule.once_per_contract):
        return None
    return f"contract#{kind}#{rules.contract_key(str(details[rule.once_per_contract]))}"


def _marker_extras(record: BusinessRecord, rule, today: dt.date, markers: dict[str, StateItem]) -> list:
    """The race guards of the rules, as conditional writes in the posting's transaction."""
    pk, kind, extras = markers_pk(record.owner), record.type, []
    once = contract_marker(rule, kind, record.details.as_dict() if record.details else {})
    if once is not None:
        def contract(tx) -> None:
            tx.save(StateItem(pk, once, value=today.isoformat(), status=record.serial_no,
                              updated_at=record.submitted_at),
                    condition=StateItem.pk.does_not_exist())

        extras.append(ledger.Extra(contract, errors.NotEligible(
            f"该合同已办理过{rule.name}，每份合同只能办理一次", details={"type": kind, "reason": "contract_used"})))
    if rule.interval_months:
        cutoff = rules.interval_cutoff(today, rule.interval_months).isoformat()
        before = markers.get(f"last#{kind}")
        prev = before.value if before is not None and before.value else ""

        def interval(tx) -> None:
            tx.update(StateItem(pk, f"last#{kind}"),
                      actions=[StateItem.value.set(today.isoformat()), StateItem.status.set(record.serial_no),
                               StateItem.data.set({"prev": prev}), StateItem.updated_at.set(record.submitted_at)],
                      condition=StateItem.value.does_not_exist() | (StateItem.value <= cutoff))

        extras.append(ledger.Extra(interval, errors.NotEligible(
            f"{rule.name}每 {rule.interval_months} 个月可办理一次", details={"type": kind, "reason": "interval"})))
    if policy.get().withdrawals.housing_consumption_exclusive and rule.housing_consumption:
        def housing(tx) -> None:
            tx.update(StateItem(pk, f"housing#{today.year}"),
                      actions=[StateItem.value.set(kind), StateItem.count.add(1)],
                      condition=StateItem.value.does_not_exist() | (StateItem.value == kind)
                      | (StateItem.count <= 0))

        extras.append(ledger.Extra(housing, errors.NotEligible(
            "同一年度只能办理一种住房消费类提取", details={"type": kind, "reason": "housing_exclusive"})))
    return extras


def _post(record: BusinessRecord, f: Facts, now: dt.datetime, *, actor: str, source: str | None,
          reviewed: bool = False) -> ledger.PostResult:
    """Post the withdrawal (with its record, or after review its pending marker), re-checking on fresh data."""
    rule = _rule(record.type)
    today = _today(now)
    details = record.details.as_dict() if record.details else {}
    pk = markers_pk(record.owner)
    for _attempt in range(_ATTEMPTS):
        v = verdict(record.type, f, today, contract_no=details.get("contract_no"), details=details)
        rules.require(v)
        if v.account_no != record.account_no:
            raise errors.Conflict("可提取的账户已变化，请重新申请")
        acct = f.account(record.account_no)
        balance = int(acct.balance or 0)
        amount = balance if rule.closes_account else int(record.amount)
        rules.amount_to_take(v, rule, amount, balance)
        # 销户结息: a closing pays the year's interest accrued up to today with the balance, in the same transaction
        closing_interest = interest.closing_interest(acct, record.serial_no, today) if rule.closes_account else None
        if closing_interest is not None:
            amount += closing_interest.amount
            if not reviewed:
                record.amount = amount        # the record is written in the posting's transaction
        if reviewed and amount != int(record.amount or 0):
            record.update(actions=[BusinessRecord.amount.set(amount)])
        if reviewed and rule.closes_account:
            record.update(actions=[BusinessRecord.details.set({**details, "status_before": acct.status})])
        day = today.isoformat()
        updates = [Account.last_withdrawal_on.set(day)]
        if rule.closes_account:
            updates += [Account.status.set("closed"), Account.closed_on.set(day), Account.remit_group.remove()]
        extras = _marker_extras(record, rule, today, f.markers)
        if reviewed:
            extras.append(ledger.Extra(lambda tx: tx.delete(StateItem(pk, "pending"),
                                                            condition=StateItem.value == record.serial_no),
                                       errors.Conflict("该申请已不在审核中")))
        else:
            extras.append(ledger.Extra(lambda tx: records.submit_in(tx, record),
                                       errors.AlreadyDone()))
            extras.append(ledger.Extra(lambda tx: tx.condition_check(StateItem, pk, "pending",
                                                                     condition=StateItem.pk.does_not_exist()),
                                       errors.NotEligible("您有提取申请正在审核中，请等待审核结果后再办理",
                                                          details={"type": record.type, "reason": "pending"})))
        seen = (acct.version, balance, acct.status)

        def unchanged(accounts: dict[str, Account], seen=seen) -> None:
            fresh = accounts[record.account_no]
            if (fresh.version, int(fresh.balance or 0), fresh.status) != seen:
                raise _Changed()

        try:
            return ledger.post([*([closing_interest] if closing_interest else []),
                         ledger.Posting(record.account_no, record.serial_no, WITHDRAWAL, amount, "withdrawal",
                                        type=record.type, business_serial=record.serial_no,
                                        note=masking.scrub(details.get("card", "")) or None)],
                        now=now, actor=actor, source=source, updates={record.account_no: updates},
                        extras=extras, before_write=unchanged,
                        read={a.account_no: a for a in f.accounts})
        except _Changed:
            # the account moved between our read and the write (a remittance, say): judge again on fresh facts
            f = facts(record.owner, today, ignore_pending=record.serial_no if reviewed else None)
            continue
    raise errors.Conflict("账户正忙，请稍后重试")


class _Changed(errors.Conflict):
    pass


def _payee(record: BusinessRecord, *, card_no: str | None = None,
           entry: LedgerEntry | None = None) -> tuple[str | None, int]:
    """The card the posted withdrawal goes to (None when it was unbound since) and the amount posted.
    ``card_no``/``entry``: the card and the entry this request has just read and written (not read again)."""
    if card_no is None:
        details = record.details.as_dict() if record.details else {}
        try:
            card_no = BankCard.get(record.owner, details["card_id"]).card_no
        except BankCard.DoesNotExist:
            card_no = None
    return card_no, int((entry or _entry(record.serial_no)).amount)


def _reverse(record: BusinessRecord, amount: int, reason: str, now: dt.datetime) -> None:
    rule = _rule(record.type)
    today = dt.date.fromisoformat(_entry(record.serial_no).date)
    details = record.details.as_dict() if record.details else {}
    pk = markers_pk(record.owner)
    updates = []
    if rule.closes_account:
        acct = Account.get(record.account_no, consistent_read=True)
        status = details.get("status_before", "sealed")
        updates = [Account.status.set(status), Account.closed_on.remove()]
        group = Account.remit_group_for(acct.kind, status)
        updates.append(Account.remit_group.set(group) if group else Account.remit_group.remove())
    extras = []
    if rule.interval_months:
        prev = _marker_prev(pk, record)

        def give_back_interval(tx) -> None:
            if prev:
                tx.update(StateItem(pk, f"last#{record.type}"),
                          actions=[StateItem.value.set(prev), StateItem.status.set(f"reversed:{record.serial_no}")])
            else:
                tx.delete(StateItem(pk, f"last#{record.type}"))

        extras.append(ledger.Extra(give_back_interval))
    if policy.get().withdrawals.housing_consumption_exclusive and rule.housing_consumption:
        extras.append(ledger.Extra(lambda tx: tx.update(StateItem(pk, f"housing#{today.year}"),
                                                        actions=[StateItem.count.add(-1)])))
    once = contract_marker(rule, record.type, details)
    if once is not None:
        extras.append(ledger.Extra(lambda tx: tx.delete(StateItem(pk, once))))
    payments.reverse(record.account_no, record.serial_no, amount, reason, now, type=record.type, updates=updates,
                     extras=extras)


def _marker_prev(pk: str, record: BusinessRecord) -> str:
    try:
        item = StateItem.get(pk, f"last#{record.type}", consistent_read=True)
    except StateItem.DoesNotExist:
        return ""
    if item.status != record.serial_no:
        return item.value or ""
    return str((item.data.as_dict() if item.data else {}).get("prev") or "")


def _paid_sentence(record: BusinessRecord, entry: LedgerEntry | None = None) -> str:
    details = record.details.as_dict() if record.details else {}
    entry = entry or _entry(record.serial_no)
    if _rule(record.type).closes_account:
        after = "，账户已销户"
    else:
        after = f"，账户余额 {money.format(int(entry.balance_after))} 元" if entry is not None else ""
    return (f"{money.format(int(record.amount or 0))} 元已转入{details.get('bank_name', '')}银行卡"
            f"（{details.get('card', '')}）{after}")


def _notify_paid(record: BusinessRecord, now: dt.datetime, entry: LedgerEntry | None = None) -> None:
    notify.citizen(record.owner, title=f"{record.title}成功",
                   body=f"您的{record.title} {_paid_sentence(record, entry)}。",
                   kind="withdrawal", now=now, key=record.serial_no, serial_no=record.serial_no)


# ---------------------------------------------------------------- center review


def _approve(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    """Approval: re-check on fresh data, post, pay out. A retry after a bank outage resumes at the payout."""
    if _entry(record.serial_no) is None:
        f = facts(record.owner, _today(now), ignore_pending=record.serial_no)
        _post(record, f, now, actor="system", source=None, reviewed=True)
    record.refresh(consistent_read=True)
    ok, reason = payments.pay_out(record.serial_no, _payee(record),
                                  lambda amount, why: _reverse(record, amount, why, now))
    details = record.details.as_dict() if record.details else {}
    record.update(actions=[BusinessRecord.details.set({**details, "payout": reason})])
    return "paid" if ok else "cancelled"


def _reject(record: BusinessRecord, opinion: str, now: dt.datetime) -> None:
    try:
        StateItem(markers_pk(record.owner), "pending").delete(condition=StateItem.value == record.serial_no)
    except DeleteError as exc:
        if not condition_failed(exc):
            raise


def _notify_decided(record: BusinessRecord, now: dt.datetime) -> None:
    fresh = records.find(record.serial_no)
    details = fresh.details.as_dict() if fresh.details else {}
    if fresh.status == "paid":
        title = f"{fresh.title}审核通过"
        body = f"您的{fresh.title}申请已审核通过，{_paid_sentence(fresh)}。审核意见：{fresh.opinion}"
    elif fresh.status == "cancelled":
        title = f"{fresh.title}转账未成功"
        body = (f"您的{fresh.title}申请已审核通过，但银行转账未成功：{details.get('payout', '')}，"
                f"资金已退回您的公积金账户，可更换银行卡后重新申请。")
    else:
        title, body = f"{fresh.title}未通过审核", f"您的{fresh.title}申请未通过审核。审核意见：{fresh.opinion}"
    notify.citizen(fresh.owner, title=title, body=body, kind="review", now=now, key=f"decided#{fresh.serial_no}",
                   serial_no=fresh.serial_no)


business.register(KIND, business.Reviewer(title="提取申请", approve=_approve, reject=_reject,
                                          notify=_notify_decided))


# ---------------------------------------------------------------- helpers


def _entry(serial: str) -> LedgerEntry | None:
    try:
        return LedgerEntry.get(serial, consistent_read=True)
    except LedgerEntry.DoesNotExist:
        return None
