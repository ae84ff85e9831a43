"""A depositor with 10,000 deposit records pages through all of them, each page one DynamoDB Query
(AWS's DynamoDB Local: moto's Query reads the whole table, DynamoDB's reads the key range)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from chalicelib.store import base
from chalicelib.store.ledger import DEPOSIT, LedgerEntry
from tests.support import factories

RECORDS = 10_000
LIMIT = 100
FIRST_DAY = dt.date(1999, 1, 1)


def _write_deposits(account_no: str, n: int) -> list[str]:
    """``n`` deposits of one yuan each, three a day from 1999, written straight to the ledger table in
    DynamoDB batches of 25 (the ledger's own path, one transaction each, would only make the test slow)."""
    client = base.connection().client
    table = LedgerEntry.Meta.table_name
    serials = []
    requests = []
    for i in range(n):
        day = (FIRST_DAY + dt.timedelta(days=i // 3)).isoformat()
        serial = f"BULK{i:06d}"
        serials.append(serial)
        keys = LedgerEntry.keys_for(account_no, DEPOSIT, day, serial)
        item = {"serial_no": {"S": serial}, "account_no": {"S": account_no}, "direction": {"S": DEPOSIT},
                "kind": {"S": "remit"}, "period": {"S": day[:7].replace("-", "")}, "date": {"S": day},
                "amount": {"N": "100"}, "balance_before": {"N": str(100 * i)},
                "balance_after": {"N": str(100 * (i + 1))}, "status": {"S": "posted"},
                "flow_key": {"S": keys["flow_key"]}, "acct_dir": {"S": keys["acct_dir"]}}
        requests.append({"PutRequest": {"Item": item}})
        if len(requests) == 25 or i == n - 1:
            pending = {table: requests}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            requests = []
    return serials


@pytest.mark.ddblocal
@pytest.mark.slow
def test_ten_thousand_deposits_page_through_with_one_query_a_page(ddb_local, client):
    p = factories.person()
    acct = factories.account(p, balance=100 * RECORDS)
    login = factories.login(factories.user(p).user_id)
    started = time.perf_counter()
    serials = _write_deposits(acct.account_no, RECORDS)
    written = time.perf_counter() - started

    queries: list[dict] = []

    def record(params, **_):
        queries.append(params)

    events = base.connection().client.meta.events
    events.register("provide-client-params.dynamodb.Query", record)
    seen: list[str] = []
    sizes: list[int] = []
    pages = 0
    cursor = None
    started = time.perf_counter()
    try:
        while True:
            before = len([q for q in queries if q["TableName"] == LedgerEntry.Meta.table_name])
            path = f"/v1/me/deposits?limit={LIMIT}" + (f"&cursor={cursor}" if cursor else "")
            response = client.http.get(path, headers=login.headers)
            assert response.status_code == 200, response.body
            body = json.loads(response.body)
            after = len([q for q in queries if q["TableName"] == LedgerEntry.Meta.table_name])
            assert after - before == 1, f"page {pages + 1} took {after - before} ledger Queries"
            pages += 1
            seen += [item["serial_no"] for item in body["items"]]
            sizes.append(len(body["items"]))
            cursor = body["next_cursor"]
            if not cursor:
                break
    finally:
        events.unregister("provide-client-params.dynamodb.Query", record)
    paged = time.perf_counter() - started

    assert seen == list(reversed(serials))                      # all of them, newest first, none twice
    # 100 full pages; DynamoDB answers a LastEvaluatedKey when a page fills exactly, so one empty page may follow
    assert sizes[:RECORDS // LIMIT] == [LIMIT] * (RECORDS // LIMIT) and sizes[RECORDS // LIMIT:] in ([], [0])
    ledger_queries = [q for q in queries if q["TableName"] == LedgerEntry.Meta.table_name]
    assert len(ledger_queries) == pages
    assert all(q["IndexName"] == "dir-index" and q["Limit"] == LIMIT for q in ledger_queries)
    # the first page finds the account through the person's accounts; later pages take it from the cursor
    assert len(queries) == pages + 1
    print(f"wrote {RECORDS} in {written:.1f}s, paged {pages} pages in {paged:.1f}s")
