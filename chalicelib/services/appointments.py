"""Branch appointments (网点预约): slots with capacity, booking, cancelling, the day-before reminder.

A booking is one DynamoDB transaction: the slot's counter goes up under ``count < capacity`` and the
appointment is put under ``attribute_not_exists`` (plus whatever the caller adds, e.g. the opening
application's business record). Twenty people pressing "book" on the last place at once: one gets it.
Cancelling lowers the counter in the same transaction that marks the appointment cancelled, once.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Sequence

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, fanout, jobs_fanout, log, policy
from chalicelib.rules import appointments as rules
from chalicelib.services import notify
from chalicelib.services.ledger import _failed_label, _LabelledTransaction
from chalicelib.store import base
from chalicelib.store.appointments import Appointment, slot_pk
from chalicelib.store.content import Branch
from chalicelib.store.kv import StateItem
from chalicelib.store.people import Person

logger = log.get("appointments")
_RETRIES = 12
PURPOSE_TITLES = {"general": "业务办理", "flexible_opening": "灵活就业开户", "transfer_in": "转入灵活就业"}


def branch(branch_id: str) -> Branch:
    try:
        return Branch.get(branch_id)
    except Branch.DoesNotExist:
        raise errors.NotFound("未找到该网点") from None


def slots(branch_id: str, day: dt.date) -> list[dict]:
    """The day's slots with capacity and places left; none on weekends and public holidays."""
    b = branch(branch_id)
    if not rules.is_service_day(day):
        return []
    taken = {item.sk: int(item.count or 0)
             for item in StateItem.query(slot_pk(branch_id, day.isoformat()), consistent_read=True)}
    capacity = int(b.capacity_per_slot)
    return [{"slot": s, "capacity": capacity, "booked": taken.get(s, 0),
             "available": max(0, capacity - taken.get(s, 0))} for s in b.slots]


def book(*, appointment_id: str, id_number: str, branch_id: str, day: dt.date, slot: str, now: dt.datetime,
         purpose: str = "general", name: str | None = None, phone: str | None = None,
         serial_no: str | None = None, extras: Sequence[Callable[[TransactWrite], None]] = ()) -> Appointment:
    """Book a place; the same ``appointment_id`` again answers the first booking (a retry)."""
    existing = _get(appointment_id)
    if existing is not None:
        return existing
    b = branch(branch_id)
    cfg = policy.get().appointments
    rules.check_bookable(day, today=now.astimezone(clock.CHINA).date(), days_ahead=cfg.book_days_ahead)
    rules.check_slot(slot, list(b.slots))
    capacity = int(b.capacity_per_slot)
    if capacity < 1:
        raise errors.Conflict("该时段已约满，请选择其他时段")
    active = [a for a in upcoming(id_number, now) if a.status == "booked"]
    if len(active) >= cfg.max_active_per_person:
        raise errors.NotEligible(f"您已有 {len(active)} 个未办理的预约，请办理或取消后再预约")
    if any(a.date == day.isoformat() and a.slot == slot for a in active):
        raise errors.AlreadyDone("您已预约该时段")

    if phone is None or name is None:
        try:
            person = Person.get(id_number)
            name, phone = name or person.name, phone or person.phone
        except Person.DoesNotExist:
            pass
    date = day.isoformat()
    appt = Appointment(appointment_id=appointment_id, id_number=id_number, name=name, phone=phone,
                       branch_id=branch_id, branch_name=b.name, date=date, slot=slot, purpose=purpose,
                       status="booked", serial_no=serial_no, created_at=clock.iso(now),
                       sort_key=Appointment.key_for(date, slot, appointment_id), remind_on=date)
    for attempt in range(_RETRIES):
        tx = _LabelledTransaction()
        try:
            with tx:
                tx.label = ("slot", 0)
                tx.update(StateItem(slot_pk(branch_id, date), slot),
                          actions=[StateItem.count.add(1), StateItem.updated_at.set(clock.iso(now))],
                          condition=StateItem.count.does_not_exist() | (StateItem.count < capacity))
                tx.label = ("appointment", 0)
                tx.save(appt, condition=Appointment.appointment_id.does_not_exist())
                for i, extra in enumerate(extras):
                    tx.label = ("extra", i)
                    extra(tx)
        except TransactWriteError as exc:
            failed = _failed_label(exc, tx.labels())
            again = _get(appointment_id)
            if again is not None:
                return again
            if failed is not None and failed[0] == "slot":
                raise errors.Conflict("该时段已约满，请选择其他时段", details={"slot": slot}) from None
            if exc.cause_response_code == "TransactionCanceledException" and failed is None:
                # another booking of the same slot was committing at that instant: try again shortly
                time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
                continue
            raise
        return appt
    raise errors.Conflict("预约人数较多，请稍后重试")


def cancel(appointment_id: str, *, id_number: str, now: dt.datetime) -> Appointment:
    appt = _get(appointment_id)
    if appt is None or appt.id_number != id_number:
        raise errors.NotFound("未找到该预约")
    if appt.status == "cancelled":
        return appt
    if appt.date <= now.astimezone(clock.CHINA).date().isoformat():
        raise errors.NotEligible("预约当天及之后不能在线取消")
    for attempt in range(_RETRIES):
        tx = TransactWrite(connection=_connection())
        try:
            with tx:
                tx.update(Appointment(appointment_id),
                          actions=[Appointment.status.set("cancelled"), Appointment.cancelled_at.set(clock.iso(now)),
                                   Appointment.remind_on.remove()],
                          condition=Appointment.status == "booked")
                tx.update(StateItem(slot_pk(appt.branch_id, appt.date), appt.slot),
                          actions=[StateItem.count.add(-1)], condition=StateItem.count > 0)
        except TransactWriteError:
            again = _get(appointment_id)
            if again is not None and again.status == "cancelled":
                return again
            time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))   # a booking of the slot was committing
            continue
        break
    else:
        raise errors.Conflict("预约人数较多，请稍后重试")
    appt.status = "cancelled"
    where = appt.branch_name or "网点"
    notify.citizen(id_number, title="预约已取消", body=f"您已取消 {appt.date} {appt.slot} 在{where}的预约。",
                   kind="appointment", now=now, key=f"cancelled#{appointment_id}", serial_no=appt.serial_no)
    return appt


