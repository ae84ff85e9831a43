"""China-time clock with injection.

Business rules take ``now`` as an argument; this module is where handlers and jobs get it.
In the ``local`` stage the file ``.local/clock`` (ISO-8601 with offset), when present, is "now";
it is read at every call. Tests may also pin the clock with :func:`frozen`.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chalicelib import settings

CHINA = ZoneInfo("Asia/Shanghai")

_fixed: datetime | None = None


def parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError("the clock needs an offset, e.g. 2026-07-15T09:00:00+08:00")
    return value.astimezone(CHINA)


def now() -> datetime:
    """The current time in Asia/Shanghai."""
    if _fixed is not None:
        return _fixed
    cfg = settings.get()
    if cfg.is_local:
        path = cfg.local_dir / "clock"
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            text = ""
        if text.strip():
            return parse(text)
    return datetime.now(CHINA)


def today() -> date:
    return now().date()


@contextlib.contextmanager
def frozen(at: datetime | str):
    """Pin "now" for the duration of a block (tests and the CLI)."""
    global _fixed
    previous = _fixed
    _fixed = parse(at) if isinstance(at, str) else at.astimezone(CHINA)
    try:
        yield _fixed
    finally:
        _fixed = previous


def set_fixed(at: datetime | None) -> None:
    global _fixed
    _fixed = at.astimezone(CHINA) if at is not None else None


def iso(value: datetime) -> str:
    return value.astimezone(CHINA).isoformat(timespec="seconds")
