"""Throughput of `gjj import` and of every scheduled job at 10,000 and 100,000 items, on DynamoDB Local.

* import: ``chalicelib.importer.run`` over generated center records (``bench.import_throughput.make_lines``),
  then the same file again (a re-import changes nothing), against the raw batch-write of the same items (the
  floor DynamoDB Local sets).
* jobs: for every job in ``chalicelib.jobs.JOBS``, fresh tables, ``n`` items of the kind the job works through
  written with batch writes (``SEEDS`` below), then the job once (timed: items/s) and again for the same moment
  (timed: a second run must change nothing). A job whose module is not there yet is reported "not built"; a job
  without per-item work (opening/closing the window) is timed once.

    python -m bench.throughput [--quick] [--sizes 10000,100000] [--jobs NAME,...]
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHINA = dt.timezone(dt.timedelta(hours=8))

# The moment each job runs at, chosen so that the seeded items are its work.
MOMENTS = {
    "open-remittance-window": "2026-11-02T08:00:00+08:00",
    "close-remittance-window": "2026-11-25T17:00:00+08:00",
    "send-appointment-reminders": "2026-11-16T18:00:00+08:00",
    "send-remittance-reminders": "2026-11-20T09:00:00+08:00",
    "loan-offset-deduction": "2026-11-15T06:00:00+08:00",
    "settle-annual-interest": "2026-06-30T23:00:00+08:00",
    "dispatch-sms": "2026-11-16T09:00:00+08:00",
    "reprice-loans": "2026-01-01T00:00:00+08:00",
}


def _id_number(i: int) -> str:
    from chalicelib.rules.identity import id_check_character

    body = f"140105{dt.date(1970, 1, 1) + dt.timedelta(days=i % 15000):%Y%m%d}{i % 1000:03d}"
    return body + id_check_character(body)


def _write(items) -> None:
    writers: dict[type, object] = {}
    for item in items:
        model = type(item)
        if model not in writers:
            writers[model] = model.batch_write()
            writers[model].__enter__()
        writers[model].save(item)
    for writer in writers.values():
        writer.__exit__(None, None, None)


def _accounts(n: int, *, kind: str = "flexible", status: str = "normal", paid_through: str = "202610"):
    from chalicelib.store.accounts import Account
    from chalicelib.store.people import Person

    for i in range(n):
        id_number = _id_number(i)
        yield Person(id_number=id_number, name="测试", phone=f"139{i:08d}")
        yield Account(account_no=f"T{i:09d}", id_number=id_number, kind=kind, unit_no=None, status=status,
                      base=0, ratio_person=None, ratio_unit=None, monthly_amount=80_000, balance=1_000_000 + i,
                      paid_through=paid_through, opened_on="2020-01-01",
                      remit_group=Account.remit_group_for(kind, status))


def seed_appointments(n: int, now: dt.datetime):
    from chalicelib.store.appointments import Appointment

    day = (now.date() + dt.timedelta(days=1)).isoformat()
    slots = ("09:00-10:00", "10:00-11:00", "14:00-15:00", "15:00-16:00")
    for i in range(n):
        slot = slots[i % 4]
        yield Appointment(appointment_id=f"APT{i:09d}", id_number=_id_number(i), phone=f"139{i:08d}", branch_id="B01",
                          branch_name="迎泽服务网点", date=day, slot=slot, purpose="general", status="booked",
                          created_at=now.isoformat(), sort_key=f"{day}#{slot}#APT{i:09d}", remind_on=day)


def seed_unpaid_flexible(n: int, now: dt.datetime):
    yield from _accounts(n, paid_through="202610")


def seed_offset_loans(n: int, now: dt.datetime):
    from decimal import Decimal

    from chalicelib.rules import loans as rules
    from chalicelib.store.loans import Loan

    # 23 installments paid: the 24th falls due today, on the loans' repayment day, and offset is signed
    plan = rules.schedule(40_000_000, Decimal("2.60"), 240, "equal_installment")
    balance = rules.balance_after(plan, 23)
    yield from _accounts(n, kind="employee", paid_through="202610")
    for i in range(n):
        yield Loan(contract_no=f"HTB{i:09d}", id_number=_id_number(i), bank="中国建设银行太原分行",
                   repay_account=f"62170000{i:011d}", principal=40_000_000, annual_rate="2.60", term_months=240,
                   method="equal_installment", disbursed_on="2024-11-20", repayment_day=now.day, balance=balance,
                   paid_periods=23, status="normal", offset_signed=True, offset_day=now.day)


def seed_interest_accounts(n: int, now: dt.datetime):
    yield from _accounts(n, kind="employee")


def seed_reprice_loans(n: int, now: dt.datetime):
    """Loans disbursed in 2024-03, over a year before the repricing day, still at the first-home over-5-years rate
    in force then (3.10, policy ``rates.loan`` from 2022-10-01); on 2026-01-01 the rate in force for them is 2.60
    (from 2025-05-08): every loan moves."""
    from chalicelib.store.loans import Loan

    yield from _accounts(n, kind="employee", paid_through="202510")
    for i in range(n):
        yield Loan(contract_no=f"HTR{i:09d}", id_number=_id_number(i), bank="中国建设银行太原分行",
                   repay_account=f"62170000{i:011d}", principal=40_000_000, annual_rate="3.10", term_months=240,
                   method="equal_installment", disbursed_on="2024-03-20", repayment_day=20, balance=37_000_000,
                   paid_periods=21, status="normal", home="first", offset_signed=False)


def seed_sms_queue(n: int, now: dt.datetime):
    from chalicelib.store.messages import OutboundSms

    ts = int(now.timestamp()) - 60
    for i in range(n):
        yield OutboundSms(sms_id=f"bench#{i:09d}", phone=f"139{i:08d}", text="【公积金】您的汇缴已到账。",
                          status="pending", attempts=0, queue="pending", due_at=ts, created_at=now.isoformat())


def seed_open_window(n: int, now: dt.datetime):
    from chalicelib.rules import remittance as rules
    from chalicelib.services.remittance import WINDOW_PK
    from chalicelib.store.kv import StateItem

    yield StateItem(WINDOW_PK, "-", status="open", value=rules.window_id(now), updated_at=now.isoformat())


PER_ITEM = {"send-appointment-reminders", "send-remittance-reminders", "loan-offset-deduction",
            "settle-annual-interest", "dispatch-sms", "reprice-loans"}
SEEDS: dict[str, Callable[[int, dt.datetime], object] | None] = {
    "open-remittance-window": None,
    "close-remittance-window": seed_open_window,
    "send-appointment-reminders": seed_appointments,
    "send-remittance-reminders": seed_unpaid_flexible,
    "loan-offset-deduction": seed_offset_loans,
    "settle-annual-interest": seed_interest_accounts,
    "dispatch-sms": seed_sms_queue,
    "reprice-loans": seed_reprice_loans,
}


def _fresh_tables(tag: str) -> None:
    from chalicelib.store import base

    os.environ["GJJ_TABLE_PREFIX"] = f"{tag}{uuid.uuid4().hex[:6]}-"
    base.configure()
    base.create_tables()


def _drop_tables() -> None:
    from chalicelib.store import base

    base.delete_tables()


def bench_import(n: int) -> dict:
    from bench.import_throughput import make_lines, parallel
    from chalicelib import importer

    lines = make_lines(n)
    _fresh_tables("raw")
    items = [importer.to_item(importer.parse_line(line)) for line in lines]
    started = time.perf_counter()
    _write(items)
    raw = time.perf_counter() - started
    _drop_tables()
    _fresh_tables("imp")
    first = importer.run(lines)
    again = importer.run(lines)
    _drop_tables()
    per_s = {}      # `gjj import`'s own path: the file's chunks in parallel, with 1 and with 4 workers
    for workers in (1, 4):
        per_s[workers] = round(n / parallel(lines, workers, Path(tempfile.mkdtemp(prefix="gjj-import-"))))
        _drop_tables()
    return {"lines": n, "import_s": round(first.seconds, 2), "lines_per_s": round(n / first.seconds),
            "reimport_s": round(again.seconds, 2), "raw_batch_write_s": round(raw, 2),
            "ratio_to_raw": round(first.seconds / raw, 2), "bad": len(first.bad),
            "lines_per_s_1_worker": per_s[1], "lines_per_s_4_workers": per_s[4]}


def bench_job(name: str, n: int) -> dict:
    from chalicelib import jobs

    job = jobs.JOBS[name]
    try:
        importlib.import_module(job.target.partition(":")[0])
        job.load()
    except (ImportError, AttributeError) as exc:
        return {"job": name, "items": n, "status": "not built", "detail": f"{type(exc).__name__}: {exc}"[:120]}
    now = dt.datetime.fromisoformat(MOMENTS[name])
    seed = SEEDS.get(name, None)
    _fresh_tables("job")
    from tests.support import ddblocal

    ddblocal.no_ttl_sweeps()       # a sweep between the fingerprints would look like a change
    try:
        seeded = 0
        if seed is not None:
            try:
                items = list(seed(n, now))
                seeded = n if name in PER_ITEM else 0
                _write(items)
            except Exception as exc:  # noqa: BLE001  (a job's model changed after this seeder was written)
                return {"job": name, "items": n, "status": "seed failed",
                        "detail": f"{type(exc).__name__}: {exc}"[:120]}
        from chalicelib.services import remittance

        remittance.reset_cache()
        started = time.perf_counter()
        summary = jobs.run(name, now)
        first = time.perf_counter() - started
        from bench import fanout_scale

        before = fanout_scale.fingerprint()          # every table, after the first run
        started = time.perf_counter()
        second_summary = jobs.run(name, now)
        second = time.perf_counter() - started
        changed = fanout_scale.changed_tables(before, fanout_scale.fingerprint())
    finally:
        _drop_tables()
    done = _processed(summary, seeded)
    return {"job": name, "items": done or None, "status": "ok", "first_s": round(first, 2),
            "items_per_s": round(done / first) if done else None, "second_s": round(second, 2),
            "summary": _short(summary), "second_summary": _short(second_summary),
            "second_changed": "unchanged" if not changed else "changed: " + ", ".join(changed)}


COUNTS = ("reminded", "posted", "sent", "full", "partial", "bank_only", "repriced")


def _processed(summary, seeded: int) -> int:
    """Items the first run really handled, from its own summary (``dispatch-sms`` sends at most its policy's
    ``max_per_run`` a run; a job that did nothing must not look fast); the seeded count when it says none."""
    if not seeded:
        return 0
    if isinstance(summary, dict) and any(k in summary for k in COUNTS):
        return sum(int(summary.get(k) or 0) for k in COUNTS)
    return seeded


def _short(summary) -> str:
    return json.dumps(summary, ensure_ascii=False, default=str)[:160]


def local_server(prefix: str):
    """The local stage's environment for a benchmark (fake AWS keys, a fresh data directory) and a DynamoDB Local of
    its own; ``None`` when DynamoDB Local is not installed. The caller points ``GJJ_DDB_ENDPOINT`` at it and stops
    it."""
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "GJJ_STAGE": "local", "GJJ_LOCAL_DIR": str(workdir),
                       "GJJ_TOKEN_SECRET": "bench-secret-bench-secret-bench-secret-0123"})
    from tests.support import ddblocal

    return ddblocal.start(workdir)


def run(quick: bool = False, sizes: list[int] | None = None, only_jobs: list[str] | None = None) -> dict:
    sizes = sizes or ([1_000] if quick else [10_000, 100_000])
    server = local_server("gjj-throughput-")
    if server is None:
        return {"error": "DynamoDB Local is not installed: run `make dynamodb-local` first"}
    from chalicelib import jobs

    result: dict = {"sizes": sizes, "import": [], "jobs": []}
    try:
        os.environ["GJJ_DDB_ENDPOINT"] = server.endpoint
        for n in sizes if not only_jobs else ():
            print(f"  import {n} lines ...", flush=True)
            result["import"].append(bench_import(n))
        for name in only_jobs or jobs.JOBS:
            for n in (sizes if name in PER_ITEM else sizes[:1]):
                print(f"  {name} over {n} items ...", flush=True)
                result["jobs"].append(bench_job(name, n))
    finally:
        server.stop()
        os.environ.pop("GJJ_DDB_ENDPOINT", None)
    return result


def markdown(r: dict) -> list[str]:
    if "error" in r:
        return [r["error"]]
    lines = ["`gjj import` on DynamoDB Local (raw = the same items by plain batch writes, no validation; import = one "
             "pass in one thread; 1 / 4 workers = `gjj import --workers N`, the file's chunks in parallel):", "",
             "| lines | import s | lines/s | re-import s | raw batch-write s | × raw | lines/s 1 worker | 4 workers |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in r["import"]:
        lines.append(f"| {row['lines']:,} | {row['import_s']} | {row['lines_per_s']:,} | {row['reimport_s']} | "
                     f"{row['raw_batch_write_s']} | {row['ratio_to_raw']} | {row['lines_per_s_1_worker']:,} | "
                     f"{row['lines_per_s_4_workers']:,} |")
    lines += ["", "Scheduled jobs on DynamoDB Local (second run = the same moment again, which must change nothing):",
              "", "| job | items | first run s | items/s | second run s | tables after the second run | result |",
              "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for row in r["jobs"]:
        if row["status"] != "ok":
            lines.append(f"| `{row['job']}` | {row['items']:,} | {row['status']} | | | | {row.get('detail', '')} |")
            continue
        items = f"{row['items']:,}" if row["items"] else "—"
        rate = f"{row['items_per_s']:,}" if row["items_per_s"] else "—"
        lines.append(f"| `{row['job']}` | {items} | {row['first_s']} | {rate} | {row['second_s']} | "
                     f"{row.get('second_changed', '')} | `{row['summary']}` |")
    return lines


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    sizes = None
    if "--sizes" in argv:
        sizes = [int(x) for x in argv[argv.index("--sizes") + 1].split(",")]
    only = argv[argv.index("--jobs") + 1].split(",") if "--jobs" in argv else None
    result = run(quick="--quick" in argv, sizes=sizes, only_jobs=only)
    print("\n".join(markdown(result)))
    return result


if __name__ == "__main__":
    main()
