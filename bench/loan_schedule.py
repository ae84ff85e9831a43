"""Is a 360-month repayment schedule cheap enough to compute on every request?

Both requests go through ``chalice.test.Client`` in the same run (moto behind, though neither touches
DynamoDB): the loan calculator drawing up a 360-month equal-installment plan, and a no-op route that
answers ``{}``. The figure is the ratio of their median latencies, plus the bare rules call.

    python -m bench.loan_schedule [ROUNDS]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal


def _timed(fn, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def run(rounds: int = 200) -> dict[str, float]:
    os.environ.setdefault("GJJ_STAGE", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "cn-north-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ["GJJ_LOCAL_DIR"] = tempfile.mkdtemp(prefix="gjj-bench-")
    os.environ.pop("GJJ_DDB_ENDPOINT", None)
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib.http.api import Api, Request
    from chalicelib.rules import loans

    with mock_aws():
        from app import app

        noop = Api("bench.noop", tag="bench")

        @noop.route("/bench/noop", "POST", roles=None)
        def bench_noop(req: Request) -> dict:
            return {}

        app.register_blueprint(noop.blueprint)
        headers = {"Content-Type": "application/json"}
        body = json.dumps({"principal": "1000000.00", "annual_rate": "3.10", "term_months": 360,
                           "method": "equal_installment"})
        with Client(app, project_dir=tempfile.mkdtemp()) as client:
            def calc():
                resp = client.http.post("/v1/tools/loan-calculator", headers=headers, body=body)
                assert resp.status_code == 200, resp.body

            def nothing():
                resp = client.http.post("/bench/noop", headers=headers, body="{}")
                assert resp.status_code == 200, resp.body

            for fn in (calc, nothing):          # warm up
                _timed(fn, 20)
            calc_ms = _timed(calc, rounds)
            noop_ms = _timed(nothing, rounds)
    rules_ms = _timed(lambda: loans.schedule(100_000_000, Decimal("3.10"), 360, "equal_installment"), rounds)
    return {
        "calculator_p50_ms": statistics.median(calc_ms),
        "calculator_p99_ms": sorted(calc_ms)[int(0.99 * (len(calc_ms) - 1))],
        "noop_p50_ms": statistics.median(noop_ms),
        "rules_only_p50_ms": statistics.median(rules_ms),
        "ratio_p50": statistics.median(calc_ms) / statistics.median(noop_ms),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    rounds = int(argv[0]) if argv else 200
    r = run(rounds)
    print(f"360-month schedule via POST /v1/tools/loan-calculator: p50 {r['calculator_p50_ms']:.2f} ms, "
          f"p99 {r['calculator_p99_ms']:.2f} ms; no-op route p50 {r['noop_p50_ms']:.2f} ms; "
          f"ratio {r['ratio_p50']:.1f}x; rules alone p50 {r['rules_only_p50_ms']:.2f} ms ({rounds} rounds)")


if __name__ == "__main__":
    main()
