"""The API served over HTTP on loopback for the reliability tier (fuzz, load): one per test process.

Chalice's threaded local server runs in this process (``tests.support.server``) over DynamoDB Local tables
of its own, with the seeded world (``tests.support.world``). Other tiers' fixtures re-point the table models
while their tests run; ``live`` points them back before each test that uses the server.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest

from tests.support import server
from tests.support import world as W


@dataclass
class Served:
    running: server.Running
    world: W.World
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.running.url


def _point_models_at(env: dict[str, str]) -> None:
    from chalicelib.store import base

    for name, value in env.items():
        os.environ[name] = value
    # always: the settings may already read these (``local_dir`` resets them after a moto test) while the models
    # still carry the moto test's endpoint (none), so a comparison with the settings misses it
    base.configure()


@pytest.fixture(scope="session")
def _served(ddb_local_server, tmp_path_factory):
    from chalicelib.adapters import bank, sms
    from chalicelib.services import remittance
    from chalicelib.store import base

    env = {"GJJ_DDB_ENDPOINT": ddb_local_server.endpoint, "GJJ_TABLE_PREFIX": f"live{uuid.uuid4().hex[:6]}-",
           "GJJ_LOCAL_DIR": str(tmp_path_factory.mktemp("live-local"))}
    saved = {name: os.environ.get(name) for name in env}
    _point_models_at(env)
    bank.reset()
    sms.reset()
    base.create_tables()
    world = W.build()
    running = server.start()
    yield Served(running, world, env)
    running.stop()
    _point_models_at(env)
    base.delete_tables()
    remittance.reset_cache()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    base.configure()


@pytest.fixture
def live(_served, monkeypatch):
    """The served API, with this process's table models pointed at its tables for the test."""
    for name, value in _served.env.items():
        monkeypatch.setenv(name, value)
    _point_models_at(_served.env)
    from chalicelib.services import remittance

    remittance.reset_cache()
    yield _served
