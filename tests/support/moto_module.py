"""One moto account with every table for a whole test module.

Creating the tables costs about a second on moto; a module of many small HTTP tests shares one set instead
(``aws`` overridden in the module to use :func:`shared_tables`). Tests stay apart by using their own people,
cards, loans and serials, and by filtering shared lists (review queue, SMS outbox) to what they created.
"""

from __future__ import annotations

import os

import pytest
from moto import mock_aws


@pytest.fixture(scope="module")
def shared_tables():
    os.environ.pop("GJJ_DDB_ENDPOINT", None)
    from chalicelib.store import base

    with mock_aws():
        base.configure()
        base.create_tables()
        yield
    base.configure()
