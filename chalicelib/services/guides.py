"""Guides for citizens: frequently asked questions (常见问题) and service channels (服务渠道).

Both are data files under ``chalicelib/data/`` that the center edits, loaded lazily once per process and
validated. Answers may quote the city policy so they never drift from it: ``{policy:loans.max_term_months}``
inserts a policy value, ``{money:loans.prepayment.min_amount}`` an amount in yuan, ``{center_name}`` the
center's name. An unknown placeholder is an error at load time (and in the tests), not a blank.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field

from chalicelib import money, policy
from chalicelib.http.schema import BaseModel

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_PLACEHOLDER = re.compile(r"\{(?:(policy|money):([a-z_][a-z0-9_.]*)|(center_name|city))\}")
_AFTER_CJK_PUNCTUATION = re.compile(r"(?<=[，。；：！？、）])\s+")   # YAML line folds add a space there


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Slug = Field(pattern=r"^[a-z0-9-]{1,40}$")
"""The id of an FAQ or a service channel in the data files: lower-case ASCII, digits and ``-``."""


class Faq(_Item):
    faq_id: str = Slug
    category: str
    question: str
    answer: str


class Channel(_Item):
    channel_id: str = Slug
    kind: str
    name: str
    contact: str | None = None
    hours: str | None = None
    description: str


def _lookup(path: str, source: Any) -> Any:
    value = source
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def _text(value: Any) -> str:
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


def fill(text: str, source: policy.Policy) -> str:
    """Replace the placeholders of ``text`` with values of the policy ``source``."""

    def one(match: re.Match[str]) -> str:
        kind, path, plain = match.groups()
        try:
            if plain:
                return str(getattr(source, plain))
            value = _lookup(path, source)
        except (AttributeError, KeyError):
            raise ValueError(f"unknown placeholder {match.group(0)} in {text[:40]!r}") from None
        return money.format(value) if kind == "money" else _text(value)

    return _AFTER_CJK_PUNCTUATION.sub("", _PLACEHOLDER.sub(one, text))


def _read(name: str) -> list[dict[str, Any]]:
    import yaml  # lazy, like the policy loader

    raw = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{name} must be a list")
    return raw


@lru_cache(maxsize=1)
def faq() -> tuple[Faq, ...]:
    current = policy.get()
    items = []
    for row in _read("faq.yaml"):
        item = Faq.model_validate(row)
        items.append(item.model_copy(update={"question": fill(item.question, current),
                                             "answer": fill(item.answer, current)}))
    ids = [i.faq_id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError("faq.yaml has duplicate faq_id values")
    return tuple(items)


@lru_cache(maxsize=1)
def channels() -> tuple[Channel, ...]:
    current = policy.get()
    items = []
    for row in _read("service_channels.yaml"):
        item = Channel.model_validate(row)
        items.append(item.model_copy(update={"name": fill(item.name, current),
                                             "description": fill(item.description, current)}))
    return tuple(items)


def reset() -> None:
    faq.cache_clear()
    channels.cache_clear()
