"""The payments service (issue 19): the money-in saga and the business-record repository, on their own.

The routes that use them (汇缴, 补缴, 提前还本, 提前结清, 提取, 退出缴存提取, 清册付款) are tested through the API in their
own files and under DynamoDB faults in tests/reliability/test_money_faults.py; these tests pin the saga's steps:
the bank takes money only against a posting, and money a refused posting cannot keep goes back once.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors
from chalicelib.adapters import bank
from chalicelib.services import business, payments
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.kv import StateItem
from tests.support import factories

NOW = datetime(2026, 11, 10, 9, 30, tzinfo=clock.CHINA)
CARD = "6222020200112233445"          # LocalBank pays and debits any card not ending in 0000 (CONTRACT §1)
DECLINED_CARD = "6222020200112230000"


def _record(serial: str, owner: str | None = None, amount: int = 12_345) -> None:
    records.submit(business.new_record(serial_no=serial, owner=owner or factories.new_id_number(), kind="remittance",
                                       title="汇缴", now=NOW,
                                       review=False, amount=amount))


def _bank_ops() -> list[tuple[str, str, int]]:
    return [(line["op"], line["reference"], line["amount"]) for line in bank.LocalBank().read()]


def _declined(reason: str) -> errors.ApiError:
    return errors.PaymentDeclined(f"扣款未成功：{reason}")


def test_a_refused_posting_gives_the_debit_back_once_and_cancels_the_record(aws):
    _record("S1")

    def refuse(bank_serial: str):
        assert bank_serial                     # the posting sees the bank's serial of the debit
        raise errors.AlreadyDone("202611 已缴存，无需重复缴存")

    with pytest.raises(errors.AlreadyDone):
        payments.money_in(serial="S1", payer=CARD, amount=12_345, now=NOW, post=refuse, declined=_declined)

    assert _bank_ops() == [("debit", "S1", 12_345), ("payout", "S1R", 12_345)]
    record = records.find("S1")
    assert (record.status, record.opinion) == ("cancelled", "202611 已缴存，无需重复缴存；扣款已退回")


def test_refused_with_a_reason_refunds_with_that_reason_and_raises_the_error_given(aws):
    _record("S2")

    def busy(bank_serial: str):
        raise payments.Refused("账户正忙", errors.Conflict("账户正忙，扣款已退回，请稍后重试"))

    with pytest.raises(errors.Conflict, match="扣款已退回"):
        payments.money_in(serial="S2", payer=CARD, amount=500, now=NOW, post=busy, declined=_declined)

    assert _bank_ops() == [("debit", "S2", 500), ("payout", "S2R", 500)]
    assert records.find("S2").opinion == "账户正忙；扣款已退回"


def test_a_declined_debit_posts_nothing_and_cancels_the_record_with_the_banks_words(aws):
    _record("S3")
    posted = []

    with pytest.raises(errors.PaymentDeclined):
        payments.money_in(serial="S3", payer=DECLINED_CARD, amount=700, now=NOW, post=posted.append,
                          declined=_declined)

    assert posted == []
    record = records.find("S3")
    assert record.status == "cancelled"
    assert record.opinion == "银行拒绝交易：卡状态异常"       # LocalBank's reason for a declined card


def test_a_refund_the_bank_does_not_answer_leaves_the_record_submitted_and_a_retry_refunds_once(aws, monkeypatch):
    _record("S4")
    local = bank.LocalBank()

    class NoRefunds:
        def debit(self, card_no, amount, reference):
            return local.debit(card_no, amount, reference)

        def payout(self, card_no, amount, reference):
            raise bank.BankUnavailable("timeout")

    def refuse(bank_serial: str):
        raise errors.NotEligible("账户已封存")

    monkeypatch.setattr(bank, "gateway", lambda: NoRefunds())
    with pytest.raises(errors.NotEligible):
        payments.money_in(serial="S4", payer=CARD, amount=900, now=NOW, post=refuse, declined=_declined)
    assert records.find("S4").status == "submitted"
    assert _bank_ops() == [("debit", "S4", 900)]

    monkeypatch.setattr(bank, "gateway", lambda: local)
    with pytest.raises(errors.NotEligible):
        payments.money_in(serial="S4", payer=CARD, amount=900, now=NOW, post=refuse, declined=_declined)
    assert _bank_ops() == [("debit", "S4", 900), ("payout", "S4R", 900)]     # the same debit, refunded once
    assert records.find("S4").status == "cancelled"


def test_no_answer_to_the_debit_is_a_503_and_leaves_the_record_as_it_was(aws, monkeypatch):
    _record("S5")

    class Down:
        def debit(self, *args):
            raise bank.BankUnavailable("timeout")

    monkeypatch.setattr(bank, "gateway", lambda: Down())
    with pytest.raises(errors.ServiceUnavailable, match="请稍后使用同一请求重试"):
        payments.money_in(serial="S5", payer=CARD, amount=100, now=NOW, post=lambda s: s, declined=_declined)
    assert records.find("S5").status == "submitted"


def test_a_serial_of_another_owner_or_kind_is_a_serial_conflict(aws):
    me, other = factories.new_id_number(), factories.new_id_number()
    _record("S6", owner=me)

    assert records.find_own("S7", me) is None
    assert records.find_own("S6", me).serial_no == "S6"
    with pytest.raises(errors.Conflict, match="业务流水号冲突"):
        records.find_own("S6", other)
    with pytest.raises(errors.Conflict, match="业务流水号冲突"):
        records.find_own("S6", me, kind="withdrawal")


def test_finish_moves_a_submitted_record_once(aws):
    _record("S8")

    assert records.finish("S8", "done", "扣款成功", clock.iso(NOW)) is True
    assert records.finish("S8", "cancelled", "迟到的结果", clock.iso(NOW)) is False
    record = records.find("S8")
    assert (record.status, record.opinion) == ("done", "扣款成功")


def test_condition_failed_tells_a_failed_condition_from_other_failures(aws):
    StateItem("k", "-", status="a").save()
    with pytest.raises(PutError) as single:
        StateItem("k", "-", status="b").save(condition=StateItem.pk.does_not_exist())
    with pytest.raises(TransactWriteError) as in_tx:
        with TransactWrite(connection=base.connection()) as tx:
            tx.save(StateItem("k", "-", status="c"), condition=StateItem.pk.does_not_exist())

    assert base.condition_failed(single.value)
    assert base.condition_failed(in_tx.value)
    assert not base.condition_failed(ValueError("not a DynamoDB refusal"))
