"""Throughput of `gjj import` against DynamoDB Local: 10,000 lines must take well under a minute.

Baseline in the same run: writing the same items with plain PynamoDB batch writes (no validation),
so the figure separates the cost of validating from the cost of DynamoDB Local itself. Then `gjj import`'s own
path (the file cut into chunks, ``chalicelib.importer_fanout``) on fresh tables with 1 and with 4 workers.

    python -m bench.import_throughput [LINES]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_lines(n: int) -> list[str]:
    from chalicelib.rules.identity import id_check_character

    lines = []
    people = max(1, n // 10)
    for i in range(people):
        body = f"140105{dt.date(1980, 1, 1) + dt.timedelta(days=i % 9000):%Y%m%d}{i % 1000:03d}"
        id_number = body + id_check_character(body)
        lines.append(json.dumps({"type": "person", "id_number": id_number, "name": "测试", "phone": f"138{i:08d}"}))
        lines.append(json.dumps({"type": "account", "account_no": f"B{i:08d}", "id_number": id_number,
                                 "kind": "flexible", "unit_no": None, "status": "normal", "base": "0.00",
                                 "monthly_amount": "500.00", "balance": "4000.00", "paid_through": "202608",
                                 "opened_on": "2026-01-01"}))
        for m in range(1, 9):
            lines.append(json.dumps({"type": "deposit", "serial_no": f"B{i:08d}-{m}", "account_no": f"B{i:08d}",
                                     "date": f"2026-{m:02d}-08", "period": f"2026{m:02d}", "kind": "remit",
                                     "amount": "500.00", "balance_after": f"{500 * m}.00"}))
    return lines[:n]


def parallel(lines: list[str], workers: int, tmp: Path) -> float:
    """Seconds of `gjj import`'s parallel path over ``lines`` with ``workers`` threads, on fresh tables."""
    from chalicelib import importer_fanout
    from chalicelib.adapters import queue as work_queue
    from chalicelib.store import base

    os.environ["GJJ_TABLE_PREFIX"] = f"w{workers}{uuid.uuid4().hex[:6]}-"
    base.configure()
    base.create_tables()
    path = tmp / f"records-{workers}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = importer_fanout.run_file(path, workers=workers, queue=work_queue.LocalQueue(tmp / "dlq.jsonl"))
    assert not report.bad and report.lines == len(lines), report
    return report.seconds


def main(n: int = 10_000) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "GJJ_STAGE": "local",
                       "GJJ_TOKEN_SECRET": "bench-secret-bench-secret-bench-secret"})
    from tests.support import ddblocal

    with tempfile.TemporaryDirectory() as tmp:
        server = ddblocal.start(Path(tmp))
        if server is None:
            print("DynamoDB Local is not installed: run `make dynamodb-local` first")
            return {}
        try:
            os.environ["GJJ_DDB_ENDPOINT"] = server.endpoint
            from chalicelib import importer
            from chalicelib.store import base

            lines = make_lines(n)
            # baseline: the same items, no validation, plain batch writes
            os.environ["GJJ_TABLE_PREFIX"] = f"b{uuid.uuid4().hex[:6]}-"
            base.configure()
            base.create_tables()
            items = [importer.to_item(importer.parse_line(line)) for line in lines]
            started = time.perf_counter()
            writers = {}
            for item in items:
                writers.setdefault(type(item), type(item).batch_write()).save(item)
            for writer in writers.values():
                writer.commit()
            baseline = time.perf_counter() - started
            # the import
            os.environ["GJJ_TABLE_PREFIX"] = f"i{uuid.uuid4().hex[:6]}-"
            base.configure()
            base.create_tables()
            report = importer.run(lines)
            again = importer.run(lines)
            one, four = parallel(lines, 1, Path(tmp)), parallel(lines, 4, Path(tmp))
        finally:
            server.stop()
    result = {"lines": n, "import_s": round(report.seconds, 2), "reimport_s": round(again.seconds, 2),
              "raw_batch_write_s": round(baseline, 2), "ratio_to_raw": round(report.seconds / baseline, 2),
              "lines_per_s": round(n / report.seconds), "bad": len(report.bad),
              "lines_per_s_1_worker": round(n / one), "lines_per_s_4_workers": round(n / four)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
