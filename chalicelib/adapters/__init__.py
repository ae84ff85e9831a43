"""Adapters to the outside world. Each is an interface with a production implementation and a local
simulator; :func:`pick` chooses by stage ("local" → simulator; dev/prod → production, no override)."""

from __future__ import annotations

from typing import Callable, TypeVar

from chalicelib import settings

T = TypeVar("T")


def pick(local: Callable[[], T], production: Callable[[], T]) -> T:
    return local() if settings.get().is_local else production()
