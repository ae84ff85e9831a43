"""Bank cards (银行卡) as the money flows see them: the bound card a payment uses."""

from __future__ import annotations

from chalicelib import errors
from chalicelib.store.cards import BankCard


def card_of(id_number: str, card_id: str) -> BankCard:
    """The caller's own bound card ``card_id``; 404 for an unknown, unbound or another person's card."""
    try:
        card = BankCard.get(id_number, card_id)
    except BankCard.DoesNotExist:
        raise errors.NotFound("未找到该银行卡，请先绑定") from None
    if card.status != "bound":
        raise errors.NotFound("该银行卡已解绑，请重新绑定")
    return card
