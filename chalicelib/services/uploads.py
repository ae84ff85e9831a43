"""Uploads (材料上传): an upload id per file, issued with a presigned POST, usable for a while.

The id is kept as a state item (``upload#<id>``) with its purpose, object key, expiry and owner (``role:subject``
of the caller who asked for it, empty when no one was logged in); an application names the id, and :func:`check`
makes sure it was issued for that purpose, to that owner, and has not expired. Someone else's upload id answers
exactly as an unknown one does (no way to learn that it exists).
"""

from __future__ import annotations

import datetime as dt
import secrets

from chalicelib import clock, errors, policy
from chalicelib.adapters import files
from chalicelib.store.kv import StateItem

PURPOSES = ("id_front", "id_back", "face", "material")


def issue(*, purpose: str, content_type: str, owner: str | None, now: dt.datetime) -> dict:
    cfg = policy.get().uploads
    if content_type not in cfg.content_types:
        raise errors.ValidationFailed.field("content_type", f"只支持 {', '.join(cfg.content_types)}")
    upload_id = "UP" + secrets.token_hex(12).upper()
    key = f"uploads/{purpose}/{now.astimezone(clock.CHINA):%Y%m%d}/{upload_id}"
    url, fields = files.files().presigned_post(key, content_type, cfg.max_bytes, cfg.url_expires_seconds)
    expires = now + dt.timedelta(hours=cfg.keep_hours)
    StateItem(f"upload#{upload_id}", "-", status="issued", value=purpose, updated_at=clock.iso(now),
              data={"key": key, "content_type": content_type, "owner": owner or "", "expires_at": clock.iso(expires)},
              ttl=expires).save()
    return {"upload_id": upload_id, "url": url, "fields": fields, "expires_at": clock.iso(expires)}


def owner_of(role: str | None, subject: str | None) -> str:
    """The owner recorded with an upload: ``role:subject``, or ``""`` for an anonymous caller."""
    return f"{role}:{subject}" if role and subject else ""


def check(upload_id: str, purpose: str, now: dt.datetime, *, owner: str) -> str:
    """The object key of an issued, unexpired upload of ``purpose`` issued to ``owner`` (see :func:`owner_of`);
    400 otherwise."""
    field = "id_front_upload" if purpose == "id_front" else "id_back_upload" if purpose == "id_back" else "upload"
    try:
        item = StateItem.get(f"upload#{upload_id}", "-", consistent_read=True)
    except StateItem.DoesNotExist:
        raise errors.ValidationFailed.field(field, "上传编号无效，请重新上传") from None
    data = item.data.as_dict() if item.data else {}
    if data.get("owner", "") != owner:
        raise errors.ValidationFailed.field(field, "上传编号无效，请重新上传")
    if item.value != purpose:
        raise errors.ValidationFailed.field(field, "上传的不是所需的材料")
    if data.get("expires_at") and clock.parse(data["expires_at"]) < now:
        raise errors.ValidationFailed.field(field, "上传已过期，请重新上传")
    return data.get("key", "")
