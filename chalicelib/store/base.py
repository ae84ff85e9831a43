"""Table naming by stage, one shared botocore client, table creation.

Every model declares its logical table name (``class Meta: table_name = "accounts"``); the stage's
``GJJ_TABLE_PREFIX`` is put in front of it. All models share one PynamoDB ``Connection`` (one botocore
client) instead of one client per model, which keeps cold starts short.
"""

from __future__ import annotations

import importlib
import threading

from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib import settings

MODEL_MODULES = (
    "chalicelib.store.people",
    "chalicelib.store.accounts",
    "chalicelib.store.ledger",
    "chalicelib.store.loans",
    "chalicelib.store.content",
    "chalicelib.store.users",
    "chalicelib.store.idempotency",
    "chalicelib.store.audit",
    "chalicelib.store.messages",
    "chalicelib.store.kv",
    "chalicelib.store.cards",
    "chalicelib.store.business",
    "chalicelib.store.appointments",
    "chalicelib.store.rosters",
    "chalicelib.store.developers",
)

_registry: list[type[BaseModel]] = []
_shared: Connection | None = None
_lock = threading.Lock()


def connection() -> Connection:
    """The process's one PynamoDB connection (for TransactWrite/TransactGet too)."""
    global _shared
    with _lock:
        if _shared is None:
            cfg = settings.get()
            _shared = Connection(region=cfg.region, host=cfg.ddb_endpoint, max_retry_attempts=3,
                                 max_pool_connections=50)
        return _shared


class BaseModel(Model):
    """Base of every gjj table model; not a table itself."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        meta = cls.__dict__.get("Meta")
        if meta is None or not getattr(meta, "table_name", None):
            return
        meta.logical_name = getattr(meta, "logical_name", meta.table_name)
        _apply(cls)
        _registry.append(cls)

    @classmethod
    def _get_connection(cls):
        table_conn = super()._get_connection()
        shared = connection()
        if table_conn.connection is not shared:
            meta_table = table_conn.connection.get_meta_table(cls.Meta.table_name)
            if cls.Meta.table_name not in shared._tables:
                shared.add_meta_table(meta_table)
            table_conn.connection = shared
        return table_conn


def condition_failed(exc: Exception) -> bool:
    """True when a write was refused only because its condition did not hold (``ConditionalCheckFailed``).

    For a single write (``PutError``, ``UpdateError``, ``DeleteError``) that is its cause; for a transaction
    (``TransactWriteError``) it is a cancellation of which at least one reason is a failed condition. Anything
    else (throttled, conflicting, unanswered) decided nothing and is for the caller to re-raise."""
    code = getattr(exc, "cause_response_code", None)
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        return any(r is not None and r.code == "ConditionalCheckFailed"
                   for r in (getattr(exc, "cancellation_reasons", None) or []))
    return False


def _apply(cls: type[Model]) -> None:
    cfg = settings.get()
    cls.Meta.table_name = cfg.table_prefix + cls.Meta.logical_name
    cls.Meta.region = cfg.region
    cls.Meta.host = cfg.ddb_endpoint
    cls.Meta.billing_mode = "PAY_PER_REQUEST"
    cls._connection = None


def all_models() -> list[type[BaseModel]]:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return list(_registry)


def configure() -> None:
    """Re-read the stage settings (prefix, endpoint) into every model; drop cached clients."""
    global _shared
    settings.reset()
    with _lock:
        _shared = None
    for cls in all_models():
        _apply(cls)


def create_tables(*, wait: bool = True) -> list[str]:
    """Create every table that is missing; returns the names created."""
    created = []
    for cls in all_models():
        if not cls.exists():
            cls.create_table(wait=wait, billing_mode="PAY_PER_REQUEST", ignore_update_ttl_errors=True)
            created.append(cls.Meta.table_name)
    return created


def delete_tables() -> None:
    for cls in all_models():
        if cls.exists():
            cls.delete_table()


def get_many(*keys: tuple) -> list:
    """Several items of any tables in one round trip (TransactGetItems: each read strongly consistent), each
    key ``(ModelClass, hash_key)`` or ``(ModelClass, hash_key, range_key)``; None for an item that is not there.
    Issue 18: a request's independent reads go together instead of one GetItem each."""
    from pynamodb.transactions import TransactGet

    with TransactGet(connection=connection()) as tg:
        futures = [tg.get(key[0], key[1], key[2] if len(key) > 2 else None) for key in keys]
    out = []
    for future, key in zip(futures, keys, strict=True):
        try:
            out.append(future.get())
        except key[0].DoesNotExist:
            out.append(None)
    return out
