import datetime as dt
from collections import Counter
from types import SimpleNamespace

from chalicelib import clock
from chalicelib.services import notify
from chalicelib.store.messages import Message, OutboundSms
from chalicelib.store.users import User
from tests.support import factories
from tests.support.faults import DynamoWatch


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


def _people(count: int, *, born: dt.date):
    """``count`` people with distinct valid ID numbers (a different birth day each)."""
    return [factories.person(id_number=factories.make_id_number("140105", born + dt.timedelta(days=i), 11))
            for i in range(count)]


def test_a_batch_of_more_than_a_hundred_texts_each_subscriber_once_at_the_phone_on_record(aws):
    # GIVEN 130 citizens (more than one BatchGetItem of 100 and one transaction of 100): 101 subscribed, 10 of them
    # with a user phone other than the center's record; 19 registered without subscribing; 10 not registered; and a
    # subscriber the center has no person record for
    people = _people(140, born=dt.date(1980, 1, 1))
    subscribers, unsubscribed, unregistered = people[:101], people[101:120], people[120:130]
    for i, p in enumerate(subscribers):
        user = factories.user(p, sms_subscribed=True)
        if i < 10:
            user.update(actions=[User.phone.set(f"1370000{i:04d}")])
    for p in unsubscribed:
        factories.user(p, sms_subscribed=False)
    stranger = SimpleNamespace(id_number=factories.make_id_number("140105", dt.date(1979, 1, 1), 13),
                               phone=factories.new_phone())
    factories.user(stranger, sms_subscribed=True)
    told = subscribers + unsubscribed + unregistered + [stranger]
    now = clock.now()
    notices = [notify.Notice(p.id_number, "单位汇缴入账", f"您的单位已为您缴存 {i}", f"R1#{i}")
               for i, p in enumerate(told)]
    # WHEN they are told in one batch
    with DynamoWatch() as watch:
        notify.citizens(notices, kind="deposit", now=now, stable=True)
    # THEN every one of them has the message
    for p in told:
        assert [m.title for m in Message.query(p.id_number)] == ["单位汇缴入账"]
    # AND every subscriber one SMS at the phone the center has for them (the user's own when it has none), nobody
    # else any
    queued = {x.sms_id: x for x in OutboundSms.scan()}
    expected = {f"deposit#R1#{i}": p.phone for i, p in enumerate(told) if p in subscribers or p is stranger}
    assert {k: x.phone for k, x in queued.items()} == expected
    assert queued["deposit#R1#0"].text == "【公积金】您的单位已为您缴存 0"
    # AND no lookup one citizen at a time: 131 citizens, 102 subscribers → 2 BatchGetItem of 100 for each of the
    # ID claims, the users and the people; 2 transactions of 100 SMS; 6 BatchWriteItem of 25 messages
    assert Counter(watch.calls) == Counter({"BatchGetItem": 6, "TransactWriteItems": 2, "BatchWriteItem": 6})


def test_telling_a_batch_again_queues_no_second_sms_even_after_some_were_sent(aws):
    # GIVEN three subscribers told once, and the first one's SMS already sent
    people = _people(3, born=dt.date(1981, 1, 1))
    for p in people:
        factories.user(p, sms_subscribed=True)
    now = clock.now()
    notices = [notify.Notice(p.id_number, "结息", "您的账户已结息", f"INT#{i}") for i, p in enumerate(people)]
    notify.citizens(notices[:2], kind="interest", now=now, stable=True)
    first = OutboundSms.get("interest#INT#0")
    first.update(actions=[OutboundSms.status.set("sent"), OutboundSms.queue.remove()])
    # WHEN the same notices (and a third) are told again
    notify.citizens(notices, kind="interest", now=now, stable=True)
    # THEN each has one SMS, and the one sent stays sent (it is not queued again)
    assert sorted(x.sms_id for x in OutboundSms.scan()) == ["interest#INT#0", "interest#INT#1", "interest#INT#2"]
    again = OutboundSms.get("interest#INT#0")
    assert again.status == "sent" and again.queue is None
    # AND each one message (stable ids: the second telling wrote the same ones)
    assert [len(list(Message.query(p.id_number))) for p in people] == [1, 1, 1]


def test_a_batch_of_sms_cancelled_by_a_concurrent_write_is_written_again(aws):
    # GIVEN two subscribers, and the SMS transaction cancelled once by a concurrent transaction on one of its items
    people = _people(2, born=dt.date(1982, 1, 1))
    for p in people:
        factories.user(p, sms_subscribed=True)
    notices = [notify.Notice(p.id_number, "结息", "您的账户已结息", f"INT#{i}") for i, p in enumerate(people)]
    with DynamoWatch(fault="conflict", at=("TransactWriteItems", 0)) as watch:
        notify.citizens(notices, kind="interest", now=clock.now())
    # THEN it is written on the second try: both SMS queued
    assert watch.injected == "TransactWriteItems"
    assert watch.calls.count("TransactWriteItems") == 2
    assert sorted(x.phone for x in OutboundSms.scan()) == sorted(p.phone for p in people)


def test_an_sms_id_repeated_in_one_batch_is_queued_once(aws):
    now = clock.now()
    queued = notify.queue_many([("x#1", "13900000001", "a"), ("x#2", "13900000002", "b"),
                                ("x#1", "13900000003", "c")], now=now)
    assert queued == 2
    assert sorted((x.sms_id, x.phone, x.text) for x in OutboundSms.scan()) == [("x#1", "13900000001", "a"),
                                                                                ("x#2", "13900000002", "b")]
    assert notify.queue_many([("x#2", "13900000002", "b")], now=now) == 0
