"""Bank cards (银行卡绑定): binding, the list of bound cards, unbinding; and the bound card a payment uses.

* Binding needs a step-up token (the route checks it), a card number of 12 to 19 digits passing the Luhn
  check (``chalicelib.fields.Card``) and a bank name. A card already bound by the same person is refused (409
  ``ALREADY_DONE``): the card id is derived from the person and the card number with a server-keyed HMAC,
  so the "not yet bound" condition of one conditional put rules out duplicates even when two binds race.
  A card unbound before is bound again under the same id.
* Unbinding is a soft status change (``unbound``); the card leaves the list (``bound-index``, sparse) and
  :func:`card_of` refuses it, so no payment can use it any more.
* Card numbers leave the server masked only; binding and unbinding are audited.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import clock, errors
from chalicelib.http import auth
from chalicelib.services import audit
from chalicelib.store.cards import BankCard


def card_of(id_number: str, card_id: str) -> BankCard:
    """The caller's own bound card ``card_id``; 404 for an unknown, unbound or another person's card."""
    try:
        card = BankCard.get(id_number, card_id)
    except BankCard.DoesNotExist:
        card = None
    return bound(card)


def bound(card: BankCard | None) -> BankCard:
    """:func:`card_of` of a card already read (None: not found): the card when bound, else the same 404s."""
    if card is None:
        raise errors.NotFound("未找到该银行卡，请先绑定")
    if card.status != "bound":
        raise errors.NotFound("该银行卡已解绑，请重新绑定")
    return card


def card_id_for(id_number: str, card_no: str) -> str:
    """A stable, opaque id for (person, card): says nothing about the card to anyone without the secret."""

    key = hashlib.sha256(("bank-card:" + auth.secret()).encode()).digest()
    digest = hmac.new(key, f"{id_number}|{card_no}".encode(), hashlib.sha256).hexdigest()
    return f"c_{digest[:20]}"


def bound_cards(id_number: str) -> list[BankCard]:
    """The person's bound cards (one Query on the sparse ``bound-index``)."""
    return list(BankCard.bound_index.query(id_number))


def bind(id_number: str, *, card_no: str, bank_name: str, now: datetime, actor: str,
         source: str | None = None) -> BankCard:
    card = BankCard(id_number=id_number, card_id=card_id_for(id_number, card_no), card_no=card_no,
                    bank_name=bank_name, status="bound", bound_at=clock.iso(now))
    try:
        card.save(condition=BankCard.card_id.does_not_exist() | (BankCard.status == "unbound"))
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        audit.record("card.bind", role="depositor", who=actor, result=audit.REFUSED, now=now, source=source,
                     details={"card_id": card.card_id, "reason": "already bound"})
        raise errors.AlreadyDone("该银行卡已绑定，无需重复绑定", details={"card_id": card.card_id}) from None
    audit.record("card.bind", role="depositor", who=actor, result=audit.OK, now=now, source=source,
                 details={"card_id": card.card_id, "card": card_no, "bank": bank_name})
    return card


def unbind(id_number: str, card_id: str, *, now: datetime, actor: str, source: str | None = None) -> None:
    card = card_of(id_number, card_id)
    try:
        card.update(actions=[BankCard.status.set("unbound"), BankCard.unbound_at.set(clock.iso(now)),
                             BankCard.bound_owner.remove()],
                    condition=BankCard.status == "bound")
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.NotFound("该银行卡已解绑") from None
        raise
    audit.record("card.unbind", role="depositor", who=actor, result=audit.OK, now=now, source=source,
                 details={"card_id": card_id})
