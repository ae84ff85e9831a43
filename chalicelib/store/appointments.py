"""Branch appointments (网点预约): who comes to which branch, on which day, in which slot.

One item per appointment. Slot occupancy is a counter item in the state table
(``pk = "slot#<branch>#<date>"``, ``sk = <slot>``), raised under the condition ``count < capacity`` in
the same transaction that puts the appointment, so concurrent bookings never overfill a slot.

Indexes:

* ``owner-index`` — a person's appointments by date (``id_number``, ``"<date>#<slot>#<id>"``);
* ``remind-index`` — sparse: ``remind_on`` is the appointment's date while it is booked and not yet
  reminded, so the reminder job reads exactly tomorrow's to-do list (in ``sort_key`` order, cut into key ranges
  by its fan-out shards).
"""

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel

PURPOSES = ("general", "flexible_opening", "transfer_in")
STATUSES = ("booked", "cancelled")


class OwnerIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "owner-index"
        projection = AllProjection()

    id_number = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class RemindIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "remind-index"
        projection = AllProjection()

    remind_on = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class Appointment(BaseModel):
    class Meta:
        table_name = "appointments"

    appointment_id = UnicodeAttribute(hash_key=True)
    id_number = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    branch_id = UnicodeAttribute()
    branch_name = UnicodeAttribute(null=True)
    date = UnicodeAttribute()                      # YYYY-MM-DD
    slot = UnicodeAttribute()                      # "09:00-10:00"
    purpose = UnicodeAttribute(default="general")  # one of PURPOSES
    status = UnicodeAttribute(default="booked")    # one of STATUSES
    serial_no = UnicodeAttribute(null=True)        # the business application it belongs to
    created_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)
    reminded_at = UnicodeAttribute(null=True)
    sort_key = UnicodeAttribute()                  # "<date>#<slot>#<appointment_id>"
    remind_on = UnicodeAttribute(null=True)        # = date while booked and not reminded (sparse)

    owner_index = OwnerIndex()
    remind_index = RemindIndex()

    @staticmethod
    def key_for(date: str, slot: str, appointment_id: str) -> str:
        return f"{date}#{slot}#{appointment_id}"


def slot_pk(branch_id: str, date: str) -> str:
    return f"slot#{branch_id}#{date}"
