"""Public content (资讯公告) and its management: notices, FAQ, channels, branches, properties, rates."""

from __future__ import annotations

import json

import pytest

from chalicelib.http import auth
from chalicelib.store.content import Branch, Notice, Property
from tests.support import factories

JSON = {"Content-Type": "application/json"}


def _notice(notice_id, category="news", published_on="2026-11-01", status="published", title="标题"):
    n = Notice(notice_id=notice_id, category=category, title=title, body="正文", published_on=published_on,
               status=status)
    n.save()
    return n


@pytest.fixture
def today(clock_file):
    clock_file("2026-11-10T10:00:00+08:00")


@pytest.fixture
def operator(aws, today):
    return factories.login("op-content", auth.OPERATOR, op_role="admin")


def test_notices_of_a_category_newest_first_and_cacheable(client, aws, today):
    _notice("N1", published_on="2026-10-01")
    _notice("N2", published_on="2026-11-05")
    _notice("N3", category="policy")
    resp = client.http.get("/v1/notices?category=news")
    assert resp.status_code == 200
    assert [n["notice_id"] for n in resp.json_body["items"]] == ["N2", "N1"]
    assert resp.headers["Cache-Control"].startswith("public")
    assert "body" not in resp.json_body["items"][0]


def test_notices_page_with_a_cursor(client, aws, today):
    for i in range(5):
        _notice(f"P{i}", published_on=f"2026-10-0{i + 1}")
    first = client.http.get("/v1/notices?category=news&limit=2").json_body
    second = client.http.get(f"/v1/notices?category=news&limit=2&cursor={first['next_cursor']}").json_body
    third = client.http.get(f"/v1/notices?category=news&limit=2&cursor={second['next_cursor']}").json_body
    ids = [n["notice_id"] for page in (first, second, third) for n in page["items"]]
    assert ids == ["P4", "P3", "P2", "P1", "P0"] and third["next_cursor"] is None


def test_withdrawn_and_future_notices_stay_hidden(client, aws, today):
    _notice("W1", status="withdrawn")
    _notice("F1", published_on="2026-12-01")
    _notice("V1")
    assert [n["notice_id"] for n in client.http.get("/v1/notices?category=news").json_body["items"]] == ["V1"]
    assert client.http.get("/v1/notices/W1").status_code == 404
    assert client.http.get("/v1/notices/F1").status_code == 404
    assert client.http.get("/v1/notices/V1").json_body["body"] == "正文"


@pytest.mark.parametrize("query", ["", "?category=sports", "?category=news&limit=0", "?category=news&limit=101",
                                   "?category=news&cursor=forged", "?category=news&x=1"])
def test_bad_notice_queries_are_400(client, aws, query):
    resp = client.http.get(f"/v1/notices{query}")
    assert resp.status_code == 400 and resp.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_unknown_notice_is_404(client, aws):
    assert client.http.get("/v1/notices/NOPE").status_code == 404
    assert client.http.get("/v1/notices/bad%20id%21").status_code == 404


def test_operator_publishes_edits_and_withdraws_a_notice(client, operator, today):
    created = client.http.post("/v1/admin/notices", headers=operator.headers,
                               body=json.dumps({"category": "policy", "title": "新政", "body": "内容"}))
    assert created.status_code == 201, created.json_body
    nid = created.json_body["notice_id"]
    assert created.json_body["published_on"] == "2026-11-10" and created.json_body["created_by"] == "op-content"
    assert [n["notice_id"] for n in client.http.get("/v1/notices?category=policy").json_body["items"]] == [nid]

    edited = client.http.put(f"/v1/admin/notices/{nid}", headers=operator.headers,
                             body=json.dumps({"category": "guide", "title": "新政（修订）", "body": "新内容"}))
    assert edited.status_code == 200 and edited.json_body["title"] == "新政（修订）"
    assert client.http.get("/v1/notices?category=policy").json_body["items"] == []
    assert client.http.get(f"/v1/notices/{nid}").json_body["body"] == "新内容"

    withdrawn = client.http.post(f"/v1/admin/notices/{nid}/withdraw", headers=operator.headers)
    assert withdrawn.status_code == 200 and withdrawn.json_body["status"] == "withdrawn"
    assert client.http.get(f"/v1/notices/{nid}").status_code == 404
    assert client.http.get("/v1/notices?category=guide").json_body["items"] == []
    again = client.http.post(f"/v1/admin/notices/{nid}/withdraw", headers=operator.headers)
    assert again.status_code == 409
    # operators still see it
    listed = client.http.get("/v1/admin/notices?category=guide", headers=operator.headers).json_body["items"]
    assert [(n["notice_id"], n["status"]) for n in listed] == [(nid, "withdrawn")]
    assert "Cache-Control" not in client.http.get(f"/v1/admin/notices/{nid}", headers=operator.headers).headers


