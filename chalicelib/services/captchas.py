"""Image captchas (图形验证码) for password login after repeated failures.

A real PNG a person can read (the ``captcha`` package: 4 characters from an alphabet without look-alikes),
answer compared case-insensitively, valid 5 minutes and single use. Only the answer's SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError

from chalicelib.store.kv import StateItem

ALPHABET = "ACDEFHJKLMNPRTUVWXY34679"   # no 0/O, 1/I/L-likes, 2/Z, 5/S, 8/B
LENGTH = 4
TTL_SECONDS = 300


def _digest(captcha_id: str, answer: str) -> str:
    return hashlib.sha256(f"{captcha_id}:{answer.strip().upper()}".encode()).hexdigest()


def new_text() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def render(text: str) -> bytes:
    from captcha.image import ImageCaptcha  # lazy: Pillow is only needed here

    return ImageCaptcha(width=160, height=60).generate(text).getvalue()


def create(*, now: datetime) -> tuple[str, str, str]:
    """A new captcha: ``(captcha_id, image_png_base64, text)``; the text is for tests only."""

    captcha_id = secrets.token_urlsafe(16)
    text = new_text()
    StateItem(pk=f"captcha#{captcha_id}", value=_digest(captcha_id, text),
              count=int(now.timestamp()) + TTL_SECONDS, ttl=now + timedelta(seconds=TTL_SECONDS + 60)).save()
    return captcha_id, base64.b64encode(render(text)).decode("ascii"), text


def check(captcha_id: str | None, answer: str | None, *, now: datetime) -> bool:
    """True once for the right answer within its lifetime; the captcha is consumed by any check."""

    if not captcha_id or not answer or len(captcha_id) > 64 or len(answer) > 16:
        return False
    try:
        item = StateItem.get(f"captcha#{captcha_id}", "-")
    except StateItem.DoesNotExist:
        return False
    try:
        item.delete(condition=StateItem.value == item.value)
    except DeleteError:
        return False
    if (item.count or 0) <= int(now.timestamp()):
        return False
    return hmac.compare_digest(item.value or "", _digest(captcha_id, answer))
