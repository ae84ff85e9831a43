"""Issue 17 item 8: locking anyone out with only their ID number through face login.

The attacker knows an ID number and nothing else. Ten junk face probes used to lock the person's *password* login
for 30 minutes, because face failures counted toward the password lock.
"""

from __future__ import annotations

import base64

import pytest

from tests.support.identity import body, post, registered

T0 = "2026-07-15T09:00:00+08:00"
JUNK = base64.b64encode(b"not a face").decode()


@pytest.fixture
def env(aws, client, clock_file):
    clock_file(T0)
    return client


def _probe(client, id_number):
    return post(client, "/v1/auth/login/face", {"name": "随便", "id_number": id_number,
                                                "face_image_base64": JUNK, "password": "whatever-123"})


def test_ten_junk_face_probes_do_not_lock_the_password_login(env):
    victim = registered()
    answers = [_probe(env, victim.id_number).status_code for _ in range(10)]
    assert answers == [401] * 9 + [423]
    login = post(env, "/v1/auth/login", {"principal": victim.id_number, "password": victim.password})
    assert login.status_code == 200, body(login)


def test_junk_face_probes_never_put_a_captcha_in_front_of_the_password_login(env):
    victim = registered()
    for _ in range(5):
        _probe(env, victim.id_number)
    login = post(env, "/v1/auth/login", {"principal": victim.phone, "password": victim.password})
    assert login.status_code == 200, body(login)