def upcoming(id_number: str, now: dt.datetime) -> list[Appointment]:
    today = now.astimezone(clock.CHINA).date().isoformat()
    return list(Appointment.owner_index.query(id_number, Appointment.sort_key >= today))


def notify_booked(appt: Appointment, now: dt.datetime) -> None:
    title = f"{PURPOSE_TITLES.get(appt.purpose, '业务办理')}预约成功"
    what = PURPOSE_TITLES.get(appt.purpose, "业务")
    body = f"您已预约 {appt.date} {appt.slot} 到{appt.branch_name or '网点'}办理{what}。"
    notify.citizen(appt.id_number, title=title, body=body, kind="appointment", now=now,
                   key=f"booked#{appt.appointment_id}", serial_no=appt.serial_no)


JOB = "send-appointment-reminders"
PAGE = 200          # appointments read per Query and per checkpoint


def send_reminders(now: dt.datetime) -> dict:
    """``send-appointment-reminders`` (18:00): tell everyone booked for tomorrow, once each.

    Fanned out (:mod:`chalicelib.jobs_fanout`, issue 18): the scheduled function is the coordinator of the day's run
    (``job#send-appointment-reminders#<tomorrow>``, ``state`` table), which cuts tomorrow's part of the sparse
    ``remind-index`` (``remind_on`` = tomorrow, in ``sort_key`` order, one key per appointment) into
    ``GJJ_JOB_SHARDS`` key ranges and queues one message per shard. A worker reads its range :data:`PAGE`
    appointments at a time, reminds them and checkpoints the page's last ``sort_key``. Each reminder first clears
    the appointment's ``remind_on`` under a condition (still booked, still due tomorrow), so a page done twice
    (a twin worker, a retry) or a second run sends nothing more, and an appointment cancelled meanwhile is skipped.
    Once every shard is done the day's run is ``done`` and later firings answer at once.
    """
    return jobs_fanout.start(FANOUT, now)


def _plan(now: dt.datetime) -> jobs_fanout.Plan:
    tomorrow = (now.astimezone(clock.CHINA).date() + dt.timedelta(days=1)).isoformat()
    return jobs_fanout.Plan(f"job#{JOB}#{tomorrow}", {"day": tomorrow})


def _keys(context: dict) -> Iterator[str]:
    """Every ``sort_key`` due a reminder on the day, in order (streamed once by the coordinator to cut the shards)."""
    return (a.sort_key for a in Appointment.remind_index.query(context["day"], attributes_to_get=["sort_key"]))


def _page(context: dict, shard: jobs_fanout.Shard, now: dt.datetime) -> jobs_fanout.Page:
    """The next :data:`PAGE` appointments of the shard's range of the ``remind-index``, reminded and checkpointed."""
    day, after = context["day"], shard.after
    condition = Appointment.sort_key > after if after is not None else None
    read = list(Appointment.remind_index.query(day, condition, limit=PAGE))
    keys, reached_end = shard.within([a.sort_key for a in read])
    if not keys:
        return jobs_fanout.Page(None, more=False)
    page = read[:len(keys)]
    sent = sum(fanout.each(lambda appt: _remind(appt, day, now), page))
    jobs_fanout.checkpoint(shard, keys[-1], sent, 0, now)
    return jobs_fanout.Page(keys[-1], sent, 0, more=not reached_end and len(read) == PAGE)


def _finished(context: dict, totals: dict, now: dt.datetime) -> None:
    log.event(logger, "appointment reminders", day=context["day"], sent=totals["posted"])


def _summary(context: dict, totals: dict | None) -> dict:
    out: dict = {"day": context["day"]}
    if totals is not None:
        out["reminded"] = totals["posted"]
    return out


FANOUT = jobs_fanout.FanoutJob(JOB, plan=_plan, keys=_keys, page=_page, finished=_finished, summary=_summary)


def _remind(appt: Appointment, tomorrow: str, now: dt.datetime) -> bool:
    """Remind one appointment; False when it was reminded already or is no longer booked."""
    try:
        appt.update(actions=[Appointment.remind_on.remove(), Appointment.reminded_at.set(clock.iso(now))],
                    condition=(Appointment.remind_on == tomorrow) & (Appointment.status == "booked"))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    what = PURPOSE_TITLES.get(appt.purpose, "业务办理")
    where = appt.branch_name or "网点"
    body = f"温馨提示：您预约了明天（{appt.date}）{appt.slot} 到{where}办理{what}，请按时前往。"
    notify.post_message(appt.id_number, title="预约提醒", body=body, kind="reminder", now=now,
                        serial_no=appt.serial_no)
    if appt.phone:
        notify.queue_sms(f"appointment-reminder#{appt.appointment_id}", appt.phone, f"【公积金】{body}", now=now)
    return True


def _get(appointment_id: str) -> Appointment | None:
    try:
        return Appointment.get(appointment_id, consistent_read=True)
    except Appointment.DoesNotExist:
        return None


def _connection():
    return base.connection()
