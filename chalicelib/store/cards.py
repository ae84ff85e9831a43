"""Bank cards bound by a depositor (银行卡绑定): where payouts go and what remittances debit.

The full card number is kept because the bank needs it; every response and log line shows it masked
(``MaskedCard``). ``card_id`` is random, so one person's id says nothing about another's.
"""

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel


class BoundIndex(GlobalSecondaryIndex):
    """Sparse: a person's cards while they are bound (``bound_owner`` is removed on unbinding)."""

    class Meta:
        index_name = "bound-index"
        projection = AllProjection()

    bound_owner = UnicodeAttribute(hash_key=True)
    card_id = UnicodeAttribute(range_key=True)


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
    bound_owner = UnicodeAttribute(null=True)       # = id_number while bound (bound-index)

    bound_index = BoundIndex()

    def save(self, *args, **kwargs):
        """Every save keeps ``bound_owner`` in step with ``status`` (the card list depends on it)."""
        self.bound_owner = self.id_number if self.status == "bound" else None
        return super().save(*args, **kwargs)
