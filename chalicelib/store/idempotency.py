"""Stored outcomes of requests made with an ``Idempotency-Key`` (kept at least 24 hours)."""

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel


class IdempotencyRecord(BaseModel):
    class Meta:
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)          # "<subject>#<METHOD> <path>#<Idempotency-Key>"
    status = UnicodeAttribute()                    # in_progress | complete
    request_hash = UnicodeAttribute()
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)    # JSON text
    response_headers = UnicodeAttribute(null=True)  # JSON text
    in_progress_until = NumberAttribute(null=True)  # epoch seconds
    expires_at = NumberAttribute()                 # epoch seconds: logical expiry
    ttl = TTLAttribute(null=True)                  # physical cleanup, later than expires_at
