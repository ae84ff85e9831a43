"""Each scheduled function's IAM role (deploy/template.py JOB_TABLES) covers every table it really touches.

The jobs run on the demo records under moto with a botocore hook that records the table of every
DynamoDB call; a table the job touched but its role does not grant would be an AccessDenied in AWS.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from pathlib import Path

import pytest

from chalicelib import clock, importer, jobs
from chalicelib.store import base
from deploy import template

ROOT = Path(__file__).resolve().parent.parent.parent
# A moment at which each job has work to do on the demo records.
MOMENTS = {
    "open-remittance-window": "2026-07-01T08:00:00+08:00",
    "close-remittance-window": "2026-07-25T17:00:00+08:00",
    "send-appointment-reminders": "2026-07-14T18:00:00+08:00",
    "send-remittance-reminders": "2026-07-20T09:00:00+08:00",
    "loan-offset-deduction": "2026-07-15T06:00:00+08:00",
    "settle-annual-interest": "2026-06-30T23:00:00+08:00",
    "dispatch-sms": "2026-07-01T09:00:00+08:00",
    "reprice-loans": "2026-01-01T00:00:00+08:00",
}


def _tables_of(params: dict) -> set[str]:
    names = set()
    if "TableName" in params:
        names.add(params["TableName"])
    names.update(params.get("RequestItems", {}))
    for item in params.get("TransactItems", []):
        for op in item.values():
            names.add(op["TableName"])
    return names


@pytest.mark.parametrize("name", sorted(MOMENTS))
def test_job_touches_only_the_tables_its_role_grants(aws, name):
    module = jobs.JOBS[name].target.partition(":")[0]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError:
        pytest.skip(f"{module} is not built yet")
    lines = (ROOT / "demo" / "center-records.jsonl").read_text(encoding="utf-8").splitlines()
    importer.run(lines)
    from chalicelib.services import notify

    notify.queue_sms("probe#1", "13800000001", "【公积金】测试", now=datetime(2026, 7, 1, 8, tzinfo=clock.CHINA))
    touched: set[str] = set()

    def record(params, **_):
        touched.update(_tables_of(params))

    client = base.connection().client
    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        jobs.run(name, datetime.fromisoformat(MOMENTS[name]))
        jobs.run(name, datetime.fromisoformat(MOMENTS[name]))     # the second run too
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)
    from chalicelib import settings

    prefix = settings.get().table_prefix
    logical = {t[len(prefix):] for t in touched}
    assert logical, f"{name} touched no table at all"
    assert logical <= set(template.JOB_TABLES[name]), f"{name} also needs {logical - set(template.JOB_TABLES[name])}"


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
             "Get": "GetItem"}


def _actions_of(operation: str, params: dict) -> set[tuple[str, str]]:
    """The IAM (action, resource) pairs a DynamoDB call needs: a transaction is authorised item by item, and a Query
    or Scan of an index on the index's own ARN (``table/index/name``)."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return {(f"dynamodb:{_TRANSACT[kind]}", op["TableName"])
                for item in params["TransactItems"] for kind, op in item.items()}
    if params.get("IndexName"):
        return {(f"dynamodb:{operation}", f"{params['TableName']}/index/{params['IndexName']}")}
    return {(f"dynamodb:{operation}", table) for table in _tables_of(params)}


def _granted(policy: dict, stage: str) -> set[tuple[str, str]]:
    """(action, resource) pairs a policy allows; an index wildcard stays ``table/index/*``."""
    import re

    pairs = set()
    for statement in policy["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            found = re.search(rf":table/gjj-{stage}-([a-z-]+(?:/index/(?:\*|[a-z-]+))?)$",
                              str(resource.get("Fn::Sub", "")))
            if found:
                pairs |= {(action, found.group(1)) for action in statement["Action"]}
    return pairs


def _allowed(pair: tuple[str, str], granted: set[tuple[str, str]]) -> bool:
    action, resource = pair
    table, _, index = resource.partition("/index/")
    return pair in granted or bool(index) and (action, f"{table}/index/*") in granted


@pytest.mark.parametrize("name", [n for n in template.fanout_jobs() if n in jobs.JOBS])   # `gjj import`: its own test
def test_a_fanned_out_job_makes_only_the_dynamodb_calls_its_roles_grant(aws, name):
    # The coordinator and the job_worker run in this process (the local queue): each call must be granted by one of
    # the two roles, action by action (reprice-loans' shards Scan the loans table: only the worker may).
    lines = (ROOT / "demo" / "center-records.jsonl").read_text(encoding="utf-8").splitlines()
    importer.run(lines)
    from chalicelib import settings

    prefix = settings.get().table_prefix
    needed: set[tuple[str, str]] = set()

    def record(params, event_name, **_):
        operation = event_name.rsplit(".", 1)[1]
        needed.update((action, table[len(prefix):]) for action, table in _actions_of(operation, params))

    client = base.connection().client
    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        jobs.run(name, datetime.fromisoformat(MOMENTS[name]))
        jobs.run(name, datetime.fromisoformat(MOMENTS[name]))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)
    granted = _granted(template.job_policy("dev", name), "dev") | _granted(template.worker_policy("dev"), "dev")
    missing = sorted(pair for pair in needed if not _allowed(pair, granted))
    assert needed and not missing, f"{name} also needs {missing}"
