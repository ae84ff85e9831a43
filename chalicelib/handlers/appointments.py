"""Appointments (网点预约): a branch's slots, booking, cancelling, my appointments."""

from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict, Field

from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.idempotency import request_serial
from chalicelib.http.pagination import PageQuery, envelope, page
from chalicelib.http.schema import BaseModel
from chalicelib.services import appointments as service
from chalicelib.store.appointments import Appointment

api = Api(__name__, tag="appointments")


class SlotsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date


class Slot(BaseModel):
    slot: str
    capacity: int
    booked: int
    available: int


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch_id: str = Field(..., min_length=1, max_length=40)
    date: dt.date
    slot: str = Field(..., min_length=1, max_length=20)


class AppointmentOut(BaseModel):
    appointment_id: str
    branch_id: str
    branch_name: str | None
    date: str
    slot: str
    purpose: str
    status: str
    serial_no: str | None = None
    created_at: str

    @classmethod
    def of(cls, a: Appointment) -> AppointmentOut:
        return cls(appointment_id=a.appointment_id, branch_id=a.branch_id, branch_name=a.branch_name, date=a.date,
                   slot=a.slot, purpose=a.purpose, status=a.status, serial_no=a.serial_no, created_at=a.created_at)


class AppointmentPage(BaseModel):
    items: list[AppointmentOut]
    next_cursor: str | None


@api.route("/v1/branches/{branch_id}/slots", roles=None, query=SlotsQuery, response=list[Slot], errors=(404,),
           summary="A branch's slots on a day with places left (none on weekends and public holidays)")
def branch_slots(req: Request, branch_id: str) -> list[Slot]:
    return [Slot(**s) for s in service.slots(branch_id, req.query.date)]


@api.route("/v1/appointments", "POST", roles=(auth.DEPOSITOR,), body=BookIn, response=AppointmentOut, status=201,
           idempotent=True, errors=(404, 409, 422), summary="Book a place at a branch (网点预约)")
def book(req: Request) -> AppointmentOut:
    id_number = auth.caller_id_number(req.subject)
    appt = service.book(appointment_id=request_serial(req, "AP"),
                        id_number=id_number, branch_id=req.body.branch_id, day=req.body.date, slot=req.body.slot,
                        now=req.now)
    service.notify_booked(appt, req.now)
    return AppointmentOut.of(appt)


@api.route("/v1/appointments/{appointment_id}", "DELETE", roles=(auth.DEPOSITOR,), errors=(404, 409, 422),
           summary="Cancel an appointment (the place is freed)")
def cancel(req: Request, appointment_id: str) -> None:
    service.cancel(appointment_id, id_number=auth.caller_id_number(req.subject), now=req.now)
    return None


@api.route("/v1/me/appointments", roles=(auth.DEPOSITOR,), query=PageQuery, response=AppointmentPage,
           summary="My appointments, latest date first")
def my_appointments(req: Request) -> dict:
    items, cursor = page(Appointment.owner_index.query, hash_key=auth.caller_id_number(req.subject),
                         scan_index_forward=False, limit=req.query.limit, cursor=req.query.cursor, scope=req.scope())
    return envelope([AppointmentOut.of(a) for a in items], cursor)
