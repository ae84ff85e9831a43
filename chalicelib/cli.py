"""The ``gjj`` command: center records import, scheduled jobs, tables, operators, unit certificates.

It reads the same stage settings as the server: the variables of ``.chalice/config.json`` for
``--stage`` (default ``$GJJ_STAGE`` or ``local``) fill in whatever the environment does not set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from chalicelib.settings import PROJECT_ROOT, STAGES


def load_stage_environment(stage: str, config_path: Path | None = None) -> None:
    path = config_path or PROJECT_ROOT / ".chalice" / "config.json"
    if not path.exists():
        os.environ.setdefault("GJJ_STAGE", stage)
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    merged = {**config.get("environment_variables", {}),
              **config.get("stages", {}).get(stage, {}).get("environment_variables", {})}
    for key, value in merged.items():
        os.environ.setdefault(key, value)
    os.environ["GJJ_STAGE"] = stage


def _cmd_import(args: argparse.Namespace) -> int:
    import contextlib
    import threading
    import time

    from chalicelib import importer_fanout, settings

    path = Path(args.file)
    if not path.is_file():
        print(f"gjj import: no such file: {path}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("gjj import: --workers must be at least 1", file=sys.stderr)
        return 2
    total = importer_fanout.scan(path)[1] if not args.quiet else 0
    every = max(500, total // 20)
    seen = {"lines": 0, "written": 0, "bad": 0, "shown": 0}
    lock = threading.Lock()

    def progress(lines: int, written: int, bad: int) -> None:      # a page done, in any worker
        with lock:
            seen["lines"] += lines
            seen["written"] += written
            seen["bad"] += bad
            if seen["lines"] - seen["shown"] < every and seen["lines"] < total:
                return
            seen["shown"] = seen["lines"]
            pct = f" ({seen['lines'] * 100 // total}%)" if total else ""
            print(f"  {seen['lines']}/{total} lines{pct}, {seen['written']} written, {seen['bad']} bad, "
                  f"{seen['written'] / max(1e-9, time.perf_counter() - started):.0f} records/s",
                  file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):    # the workers' log lines: standard output is the summary's
            report = importer_fanout.run_file(path, workers=args.workers or settings.get().job_workers,
                                              progress=None if args.quiet else progress)
    except Exception:
        print(f"gjj import: stopped by the error below; the chunks finished so far are kept: run `gjj import {path}` "
              "again to go on from where each chunk stopped", file=sys.stderr)
        raise
    for bad in report.bad:
        print(f"{path}:{bad.line_no}: {bad.reason}", file=sys.stderr)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.written.items())) or "nothing"
    print(f"imported {report.ok} of {report.lines} lines ({kinds}) in {report.seconds:.1f} s; "
          f"{len(report.bad)} bad line(s)")
    return 1 if report.bad else 0


def _cmd_jobs_run(args: argparse.Namespace) -> int:
    from chalicelib import clock, jobs

    try:
        job = jobs.get(args.name)
    except KeyError as exc:
        print(f"gjj jobs run: {exc.args[0]}", file=sys.stderr)
        return 2
    now = clock.parse(args.at) if args.at else clock.now()
    try:
        body = job.load()
    except (ImportError, AttributeError):
        print(f"gjj jobs run: job {job.name} has no body yet ({job.target})", file=sys.stderr)
        return 2
    result = body(now)
    print(json.dumps({"job": job.name, "now": clock.iso(now), "result": result}, ensure_ascii=False, default=str))
    return 0


def _cmd_jobs_status(args: argparse.Namespace) -> int:
    from chalicelib import clock, jobs, jobs_fanout

    if args.name not in jobs_fanout.REGISTRY or args.name not in jobs.JOBS:
        print(f"gjj jobs status: {args.name} does not fan out; fan-out jobs: "
              f"{', '.join(n for n in jobs_fanout.REGISTRY if n in jobs.JOBS)}", file=sys.stderr)
        return 2
    now = clock.parse(args.at) if args.at else clock.now()
    print(json.dumps(jobs_fanout.status(jobs_fanout.get(args.name), now), ensure_ascii=False, default=str))
    return 0


def _cmd_jobs_list(args: argparse.Namespace) -> int:
    from chalicelib import jobs

    for job in jobs.JOBS.values():
        print(f"{job.name:28} cron({' '.join(job.cron)}) UTC  {job.description}")
    return 0


def _cmd_tables_create(args: argparse.Namespace) -> int:
    from chalicelib.store import base

    created = base.create_tables()
    print(f"created {len(created)} table(s)" + (": " + ", ".join(created) if created else " (all present)"))
    return 0


def _cmd_operators_create(args: argparse.Namespace) -> int:
    from chalicelib.services import operators

    if not args.password_stdin:
        print("gjj operators create: give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    from chalicelib import errors

    password = sys.stdin.readline().rstrip("\n")
    try:
        operators.create_operator(args.username, password, args.role)
    except errors.ApiError as exc:
        reasons = "; ".join(f"{k}: {v}" for k, v in exc.details.get("fields", {}).items())
        print(f"gjj operators create: {exc.message}{' (' + reasons + ')' if reasons else ''}", file=sys.stderr)
        return 2
    print(f"operator {args.username} ({args.role}) created")
    return 0


def _cmd_certificate(args: argparse.Namespace) -> int:
    from chalicelib.services import certificates

    paths = certificates.issue_certificate(args.kind, args.number, Path(args.out))
    for path in paths:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gjj", description="gjj: 住房公积金 online services, command line")
    parser.add_argument("--stage", choices=STAGES, default=os.environ.get("GJJ_STAGE", "local"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import center records (JSON Lines, CONTRACT section 7)")
    p.add_argument("file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--workers", type=int, default=None,
                   help="chunks imported at once (default $GJJ_JOB_WORKERS); the file is cut into at least as many")
    p.set_defaults(func=_cmd_import)

    jobs_p = sub.add_parser("jobs", help="scheduled functions").add_subparsers(dest="jobs_command", required=True)
    run = jobs_p.add_parser("run", help="run one scheduled function once, now (the stage clock)")
    run.add_argument("name")
    run.add_argument("--at", help="ISO-8601 time with offset to use as now (default: the stage clock)")
    run.set_defaults(func=_cmd_jobs_run)
    jobs_p.add_parser("list", help="list the scheduled functions").set_defaults(func=_cmd_jobs_list)
    st = jobs_p.add_parser("status", help="where a fan-out job's run stands: the run item and each shard")
    st.add_argument("name")
    st.add_argument("--at", help="ISO-8601 time with offset: the moment whose run to show (default: the stage clock)")
    st.set_defaults(func=_cmd_jobs_status)

    tables = sub.add_parser("tables", help="DynamoDB tables").add_subparsers(dest="tables_command", required=True)
    tables.add_parser("create", help="create the tables that are missing").set_defaults(func=_cmd_tables_create)

    ops = sub.add_parser("operators", help="center operators").add_subparsers(dest="ops_command", required=True)
    create = ops.add_parser("create", help="create an operator")
    create.add_argument("--username", required=True)
    create.add_argument("--password-stdin", action="store_true")
    create.add_argument("--role", choices=("reviewer", "admin"), required=True)
    create.set_defaults(func=_cmd_operators_create)

    for kind, flag in (("unit", "--unit-no"), ("developer", "--developer-no")):
        group = sub.add_parser(f"{kind}s", help=f"{kind} web hall").add_subparsers(dest=f"{kind}_cmd", required=True)
        cert = group.add_parser("certificate", help=f"issue a {kind}'s login certificate and key (local stage)")
        cert.add_argument(flag, dest="number", required=True)
        cert.add_argument("--out", required=True)
        cert.set_defaults(func=_cmd_certificate, kind=kind)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load_stage_environment(args.stage)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
