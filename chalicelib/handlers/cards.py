"""My bank cards (银行卡): bind (step-up, Luhn-checked), list (masked), unbind.

See :mod:`chalicelib.services.cards`. Payments and payouts name a bound card by its ``card_id``.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from chalicelib.fields import Card
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.masking import MaskedCard
from chalicelib.services import cards
from chalicelib.store.cards import BankCard

api = Api(__name__, tag="bank-cards")


class BindIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    card_no: Card = Field(..., min_length=12, max_length=32)
    bank_name: str = Field(..., min_length=2, max_length=40)


class CardOut(BaseModel):
    card_id: str
    card_no: MaskedCard
    bank_name: str
    status: str
    bound_at: str

    @classmethod
    def of(cls, c: BankCard) -> CardOut:
        return cls(card_id=c.card_id, card_no=c.card_no, bank_name=c.bank_name, status=c.status, bound_at=c.bound_at)


class CardList(BaseModel):
    items: list[CardOut]
    next_cursor: str | None = None


@api.route("/v1/me/bank-cards", roles=(auth.DEPOSITOR,), response=CardList,
           summary="My bound bank cards, masked (已绑定银行卡)")
def list_cards(req: Request) -> CardList:
    return CardList(items=[CardOut.of(c) for c in cards.bound_cards(auth.caller_id_number(req.subject))])


@api.route("/v1/me/bank-cards", "POST", roles=(auth.DEPOSITOR,), body=BindIn, response=CardOut, status=201,
           step_up=True, errors=(409,), summary="Bind a bank card (绑定银行卡): Luhn-checked, needs step-up")
def bind_card(req: Request) -> CardOut:
    card = cards.bind(auth.caller_id_number(req.subject), card_no=req.body.card_no, bank_name=req.body.bank_name,
                      now=req.now, actor=req.subject, source=req.source_ip or None)
    return CardOut.of(card)


@api.route("/v1/me/bank-cards/{id}", "DELETE", roles=(auth.DEPOSITOR,), status=204, errors=(404,),
           summary="Unbind a bank card (解绑): payments can no longer use it")
def unbind_card(req: Request, id: str) -> None:
    cards.unbind(auth.caller_id_number(req.subject), id, now=req.now, actor=req.subject, source=req.source_ip or None)
