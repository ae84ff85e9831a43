"""Every route's latency and DynamoDB calls, through ``chalice.test.Client`` on moto, against a baseline.

The world is ``tests.support.world`` (demo records, personas, cards, an open window...). Each route is called
``rounds`` times with the request ``tests.support.world.request_for`` gives (a hand-written example, or a
generic request built from the route's models); an example's per-round set-up (a fresh depositor for a
payment) is outside the timing. Reported per route:

* p50 and p99 latency, and p50 as a ratio to the baseline: a minimal route (registered only here) that does
  one DynamoDB GetItem, measured in the same run;
* the status codes seen (a route that only answered 4xx is reported as such: its request is generic, or the
  world's moment does not allow it);
* DynamoDB calls per operation (median), counted by a botocore ``before-call.dynamodb`` hook on the shared
  client (``tests.support.faults.DynamoWatch``).

    python -m bench.routes [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "GET /bench/get-item"


def _env() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION":
                       "us-east-1", "GJJ_STAGE": "local", "GJJ_TABLE_PREFIX": "bench-",
                       "GJJ_TOKEN_SECRET": "bench-secret-bench-secret-bench-secret-0123",
                       "GJJ_LOCAL_DIR": tempfile.mkdtemp(prefix="gjj-bench-")})
    os.environ.pop("GJJ_DDB_ENDPOINT", None)
    sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(quick: bool = False) -> dict:
    _env()
    import moto  # noqa: F401  (before any botocore client exists)
    from chalice.test import Client
    from moto import mock_aws

    rounds, warm = (8, 1) if quick else (40, 3)
    with mock_aws():
        from app import app
        from chalicelib import handlers

        handlers.load_all()   # every route in the registry (app.py imports a handler module on first use)
        from chalicelib.http.api import REGISTRY, Api, Request
        from chalicelib.store import base
        from tests.support import world as W
        from tests.support.faults import DynamoWatch

        base.configure()
        base.create_tables()
        world = W.build()

        baseline_api = Api("bench.baseline", tag="bench", registry=[])

        @baseline_api.route("/bench/get-item", roles=None, summary="bench baseline: one GetItem")
        def bench_get_item(req: Request) -> dict:
            from chalicelib.store.accounts import Account

            return {"balance": int(Account.get("GR00000001").balance)}

        app.register_blueprint(baseline_api.blueprint)
        baseline_route = baseline_api.registry[0]
        routes = [baseline_route, *[r for r in REGISTRY if r.tags != ("test",)]]
        rows = []
        with Client(app, project_dir=tempfile.mkdtemp()) as client:
            for route in routes:
                samples, calls, statuses = [], [], Counter()
                by_example = False
                for i in range(warm + rounds):
                    if route is baseline_route:
                        req = W.Req("GET", "/bench/get-item")
                    else:
                        req, by_example = W.request_for(route, world, i)
                    headers = req.all_headers()
                    body = json.dumps(req.body) if req.body is not None else b""
                    with DynamoWatch() as watch:
                        started = time.perf_counter()
                        resp = client.http.request(method=req.method, path=req.url(), headers=headers, body=body)
                        ms = (time.perf_counter() - started) * 1000
                    if i >= warm:
                        samples.append(ms)
                        calls.append(watch.count)
                        statuses[resp.status_code] += 1
                rows.append({"route": f"{route.method} {route.path}", "by_example": by_example,
                             "p50_ms": round(statistics.median(samples), 2), "p99_ms": round(_pct(samples, 0.99), 2),
                             "ddb_calls": statistics.median(calls), "statuses": dict(sorted(statuses.items()))})
    base_p50 = rows[0]["p50_ms"]
    for row in rows:
        row["ratio"] = round(row["p50_ms"] / base_p50, 1)
    return {"rounds": rounds, "baseline": BASELINE, "baseline_p50_ms": base_p50, "routes": rows}


def _statuses(row: dict) -> str:
    text = " ".join(f"{code}×{n}" for code, n in row["statuses"].items())
    if all(int(code) >= 400 for code in row["statuses"]):
        text += " (only 4xx)"
    return text


def markdown(result: dict) -> list[str]:
    lines = [f"Per route, {result['rounds']} calls each through `chalice.test.Client` on moto; ratio = p50 / p50 of a "
             f"baseline route doing one GetItem ({result['baseline_p50_ms']} ms). ✎ = hand-written example, "
             "otherwise a generic request from the route's models.", "",
             "| route | ✎ | p50 ms | p99 ms | × baseline | DynamoDB calls | statuses |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for row in result["routes"]:
        lines.append(f"| `{row['route']}` | {'✎' if row['by_example'] else ''} | {row['p50_ms']} | {row['p99_ms']} | "
                     f"{row['ratio']} | {row['ddb_calls']:g} | {_statuses(row)} |")
    return lines


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    result = run(quick="--quick" in argv)
    print("\n".join(markdown(result)))
    return result


if __name__ == "__main__":
    main()
