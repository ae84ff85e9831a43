"""My messages (消息 / 待办 / 已阅): one Query per box page, view, mark read, soft delete."""

from __future__ import annotations

import json

import pytest

from chalicelib.services import inbox
from chalicelib.store.messages import Message
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def citizen(aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor()
    return p, login


def _box(client, login, box, **params):
    query = "&".join([f"box={box}", *(f"{k}={v}" for k, v in params.items())])
    response = client.http.get(f"/v1/me/messages?{query}", headers=login.headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def _titles(client, login, box):
    return [m["title"] for m in _box(client, login, box)["items"]]


def test_each_box_lists_its_own_messages_newest_first(client, citizen):
    p, login = citizen
    factories.message(p, title="汇缴成功", at="2026-07-01T09:00:00+08:00")
    factories.message(p, title="请补充材料", box="todo", at="2026-07-02T09:00:00+08:00")
    factories.message(p, title="提取成功", at="2026-07-03T09:00:00+08:00")
    assert _titles(client, login, "unread") == ["提取成功", "汇缴成功"]
    assert _titles(client, login, "todo") == ["请补充材料"]
    assert _titles(client, login, "read") == []
    first = _box(client, login, "unread")["items"][0]
    assert set(first) == {"id", "box", "kind", "title", "body", "created_at", "read_at", "serial_no"}
    assert first["created_at"] == "2026-07-03T09:00:00+08:00" and first["read_at"] is None


def test_the_default_box_is_unread_and_pages_follow_the_cursor(client, citizen):
    p, login = citizen
    for day in range(1, 6):
        factories.message(p, title=f"消息{day}", at=f"2026-07-0{day}T09:00:00+08:00")
    response = client.http.get("/v1/me/messages?limit=2", headers=login.headers)
    page = json.loads(response.body)
    seen = [m["title"] for m in page["items"]]
    while page["next_cursor"]:
        page = _box(client, login, "unread", limit=2, cursor=page["next_cursor"])
        seen += [m["title"] for m in page["items"]]
    assert seen == ["消息5", "消息4", "消息3", "消息2", "消息1"]


def test_viewing_does_not_mark_read_and_marking_read_moves_it(client, citizen):
    p, login = citizen
    msg = factories.message(p, title="汇缴成功", body="您已成功缴存202607公积金500.00元")
    wire = inbox.wire_id(msg.message_id)
    viewed = json.loads(client.http.get(f"/v1/me/messages/{wire}", headers=login.headers).body)
    assert (viewed["box"], viewed["body"]) == ("unread", "您已成功缴存202607公积金500.00元")
    assert _titles(client, login, "unread") == ["汇缴成功"]

    response = client.http.post(f"/v1/me/messages/{wire}/read", headers=login.headers, body=b"")
    assert response.status_code == 200
    assert (json.loads(response.body)["box"], json.loads(response.body)["read_at"]) == ("read", NOW)
    assert _titles(client, login, "unread") == [] and _titles(client, login, "read") == ["汇缴成功"]
    again = client.http.post(f"/v1/me/messages/{wire}/read", headers=login.headers, body=b"")
    assert again.status_code == 200 and json.loads(again.body)["read_at"] == NOW


def test_a_todo_marked_read_moves_to_the_read_box(client, citizen):
    p, login = citizen
    msg = factories.message(p, title="请补充材料", box="todo")
    client.http.post(f"/v1/me/messages/{inbox.wire_id(msg.message_id)}/read", headers=login.headers, body=b"")
    assert _titles(client, login, "todo") == [] and _titles(client, login, "read") == ["请补充材料"]


def test_a_deleted_message_leaves_every_box_and_is_kept_marked_deleted(client, citizen):
    p, login = citizen
    unread = factories.message(p, title="汇缴成功")
    read = factories.message(p, title="提取成功")
    client.http.post(f"/v1/me/messages/{inbox.wire_id(read.message_id)}/read", headers=login.headers, body=b"")
    for msg in (unread, read):
        wire = inbox.wire_id(msg.message_id)
        assert client.http.delete(f"/v1/me/messages/{wire}", headers=login.headers).status_code == 204
        assert client.http.get(f"/v1/me/messages/{wire}", headers=login.headers).status_code == 404
        assert client.http.delete(f"/v1/me/messages/{wire}", headers=login.headers).status_code == 404
        assert client.http.post(f"/v1/me/messages/{wire}/read", headers=login.headers,
                                body=b"").status_code == 404
    assert _titles(client, login, "unread") == [] and _titles(client, login, "read") == []
    stored = list(Message.query(p.id_number))
    assert len(stored) == 2 and all(m.deleted and m.box_key is None for m in stored)


@pytest.mark.parametrize("bad", ["x1", "20260715090000123456-zzzzzzzz", "20260715090000123456%23ab12cd34",
                                 "20260715090000123456-ab12cd34"])
def test_a_malformed_or_unknown_message_id_is_404(client, citizen, bad):
    p, login = citizen
    response = client.http.get(f"/v1/me/messages/{bad}", headers=login.headers)
    assert response.status_code == 404 and json.loads(response.body)["error"]["code"] == "NOT_FOUND"


def test_an_unknown_box_is_400(client, citizen):
    p, login = citizen
    response = client.http.get("/v1/me/messages?box=spam", headers=login.headers)
    assert response.status_code == 400 and "box" in json.loads(response.body)["error"]["details"]["fields"]


def test_a_box_page_is_one_query_on_the_box_index(client, citizen):
    p, login = citizen
    for day in range(1, 4):
        factories.message(p, title=f"消息{day}", at=f"2026-07-0{day}T09:00:00+08:00")
    from chalicelib.store import base

    queries = []

    def record(params, **_):
        queries.append(params.get("IndexName"))

    events = base.connection().client.meta.events
    events.register("provide-client-params.dynamodb.Query", record)
    try:
        _box(client, login, "unread", limit=2)
    finally:
        events.unregister("provide-client-params.dynamodb.Query", record)
    assert queries == ["box-index"]
