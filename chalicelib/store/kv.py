"""Small state items: the remittance window, job progress and run markers, counters, slots.

``pk`` names the thing (``window#remittance``, ``job#settle-annual-interest#2026``), ``sk`` a part of it.
"""

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel


class StateItem(BaseModel):
    class Meta:
        table_name = "state"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="-")
    status = UnicodeAttribute(null=True)
    value = UnicodeAttribute(null=True)
    count = NumberAttribute(null=True)
    total = NumberAttribute(null=True)           # an amount in fen (a fan-out shard's sum)
    data = MapAttribute(null=True)
    version = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)
    ttl = TTLAttribute(null=True)
