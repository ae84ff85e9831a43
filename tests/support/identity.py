"""Helpers for identity tests: registered depositors with passwords, codes from the local SMS outbox."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from chalicelib import settings
from chalicelib.services import passwords
from tests.support import factories

PASSWORD = "青山绿水2026hpf"


def outbox() -> list[dict]:
    path = settings.get().local_dir / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def last_code(phone: str) -> str:
    """The code of the last SMS to ``phone`` (the only run of exactly 6 digits, as the contract says)."""
    texts = [m["text"] for m in outbox() if m["phone"] == phone]
    assert texts, f"no SMS to {phone}"
    codes = re.findall(r"(?<!\d)\d{6}(?!\d)", texts[-1])
    assert len(codes) == 1, texts[-1]
    return codes[0]


def sent_to(phone: str) -> int:
    return sum(1 for m in outbox() if m["phone"] == phone)


@dataclass
class Registered:
    person: object
    account: object
    user: object
    password: str

    @property
    def id_number(self) -> str:
        return self.person.id_number

    @property
    def phone(self) -> str:
        return self.person.phone


def registered(*, password: str = PASSWORD, name: str = "张三") -> Registered:
    """A person in the records with an account and a registered user with ``password``."""
    from chalicelib.store.kv import StateItem
    from chalicelib.store.users import User

    p = factories.person(name=name)
    a = factories.account(p)
    u = factories.user(p)
    u.update(actions=[User.password_hash.set(passwords.hash_password(password))])
    StateItem(pk=f"claim#id#{p.id_number}", value=u.user_id).save()
    StateItem(pk=f"claim#phone#{p.phone}", value=u.user_id).save()
    return Registered(person=p, account=a, user=u, password=password)


def request_code(client, purpose: str, *, headers: dict | None = None, **body) -> object:
    return client.http.post("/v1/auth/sms-codes", headers={"Content-Type": "application/json", **(headers or {})},
                            body=json.dumps({"purpose": purpose, **body}))


def captcha() -> dict:
    """A fresh image captcha already answered, as request fields (``captcha_id``, ``captcha_answer``)."""
    from chalicelib import clock
    from chalicelib.services import captchas

    captcha_id, _, text = captchas.create(now=clock.now())
    return {"captcha_id": captcha_id, "captcha_answer": text}


def post(client, path: str, body: dict | None = None, headers: dict | None = None, method: str = "post"):
    call = getattr(client.http, method)
    return call(path, headers={"Content-Type": "application/json", **(headers or {})},
                body=json.dumps(body or {}, ensure_ascii=False))


def body(response) -> dict:
    return json.loads(response.body) if response.body else {}
