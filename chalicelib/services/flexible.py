"""Flexible employment (灵活就业): opening application, transfer-in, seal/unseal, monthly amount, exit.

* 开户申请: anyone, with an SMS code, ID photos (upload ids) and an appointment at a branch; the
  application waits in the center's review queue (kind ``flexible_opening``); approval opens the account.
  It needs no login, so its answers must not tell a stranger about the person behind an ID number: whether the
  number has a flexible, sealed or employed account, or an application in review, is one refusal with one
  message, and an ID number can be tried at most ``OPENING_TRIES_PER_DAY`` times a day.
* 转入灵活就业预约: a depositor whose account is sealed books a branch appointment.
* 封存/启封 and 月缴存额调整: conditional updates of the account (its version moves, so a concurrent ledger
  posting that read the old state is retried); the adjustment count a deposit year is a counter item.
* 退出缴存提取: the whole balance leaves the account (which closes) in one ledger posting, then the bank
  pays it to the card; if the bank declines, a reversal puts it back and the account is sealed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, log, masking, money, policy
from chalicelib.rules import flexible as rules
from chalicelib.rules import remittance as periods
from chalicelib.services import appointments, business, cards, interest, ledger, notify, payments
from chalicelib.services.remittance import flexible_account
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.accounts import Account, Terms, append_terms, terms_entry
from chalicelib.store.base import condition_failed
from chalicelib.store.business import BusinessRecord
from chalicelib.store.kv import StateItem
from chalicelib.store.loans import Loan
from chalicelib.store.people import Person

logger = log.get("flexible")
OPENING = "flexible_opening"
SMS_PURPOSE_OPENING = "register"   # the code is requested with POST /v1/auth/sms-codes {phone, purpose}
OPENING_TRIES_PER_DAY = 5          # anti-probing (issue 17 item 10), not city policy: an honest applicant needs 1-2
CANNOT_OPEN = ("无法受理该开户申请：该身份证号已有住房公积金账户或开户申请正在审核。已有账户请登录查看或办理"
               "“转入灵活就业预约”，也可携身份证到网点咨询")


def verify_sms_code(phone: str, purpose: str, code: str, now: dt.datetime) -> None:
    """Check a one-time SMS code (single use, bound to phone and purpose; raises ``SmsCodeInvalid``)."""
    from chalicelib.services import sms_codes

    sms_codes.verify(phone, purpose, code, now=now)


# ---------------------------------------------------------------- 开户申请


def apply_for_opening(*, serial: str, name: str, id_number: str, phone: str, sms_code: str, id_front_upload: str,
                      id_back_upload: str, branch_id: str, day: dt.date, slot: str, monthly_amount: int | None,
                      now: dt.datetime):
    """An opening application with its branch appointment, in one transaction; returns (record, appointment)."""
    from chalicelib.services import uploads

    existing = records.find(serial)
    if existing is not None and existing.owner == id_number and _details(existing).get("phone") == phone:
        return existing, appointments._get(f"AP{serial}")     # the same applicant retrying
    verify_sms_code(phone, SMS_PURPOSE_OPENING, sms_code, now)
    _count_try(id_number, now)
    accounts = [a for a in Account.person_index.query(id_number) if a.status != "closed"]
    if accounts or any(r.kind == OPENING and r.status == "submitted"
                       for r in BusinessRecord.owner_index.query(id_number, scan_index_forward=False, limit=20)):
        raise errors.NotEligible(CANNOT_OPEN)      # one answer: which of the cases it is stays with the person
    flex = policy.get().flexible
    amount = flex.monthly_amount_min if monthly_amount is None else monthly_amount
    rules.check_amount(amount, flex)
    uploads.check(id_front_upload, "id_front", now, owner="")      # the opening has no login: anonymous uploads
    uploads.check(id_back_upload, "id_back", now, owner="")

    record = business.new_record(
        serial_no=serial, owner=id_number, kind=OPENING, title="灵活就业开户申请", now=now, review=True,
        amount=amount, details={"name": name, "phone": phone, "id_front_upload": id_front_upload,
                                "id_back_upload": id_back_upload, "branch_id": branch_id,
                                "appointment": f"{day.isoformat()} {slot}", "monthly_amount": money.format(amount)})
    appt = appointments.book(
        appointment_id=f"AP{serial}", id_number=id_number, branch_id=branch_id, day=day, slot=slot, now=now,
        purpose=OPENING, name=name, phone=phone, serial_no=serial,
        extras=[lambda tx: records.submit_in(tx, record)])
    notify.citizen(id_number, title="开户申请已提交",
                   body=f"您的灵活就业开户申请已提交，请于 {appt.date} {appt.slot} 携身份证到{appt.branch_name}办理。",
                   kind="business", now=now, key=serial, serial_no=serial)
    return records.find(serial) or record, appt


def _details(record: BusinessRecord) -> dict:
    return record.details.as_dict() if record.details else {}


def _count_try(id_number: str, now: dt.datetime) -> None:
    """One opening attempt for ``id_number`` today (China time); 429 past ``OPENING_TRIES_PER_DAY``."""
    day = now.astimezone(clock.CHINA).date()
    key = f"opening-tries#{hashlib.sha256(id_number.encode()).hexdigest()[:32]}#{day.isoformat()}"
    item = StateItem(key, "-")
    item.update(actions=[StateItem.count.add(1),
                         StateItem.ttl.set(now + dt.timedelta(days=2))])
    if int(item.count or 0) > OPENING_TRIES_PER_DAY:
        tomorrow = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=clock.CHINA)
        raise errors.RateLimited("该身份证号今日的开户申请次数已达上限，请明天再试",
                                 retry_after=int((tomorrow - now).total_seconds()))


def flexible_account_no(serial: str) -> str:
    return "F" + hashlib.sha256(serial.encode()).hexdigest()[:11].upper()


def _approve_opening(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    """The operator approves: the person is recorded and the flexible account opened (once)."""
    d = record.details.as_dict() if record.details else {}
    id_number = record.owner
    try:
        Person.get(id_number)
    except Person.DoesNotExist:
        Person(id_number, name=d.get("name", ""), phone=d.get("phone", ""), updated_at=now).save()
    day = now.astimezone(clock.CHINA).date()
    amount = int(record.amount or policy.get().flexible.monthly_amount_min)
    account = Account(flexible_account_no(record.serial_no), id_number=id_number, kind="flexible", status="normal",
                      monthly_amount=amount, balance=0,
                      paid_through=periods.shift(periods.period_of(day), -1), opened_on=day.isoformat(),
                      remit_group="flexible", updated_at=now,
                      terms_history=[Terms(from_period=periods.period_of(day), amount=amount)])
    try:
        account.save(condition=Account.account_no.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise
    record.update(actions=[BusinessRecord.account_no.set(account.account_no)])
    return "done"


def _notify_opening(record: BusinessRecord, now: dt.datetime) -> None:
    fresh = records.find(record.serial_no)
    if fresh.status == "rejected":
        title, body = "开户申请未通过", f"您的灵活就业开户申请未通过：{fresh.opinion}"
    else:
        title, body = "开户成功", f"您的灵活就业公积金账户已开立，账号 {fresh.account_no}。审核意见：{fresh.opinion}"
    notify.citizen(record.owner, title=title, body=body, kind="review", now=now, key=f"decided#{record.serial_no}",
                   serial_no=record.serial_no)


def _reject_opening(record: BusinessRecord, opinion: str, now: dt.datetime) -> None:
    appt = appointments._get(f"AP{record.serial_no}")
    if appt is not None and appt.status == "booked" and appt.date > now.astimezone(clock.CHINA).date().isoformat():
        appointments.cancel(appt.appointment_id, id_number=appt.id_number, now=now)


business.register(OPENING, business.Reviewer(title="灵活就业开户申请", approve=_approve_opening,
                                             reject=_reject_opening, notify=_notify_opening))


# ---------------------------------------------------------------- 转入灵活就业预约


def transfer_in(*, id_number: str, serial: str, branch_id: str, day: dt.date, slot: str, now: dt.datetime):
    existing = appointments._get(f"AP{serial}")
    if existing is not None:
        return existing
    accounts = [a for a in Account.person_index.query(id_number) if a.status != "closed"]
    if not any(a.status == "sealed" for a in accounts):
        raise errors.NotEligible("转入灵活就业须有已封存的公积金账户")
    if any(a.kind == "flexible" and a.status == "normal" for a in accounts):
        raise errors.AlreadyDone("您已是灵活就业缴存人")
    person = _person(id_number)
    record = business.new_record(serial_no=serial, owner=id_number, kind="flexible_transfer_in",
                                 title="转入灵活就业预约", now=now, review=False,
                                 details={"branch_id": branch_id, "appointment": f"{day.isoformat()} {slot}"})
    appt = appointments.book(
        appointment_id=f"AP{serial}", id_number=id_number, branch_id=branch_id, day=day, slot=slot, now=now,
        purpose="transfer_in", name=person.name if person else None, phone=person.phone if person else None,
        serial_no=serial, extras=[lambda tx: records.submit_in(tx, record)])
    appointments.notify_booked(appt, now)
    return appt


# ---------------------------------------------------------------- 封存 / 启封


def set_sealed(*, id_number: str, sealed: bool, serial: str, now: dt.datetime) -> Account:
    record = records.find(serial)
    acct = flexible_account(id_number)
    if record is not None:
        return acct
    (rules.check_seal if sealed else rules.check_unseal)(acct.kind, acct.status)
    new_status, old_status = ("sealed", "normal") if sealed else ("normal", "sealed")
    title = "封存" if sealed else "启封"
    actions = [Account.status.set(new_status), Account.version.add(1), Account.updated_at.set(now)]
    details = None
    if sealed:
        actions += [Account.sealed_on.set(now.astimezone(clock.CHINA).date().isoformat()), Account.remit_group.remove()]
    else:
        actions += [Account.sealed_on.remove(), Account.remit_group.set("flexible")]
        # sealed months are not owed: the month of unsealing is the first due (a sealed account takes no payment,
        # so paid_through cannot move under us; the status condition below guards the rest)
        after = rules.paid_through_after_unseal(paid_through=acct.paid_through, opened_on=acct.opened_on,
                                                unsealed=now.astimezone(clock.CHINA).date())
        if after != acct.paid_through:
            actions.append(Account.paid_through.set(after))
            details = {"paid_through_before": acct.paid_through or "", "paid_through": after,
                       "sealed_on": acct.sealed_on or ""}
    rec = business.new_record(serial_no=serial, owner=id_number, kind="flexible_seal" if sealed else "flexible_unseal",
                              title=title, now=now, review=False, status="done", account_no=acct.account_no,
                              details=details)
    rec.decided_at = clock.iso(now)
    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.update(Account(acct.account_no), actions=actions,
                      condition=(Account.status == old_status) & (Account.kind == "flexible"))
            records.submit_in(tx, rec)
    except TransactWriteError:
        if records.find(serial) is not None:
            return flexible_account(id_number)
        raise errors.Conflict("账户状态已变化，请刷新后重试") from None
    notify.citizen(id_number, title=f"{title}成功", body=f"您的灵活就业公积金账户已{title}。", kind="business",
                   now=now, key=serial, serial_no=serial)
    return Account.get(acct.account_no, consistent_read=True)


# ---------------------------------------------------------------- 月缴存额调整


def adjust_monthly_amount(*, id_number: str, amount: int, serial: str, now: dt.datetime) -> Account:
    if records.find(serial) is not None:
        return flexible_account(id_number)
    acct = flexible_account(id_number)
    rules.check_flexible(acct.kind, acct.status)
    flex = policy.get().flexible
    year = rules.deposit_year(now)
    counter_pk, counter_sk = f"adjust#{acct.account_no}", str(year)
    try:
        used = int(StateItem.get(counter_pk, counter_sk, consistent_read=True).count or 0)
    except StateItem.DoesNotExist:
        used = 0
    rules.check_adjustment(amount=amount, now=now, used_this_year=used, rules=flex)
    rec = business.new_record(serial_no=serial, owner=id_number, kind="flexible_amount", title="月缴存额调整",
                              now=now, review=False, status="done", amount=amount, account_no=acct.account_no,
                              details={"before": money.format(int(acct.monthly_amount or 0)),
                                       "after": money.format(amount), "deposit_year": year})
    rec.decided_at = clock.iso(now)
    # the new amount holds from this month on; the months before keep the amount they had (issue 16 item 5)
    history = append_terms(acct, terms_entry(periods.period_of(now), acct, amount=amount))
    try:
        with TransactWrite(connection=base.connection()) as tx:
            tx.update(StateItem(counter_pk, counter_sk), actions=[StateItem.count.add(1),
                                                                  StateItem.updated_at.set(clock.iso(now))],
                      condition=StateItem.count.does_not_exist() | (StateItem.count < flex.adjustments_per_year))
            tx.update(Account(acct.account_no), actions=[Account.monthly_amount.set(amount), Account.version.add(1),
                                                         Account.updated_at.set(now), history],
                      condition=(Account.kind == "flexible") & (Account.status != "closed"))
            records.submit_in(tx, rec)
    except TransactWriteError:
        if records.find(serial) is not None:
            return flexible_account(id_number)
        raise errors.AlreadyDone("本缴存年度已调整过月缴存额") from None
    notify.citizen(id_number, title="月缴存额调整成功", body=f"您的月缴存额已调整为 {money.format(amount)} 元。",
                   kind="business", now=now, key=serial, serial_no=serial)
    return Account.get(acct.account_no, consistent_read=True)


# ---------------------------------------------------------------- 退出缴存提取


def exit_withdrawal(*, id_number: str, card_id: str, serial: str, now: dt.datetime, actor: str,
                    source: str | None = None) -> BusinessRecord:
    """Pay the whole balance to a bound card and close the account (sealed, no unsettled loan)."""
    record = records.find_own(serial, id_number)
    if record is None:
        acct = flexible_account(id_number)
        loans = [loan.status for loan in Loan.person_index.query(id_number)]
        rules.check_exit(kind=acct.kind, status=acct.status, loan_statuses=loans)
        card = cards.card_of(id_number, card_id)
        balance = int(acct.balance or 0)
        today = now.astimezone(clock.CHINA).date()
        # 销户结息: the year's interest accrued up to today is paid with the balance, in the closing's transaction
        closing_interest = interest.closing_interest(acct, serial, today)
        amount = balance + (closing_interest.amount if closing_interest else 0)
        record = business.new_record(serial_no=serial, owner=id_number, kind="flexible_exit", title="退出缴存提取",
                                     now=now, review=False, type="exit", amount=amount, account_no=acct.account_no,
                                     details={"card_id": card.card_id, "card": masking.card(card.card_no)})
        day = now.astimezone(clock.CHINA).date().isoformat()
        closing = [Account.status.set("closed"), Account.closed_on.set(day), Account.remit_group.remove()]

        def still_sealed(accounts: dict[str, Account]) -> None:
            fresh = accounts[acct.account_no]
            rules.check_exit(kind=fresh.kind, status=fresh.status, loan_statuses=[])
            if int(fresh.version or 0) != int(acct.version or 0) or int(fresh.balance or 0) != balance:
                raise errors.Conflict("账户余额已变化，请刷新后重试")

        save_record = ledger.Extra(lambda tx: records.submit_in(tx, record),
                                   errors.AlreadyDone())
        if amount > 0:
            ledger.post([*([closing_interest] if closing_interest else []),
                         ledger.Posting(acct.account_no, serial, "W", amount, "withdrawal", type="exit",
                                        business_serial=serial)], now=now, actor=actor, source=source,
                        updates={acct.account_no: [*closing, Account.last_withdrawal_on.set(day)]},
                        extras=[save_record], before_write=still_sealed)
        else:
            record.status = "done"
            record.decided_at = clock.iso(now)
            try:
                with TransactWrite(connection=base.connection()) as tx:
                    tx.update(Account(acct.account_no), actions=[*closing, Account.version.add(1)],
                              condition=(Account.status == "sealed") & (Account.balance == 0))
                    save_record.apply(tx)
            except TransactWriteError:
                raise errors.Conflict("账户状态已变化，请刷新后重试") from None
            _notify_exit(record, now)
            return record
        record = records.find(serial)

    def reverse(amount: int, reason: str) -> None:
        # declined: the money goes back and the account is sealed again
        payments.reverse(record.account_no, serial, amount, reason, now,
                         updates=[Account.status.set("sealed"), Account.closed_on.remove()])

    def declined(record: BusinessRecord, reason: str) -> None:
        notify.citizen(id_number, title="退出缴存提取未成功",
                       body=f"银行转账未成功：{reason}，资金已退回您的公积金账户。", kind="withdrawal", now=now,
                       key=serial, serial_no=serial)

    return payments.money_out(
        record, to=lambda: (cards.card_of(id_number, record.details.as_dict()["card_id"]).card_no, int(record.amount)),
        now=now, reverse=reverse, paid=lambda record: _notify_exit(record, now), declined=declined)


def _notify_exit(record: BusinessRecord, now: dt.datetime) -> None:
    notify.citizen(record.owner, title="退出缴存提取成功",
                   body=f"您已退出缴存，提取 {money.format(int(record.amount or 0))} 元至绑定银行卡，账户已销户。",
                   kind="withdrawal", now=now, key=record.serial_no, serial_no=record.serial_no)


# ---------------------------------------------------------------- helpers


def _person(id_number: str) -> Person | None:
    try:
        return Person.get(id_number)
    except Person.DoesNotExist:
        return None