def test_concurrent_edit_of_a_stale_notice_is_a_conflict(aws):
    from chalicelib import errors
    from chalicelib.services import notices

    _notice("C1")
    stale = Notice.get("C1")
    notices.withdraw("C1", now=__import__("datetime").datetime(2026, 11, 10), operator="a")
    stale.title = "改"
    with pytest.raises(errors.Conflict):
        notices._save(stale)


def test_notice_management_is_for_operators_only(client, aws):
    depositor = factories.login("u-content", auth.DEPOSITOR)
    body = json.dumps({"category": "news", "title": "t", "body": "b"})
    assert client.http.post("/v1/admin/notices", headers=depositor.headers, body=body).status_code == 403
    assert client.http.post("/v1/admin/notices", headers=JSON, body=body).status_code == 401


@pytest.mark.parametrize("body", [{"category": "news", "title": "", "body": "b"},
                                  {"category": "ads", "title": "t", "body": "b"},
                                  {"category": "news", "title": "t"},
                                  {"category": "news", "title": "t", "body": "b", "status": "x"},
                                  {"category": "news", "title": "t", "body": "b", "published_on": "2026-13-01"}])
def test_bad_notices_are_400_and_nothing_is_written(client, operator, body):
    resp = client.http.post("/v1/admin/notices", headers=operator.headers, body=json.dumps(body))
    assert resp.status_code == 400
    assert list(Notice.scan()) == []


def test_faq_quotes_the_policy_and_filters_by_category(client, aws):
    resp = client.http.get("/v1/faq")
    assert resp.status_code == 200 and resp.headers["Cache-Control"].startswith("public")
    items = resp.json_body["items"]
    assert items and all("{" not in i["answer"] for i in items)
    ratio = next(i for i in items if i["faq_id"] == "deposit-ratio")
    assert "5% 至 12%" in ratio["answer"]
    only = client.http.get("/v1/faq?category=缴存").json_body["items"]
    assert only and {i["category"] for i in only} == {"缴存"}


def test_service_channels_include_the_12329_hotline(client, aws):
    items = client.http.get("/v1/service-channels").json_body["items"]
    assert any(c["contact"] == "12329" for c in items)


def test_branches_list_address_phone_and_hours(client, aws):
    Branch("B01", name="小店区网点", address="太原市小店区", phone="0351-1234567", hours="周一至周五 09:00-17:00",
           slots=["09:00-10:00"], capacity_per_slot=2).save()
    resp = client.http.get("/v1/branches")
    assert resp.status_code == 200 and resp.headers["Cache-Control"].startswith("public")
    assert resp.json_body["items"] == [{"branch_id": "B01", "name": "小店区网点", "address": "太原市小店区",
                                        "phone": "0351-1234567", "hours": "周一至周五 09:00-17:00"}]


def test_properties_are_searchable_by_name_and_page(client, aws):
    for i, name in enumerate(["阳光花园", "阳光新城", "滨河湾", "阳光里"]):
        Property(f"P{i}", name=name, developer="某开发商", address="太原", status="active").save()
    found = client.http.get("/v1/properties?q=阳光").json_body["items"]
    assert sorted(p["name"] for p in found) == ["阳光新城", "阳光花园", "阳光里"]
    pages, cursor, seen = 0, None, []
    while True:
        url = "/v1/properties?q=阳光&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.http.get(url).json_body
        seen += [p["project_no"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(p["project_no"] for p in found) and pages == 2
    assert client.http.get("/v1/properties?q=" + "长" * 51).status_code == 400


def test_rates_carry_the_2025_05_08_table(client, aws, today):
    resp = client.http.get("/v1/rates")
    assert resp.status_code == 200 and resp.headers["Cache-Control"].startswith("public")
    loan = resp.json_body["loan"][0]
    assert loan["effective_from"] == "2025-05-08" and loan["current"] is True
    assert loan["first_home"] == {"up_to_5_years": "2.10", "over_5_years": "2.60"}
    assert loan["second_home"] == {"up_to_5_years": "2.525", "over_5_years": "3.075"}
    assert [d for d in resp.json_body["deposit"] if d["current"]][0]["rate"] == "1.50"
