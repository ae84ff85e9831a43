"""moto, faster, with the same behaviour.

* :func:`create_tables`: creating the ~30 tables through the API costs about a second per test (four API
  round trips a table); the first time in a process they are created through the API as before, and their
  empty moto state is kept; later tests get a deep copy of that state (milliseconds).
* :func:`item_level_rollback`: moto's ``TransactWriteItems`` deep-copies the *whole table* once per action to be
  able to roll back, which is O(actions × table size): a 100-action transaction on a table of a few thousand
  items takes seconds. Inside this context manager a transaction snapshots only the items its actions name
  and restores exactly those on cancellation, which is what a rollback has to undo (an action can only change
  the item it names).
* :func:`one_request_at_a_time`: moto's backends are plain dicts with no locking (a Query or a transaction's
  snapshot iterating a table while another thread inserts raises "dictionary changed size during iteration").
  DynamoDB applies each request atomically; one lock around moto's request handling gives the same, while the
  code under test still interleaves its requests across threads as it does in production (the jobs' workers).
"""

from __future__ import annotations

import contextlib
import copy
import threading

_templates: dict[tuple, dict] = {}
_one_at_a_time = threading.RLock()


def one_request_at_a_time() -> None:
    """Serialize moto's handling of requests for the rest of the process (idempotent)."""
    from moto.core.botocore_stubber import BotocoreStubber

    if getattr(BotocoreStubber.__call__, "gjj_serialized", False):
        return
    original = BotocoreStubber.__call__

    def __call__(self, *args, **kwargs):
        with _one_at_a_time:
            return original(self, *args, **kwargs)

    __call__.gjj_serialized = True
    BotocoreStubber.__call__ = __call__


def create_tables() -> None:
    """``base.create_tables()`` for moto: through the API once per process and table set, then from a copy."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib import settings
    from chalicelib.store import base

    cfg = settings.get()
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][cfg.region]
    key = (cfg.region, cfg.table_prefix, tuple(sorted(m.Meta.table_name for m in base.all_models())))
    template = _templates.get(key)
    if template is not None and not backend.tables:
        backend.tables.update(copy.deepcopy(template))
        return
    base.create_tables()
    if template is None:
        _templates[key] = copy.deepcopy(dict(backend.tables))


@contextlib.contextmanager
def item_level_rollback():
    from moto.dynamodb import models as ddb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    class _NoTableCopy:
        """Stands in for the ``copy`` module inside moto's DynamoDB backend while a transaction runs."""

        @staticmethod
        def deepcopy(obj, *args, **kwargs):
            return obj if isinstance(obj, Table) else copy.deepcopy(obj, *args, **kwargs)

        copy = staticmethod(copy.copy)

    def transact_write_items(self, transact_items):
        snapshot = []
        for item in transact_items:
            _, op = next(iter(item.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Item") or op.get("Key") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
            snapshot.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        ddb_models.copy = _NoTableCopy
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(snapshot):
                if table.get_item(hash_key, range_key) is not None:
                    table.delete_item(hash_key, range_key)
                if before is not None:
                    if range_key is not None:
                        table.items[hash_key][range_key] = before
                    else:
                        table.items[hash_key] = before
            raise
        finally:
            ddb_models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original


_ITEM_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


@contextlib.contextmanager
def fast_item_responses():
    """moto answers item reads through a botocore-model-driven serializer that costs ~15 ms an item; the
    results of GetItem, BatchGetItem, Query and Scan are already in DynamoDB's JSON wire form, so inside this
    context they are sent as ``json.dumps`` of that form (None values dropped, as the serializer does)."""
    import json

    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self, context):
        if context.operation_model.name not in _ITEM_READS:
            return original(self, context)
        try:
            body = json.dumps(_without_none(self.result))
        except TypeError:           # something not plain JSON (binary attributes): the real serializer
            return original(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result
    try:
        yield
    finally:
        DynamoResult.execute_result = original
