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


def test_notices_sent_in_a_batch_land_in_the_citizens_unread_box(aws, client):
    # GIVEN two citizens, one subscribed to SMS
    a, b = factories.person(), factories.person()
    ua = factories.user(a, sms_subscribed=True)
    factories.user(b)
    now = clock.now()
    # WHEN a batch job tells them both (twice: a re-run)
    for _ in range(2):
        notify.citizens([notify.Notice(a.id_number, "结息", "您的账户已结息", "INT2026A"),
                         notify.Notice(b.id_number, "结息", "您的账户已结息", "INT2026B")], kind="interest", now=now)
    # THEN each sees the message in the unread box (one Query on box-index), and one SMS is queued
    login = factories.login(ua.user_id)
    items = client.http.get("/v1/me/messages?box=unread", headers=login.headers).json_body["items"]
    assert [i["title"] for i in items] == ["结息", "结息"]
    assert [q.phone for q in OutboundSms.scan()] == [a.phone]
