"""Issue 17 item 13 (uploads): naming an upload that is not yours in an application.

Upload ids travel in application bodies; a developer who learns another developer's (or a citizen's) upload id,
or anyone holding an id uploaded by a logged-in person, must not be able to attach that file to their own
application. Someone else's upload answers exactly as an unknown upload id does.
"""

from __future__ import annotations

import json

import pytest

from chalicelib import clock
from chalicelib.adapters import files
from chalicelib.http import auth
from chalicelib.services import uploads
from chalicelib.store.developers import Project
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def devs(aws, clock_file):
    clock_file(NOW)
    files.reset()
    factories.developer(developer_no="D3001")
    factories.developer(developer_no="D3002")
    yield factories.login("D3001", auth.DEVELOPER), factories.login("D3002", auth.DEVELOPER)
    files.reset()


def _upload(client, login=None, purpose="material"):
    headers = {"Content-Type": "application/json", **(login.headers if login else {})}
    resp = client.http.post("/v1/uploads", headers=headers,
                            body=json.dumps({"purpose": purpose, "content_type": "application/pdf"}))
    assert resp.status_code == 201, resp.body
    return resp.json_body["upload_id"]


def _project(client, login, upload_ids, key="p1"):
    body = {"name": "汾河湾示例小区", "address": "太原市示例路1号", "presale_permit_no": "并预售字2026第001号",
            "material_uploads": upload_ids}
    return client.http.post("/v1/developers/me/projects", headers=login.with_headers(**{"Idempotency-Key": key}),
                            body=json.dumps(body))


def test_a_developer_cannot_attach_another_developers_upload(client, devs):
    mine, theirs = devs
    their_upload = _upload(client, theirs)
    stolen = _project(client, mine, [their_upload])
    unknown = _project(client, mine, ["UP" + "0" * 24], key="p2")
    assert stolen.status_code == unknown.status_code == 400
    assert stolen.json_body["error"] == unknown.json_body["error"]        # no hint that the id exists
    assert list(Project.scan()) == []


def test_a_developer_cannot_attach_an_anonymous_or_a_citizens_upload(client, devs):
    mine, _ = devs
    p, a, u, citizen = factories.depositor()
    for upload_id in (_upload(client, None), _upload(client, citizen)):
        assert _project(client, mine, [upload_id], key=upload_id).status_code == 400
    assert list(Project.scan()) == []


def test_a_unit_sharing_the_developers_number_is_not_the_developer(client, devs):
    """Owners are role and number together: a unit called D3001 is not developer D3001."""
    mine, _ = devs
    unit_upload = uploads.issue(purpose="material", content_type="application/pdf",
                                owner=uploads.owner_of(auth.UNIT, "D3001"), now=clock.now())["upload_id"]
    assert _project(client, mine, [unit_upload]).status_code == 400


def test_the_opening_application_cannot_use_an_upload_made_by_a_logged_in_person(client, devs, monkeypatch):
    p, a, u, citizen = factories.depositor()
    front, back = _upload(client, citizen, "id_front"), _upload(client, citizen, "id_back")
    body = {"name": "李四", "id_number": factories.new_id_number(), "phone": "13912345678", "sms_code": "123456",
            "id_front_upload": front, "id_back_upload": back, "branch_id": "B01", "date": "2026-07-16",
            "slot": "10:00-11:00"}
    from chalicelib.services import flexible

    monkeypatch.setattr(flexible, "verify_sms_code", lambda *args, **kw: None)   # the code is not what is tested
    resp = client.http.post("/v1/flexible/applications",
                            headers={"Content-Type": "application/json", "Idempotency-Key": "o1"},
                            body=json.dumps(body))
    assert resp.status_code == 400 and "id_front_upload" in resp.json_body["error"]["details"]["fields"]


def test_my_own_upload_still_works(client, devs):
    mine, _ = devs
    assert _project(client, mine, [_upload(client, mine)]).status_code == 201
