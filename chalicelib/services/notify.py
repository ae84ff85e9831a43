"""Telling citizens (通知): a message in their box and, when they subscribed (短信签约), an SMS.

Notification SMS are queued (``sms-outbox``) under a deterministic id and sent by the ``dispatch-sms``
job, so posting the same notice twice sends one SMS. Verification codes do not come here: they are
sent at once through :mod:`chalicelib.adapters.sms`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.store import base
from chalicelib.store.messages import Message, OutboundSms
from chalicelib.store.people import Person
from chalicelib.store.users import User

_TRANSACTION_ITEMS = 100        # DynamoDB's limit of items in one TransactWriteItems
_QUEUE_TRIES = 6


def message_id(now: datetime) -> str:
    return f"{now.astimezone(clock.CHINA).strftime('%Y%m%d%H%M%S%f')}#{secrets.token_hex(4)}"


def stable_message_id(now: datetime, key: str) -> str:
    return f"{now.astimezone(clock.CHINA).strftime('%Y%m%d%H%M%S%f')}#{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def post_message(id_number: str, *, title: str, body: str, kind: str, now: datetime, box: str = "unread",
                 serial_no: str | None = None) -> Message:
    msg = Message(id_number=id_number, message_id=message_id(now), box=box, kind=kind, title=title, body=body,
                  created_at=clock.iso(now), serial_no=serial_no)
    msg.save()
    return msg


def _outbound(sms_id: str, phone: str, text: str, now: datetime) -> OutboundSms:
    return OutboundSms(sms_id=sms_id, phone=phone, text=text, status="pending", attempts=0, queue="pending",
                       due_at=int(now.timestamp()), created_at=clock.iso(now))


def queue_sms(sms_id: str, phone: str, text: str, *, now: datetime) -> bool:
    """Queue one notification SMS; False when ``sms_id`` was queued before (nothing is sent twice)."""
    item = _outbound(sms_id, phone, text, now)
    try:
        item.save(condition=OutboundSms.sms_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def message_in(tx, id_number: str, *, title: str, body: str, kind: str, now: datetime,
               serial_no: str | None = None) -> None:
    """:func:`post_message` as one write of a transaction (issue 18): the message is written with what it tells
    (the money moving), in the same round trip, and only if that happens. Follow with :func:`sms` after."""
    msg = Message(id_number=id_number, message_id=message_id(now), box="unread", kind=kind, title=title, body=body,
                  created_at=clock.iso(now), serial_no=serial_no, box_key=Message.box_key_for(id_number, "unread"))
    tx.save(msg)


def citizen(id_number: str, *, title: str, body: str, kind: str, now: datetime, key: str,
            serial_no: str | None = None, sms_text: str | None = None) -> None:
    """Post a message and, if this person subscribed to SMS, queue one SMS keyed by ``kind#key``."""

    post_message(id_number, title=title, body=body, kind=kind, now=now, serial_no=serial_no)
    sms(id_number, body=body, kind=kind, now=now, key=key, sms_text=sms_text)


def sms(id_number: str, *, body: str, kind: str, now: datetime, key: str, sms_text: str | None = None) -> None:
    """The SMS half of :func:`citizen`: queued under ``kind#key`` if this person subscribed."""
    from chalicelib.http.auth import caller_user

    known = caller_user(id_number)     # the citizen's own request has read their User already
    users = [known] if known is not None else list(User.id_number_index.query(id_number, limit=1))
    if not users or not users[0].sms_subscribed:
        return
    try:
        phone = Person.get(id_number).phone
    except Person.DoesNotExist:
        phone = users[0].phone
    queue_sms(f"{kind}#{key}", phone, sms_text or f"【公积金】{body}", now=now)


@dataclass(frozen=True)
class Notice:
    """One citizen's notice in a batch (:func:`citizens`)."""

    id_number: str
    title: str
    body: str
    key: str
    serial_no: str | None = None


def citizens(notices: Sequence[Notice], *, kind: str, now: datetime, stable: bool = False) -> None:
    """Many citizens at once (batch jobs, a roster's employees): the messages written in batches, then for each
    subscriber one SMS queued under ``kind#key`` (as :func:`citizen`, so a notice repeated by a re-run is sent
    once). Whether each subscribed, and their phones, are read in batches too: the calls grow with the batches of
    notices, not with each citizen (issue 18).

    ``stable``: each message's id is derived from ``now`` and ``kind#key``, so telling the same notices again
    (a retry, with the same ``now``) writes the same messages instead of second ones."""

    with Message.batch_write() as batch:
        for n in notices:
            # a batch write does not go through Message.save, so the box key is set here (box-index lists it)
            mid = stable_message_id(now, f"{kind}#{n.key}") if stable else message_id(now)
            batch.save(Message(id_number=n.id_number, message_id=mid, box="unread", kind=kind,
                               title=n.title, body=n.body, created_at=clock.iso(now), serial_no=n.serial_no,
                               box_key=Message.box_key_for(n.id_number, "unread")))
    subscribers = _subscribed_phones([n.id_number for n in notices])
    queue_many([(f"{kind}#{n.key}", subscribers[n.id_number], f"【公积金】{n.body}")
                for n in notices if n.id_number in subscribers], now=now)


def _subscribed_phones(id_numbers: Sequence[str]) -> dict[str, str]:
    """The phone to text for each of these people who subscribed to SMS (短信签约), as :func:`sms` chooses it: the
    center's record of the person, else the user's own. A few BatchGetItem calls for every 100 people (the users,
    then the people of the subscribers), not a lookup each (issue 18)."""
    from chalicelib.services.identity import users_by_id_numbers

    subscribed = {n: u for n, u in users_by_id_numbers(id_numbers).items() if u.sms_subscribed}
    if not subscribed:
        return {}
    phones = {n: u.phone for n, u in subscribed.items()}
    phones.update({p.id_number: p.phone for p in Person.batch_get(list(subscribed)) if p.phone})
    return phones


def queue_many(messages: Sequence[tuple[str, str, str]], *, now: datetime) -> int:
    """:func:`queue_sms` for many SMS (``(sms_id, phone, text)``): up to 100 in one ``TransactWriteItems``, each put
    conditioned on its id being new, so nothing queued before is queued (or sent) again. A transaction cancelled
    because some ids exist already (a re-run) is written again without them; one cancelled by a concurrent write
    is tried again (up to 6 times, then its error is raised: a retry of the caller queues what is left).
    Returns how many were queued."""
    unique: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for m in messages:      # one transaction may not write an item twice; the first of a repeated id is queued
        if m[0] not in seen:
            seen.add(m[0])
            unique.append(m)
    queued = 0
    for start in range(0, len(unique), _TRANSACTION_ITEMS):
        pending = unique[start:start + _TRANSACTION_ITEMS]
        last: TransactWriteError | None = None
        for _ in range(_QUEUE_TRIES):
            try:
                with TransactWrite(connection=base.connection()) as tx:
                    for sms_id, phone, text in pending:
                        tx.save(_outbound(sms_id, phone, text, now), condition=OutboundSms.sms_id.does_not_exist())
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException":
                    raise
                codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
                if len(codes) != len(pending):
                    raise
                last = exc
                pending = [m for m, code in zip(pending, codes, strict=True) if code != "ConditionalCheckFailed"]
                if pending:
                    continue
            queued += len(pending)
            pending = []
            break
        if pending:         # cancelled by concurrent writes every time: the caller's retry queues the rest
            raise last if last is not None else RuntimeError("sms queue: nothing written")
    return queued
