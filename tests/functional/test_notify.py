from chalicelib import clock
from chalicelib.services import notify
from chalicelib.store.messages import Message, OutboundSms
from tests.support import factories


def test_message_is_posted_and_sms_queued_once_for_a_subscriber(aws):
    p = factories.person()
    factories.user(p, sms_subscribed=True)
    now = clock.now()
    for _ in range(2):
        notify.citizen(p.id_number, title="汇缴成功", body="您已成功缴存202607公积金500.00元", kind="payment",
                       now=now, key="S123")
    assert len(list(Message.query(p.id_number))) == 2
    queued = list(OutboundSms.scan())
    assert len(queued) == 1 and queued[0].phone == p.phone and queued[0].status == "pending"


def test_no_sms_without_subscription(aws):
    p = factories.person()
    factories.user(p, sms_subscribed=False)
    notify.citizen(p.id_number, title="t", body="b", kind="payment", now=clock.now(), key="S1")
    assert list(OutboundSms.scan()) == []
    assert len(list(Message.query(p.id_number))) == 1
