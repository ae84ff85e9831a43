"""Bank cards bound by a depositor (银行卡绑定): where payouts go and what remittances debit.

The full card number is kept because the bank needs it; every response and log line shows it masked
(``MaskedCard``). ``card_id`` is random, so one person's id says nothing about another's.
"""

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store.base import BaseModel


class BankCard(BaseModel):
    class Meta:
        table_name = "bank-cards"

    id_number = UnicodeAttribute(hash_key=True)     # the owner
    card_id = UnicodeAttribute(range_key=True)      # "c_<random>"
    card_no = UnicodeAttribute()
    bank_name = UnicodeAttribute()
    status = UnicodeAttribute(default="bound")      # bound | unbound
    bound_at = UnicodeAttribute()
    unbound_at = UnicodeAttribute(null=True)
