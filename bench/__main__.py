"""`make bench`: every benchmark in one run, printed as tables, written to ``out/bench/``, and (``--readme``)
put into README.md between the ``bench:start``/``bench:end`` markers, with the date and the machine.

    python -m bench [--quick] [--readme] [--only routes,import_time,throughput,fanout_scale,loan_schedule]
                    [--sizes 10000]

Sections: ``routes`` (every route: p50/p99 as a ratio to a one-GetItem baseline, statuses, DynamoDB calls),
``import_time`` (``import app`` against its dependencies), ``throughput`` (`gjj import` and every scheduled
job at 10,000 and 100,000 items on DynamoDB Local; ``--quick``: 1,000), ``fanout_scale`` (the jobs that fan out
with 1, 2, 4 and 8 workers on DynamoDB Local and on a latency-injected store, 10,000 items; ``--quick``: 1,000),
``loan_schedule`` (a 360-month plan). ``--sizes`` sets the sizes of ``throughput`` and ``fanout_scale``.
Each section also runs alone: ``python -m bench.routes [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("routes", "import_time", "throughput", "fanout_scale", "loan_schedule")
TITLES = {"routes": "Routes", "import_time": "Cold start", "throughput": "Import and scheduled jobs",
          "fanout_scale": "Jobs across workers", "loan_schedule": "Loan schedule"}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
    except OSError:
        commit = ""
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(), "commit": commit}


def _loan_schedule(quick: bool) -> dict:
    from bench import loan_schedule

    return loan_schedule.run(40 if quick else 200)


def _loan_markdown(r: dict) -> list[str]:
    return [f"360-month schedule via `POST /v1/tools/loan-calculator`: p50 {r['calculator_p50_ms']:.2f} ms, p99 "
            f"{r['calculator_p99_ms']:.2f} ms; a no-op route p50 {r['noop_p50_ms']:.2f} ms (ratio "
            f"{r['ratio_p50']:.1f}); the rules alone p50 {r['rules_only_p50_ms']:.2f} ms."]


def run_section(name: str, quick: bool, sizes: list[int] | None = None) -> tuple[dict, list[str]]:
    if name == "loan_schedule":
        result = _loan_schedule(quick)
        return result, _loan_markdown(result)
    module = importlib.import_module(f"bench.{name}")
    sized = name in ("throughput", "fanout_scale") and sizes
    result = module.run(quick=quick, sizes=sizes) if sized else module.run(quick=quick)
    return result, module.markdown(result)


def report(results: dict, texts: dict[str, list[str]], info: dict, quick: bool) -> str:
    head = (f"Latest `make bench`{' --quick' if quick else ''}: {info['date']}, {info['nproc']} × {info['cpu']}, "
            f"Python {info['python']}, commit {info['commit'] or '?'} (a shared 2-core machine: compare ratios, "
            "not absolute times).")
    out = [head, ""]
    for name, lines in texts.items():
        out += [f"**{TITLES[name]}** ({results[name].get('_seconds', '?')} s)", "", *lines, ""]
    return "\n".join(out).rstrip() + "\n"


def update_readme(markdown: str, readme: Path = ROOT / "README.md") -> bool:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    readme.write_text(f"{before}{START}\n{markdown}{END}{after}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="gjj benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes and few rounds (a minute or two)")
    parser.add_argument("--readme", action="store_true", help="write the figures into README.md")
    parser.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "out" / "bench"))
    parser.add_argument("--sizes", help="throughput and fanout_scale sizes, e.g. 10000 (default 10000,100000 and "
                                        "10000; --quick 1000)")
    args = parser.parse_args(argv)
    names = [n for n in (args.only.split(",") if args.only else SECTIONS)]
    unknown = set(names) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    info = machine()
    results: dict[str, dict] = {}
    texts: dict[str, list[str]] = {}
    for name in names:
        print(f"== bench.{name}", flush=True)
        started = time.perf_counter()
        sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else None
        results[name], texts[name] = run_section(name, args.quick, sizes)
        results[name]["_seconds"] = round(time.perf_counter() - started)
        print("\n".join(texts[name]), flush=True)
    markdown = report(results, texts, info, args.quick)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"machine": info, "quick": args.quick, **results}, indent=2,
                                                ensure_ascii=False, default=str))
    (out / "latest.md").write_text(markdown, encoding="utf-8")
    print(f"\nwritten: {out / 'latest.json'}, {out / 'latest.md'}")
    if args.readme:
        print("README.md updated" if update_readme(markdown) else "README.md has no bench markers; not updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
