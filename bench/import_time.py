"""Cold-start cost of the API: ``import app`` against importing only its four big dependencies, and the first
request of a few routes in a fresh interpreter.

Import time. Each measurement is a fresh interpreter (``python -c``) timing its own import with ``perf_counter``;
the figures are medians of N runs, the two snippets taking turns; the ratio is the median of the N ratios of a run
of each back to back, so that a change of load on a shared machine hits both sides alike. The baseline,
``import chalice, boto3, pynamodb.models, pydantic``, is what any app on this stack pays; the difference is gjj's
own modules (the routes, the jobs, the HTTP layer). Two figures:

* compiled: every module, ours and the dependencies', loads from bytecode (a private ``PYTHONPYCACHEPREFIX``
  under ``out/bench/`` is filled by a first run). That is what a deployment package with compiled modules pays
  (``make package`` compiles chalicelib); the dependencies' own packages always ship compiled;
* source: gjj's modules are compiled from source in each interpreter (``PYTHONDONTWRITEBYTECODE``, no cache):
  a package built without that step, where Lambda's read-only disk keeps Python from caching bytecode.

First request. For each of ``ROUTES``, a fresh interpreter (compiled, as above) imports app, sends the route's
request as an API Gateway event straight to the app (what Lambda does), then sends it five more times: the
figures are the import, the first request and the median of the later ones, medians over N interpreters. The data
(the world of ``tests.support.world``: demo records, personas, sessions) is built beforehand by this process on
DynamoDB Local, so a fresh interpreter pays for nothing but its own first use.

    python -m bench.import_time [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYC_DIR = ROOT / "out" / "bench" / "pycache"
SNIPPETS = {
    "app": "import app",
    "baseline": "import chalice, boto3, pynamodb.models, pydantic",
}
ROUTES = ("GET /v1/health", "POST /v1/auth/login", "GET /v1/me/account", "POST /v1/withdrawals")
LATER = 5
TOKEN_SECRET = "bench-secret-bench-secret-bench-secret-0123"


def _env(compiled: bool, extra: dict | None = None) -> dict:
    env = {**os.environ, "GJJ_STAGE": "local", "GJJ_TOKEN_SECRET": TOKEN_SECRET, "PYTHONDONTWRITEBYTECODE": "1",
           **(extra or {})}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if compiled:
        env["PYTHONPYCACHEPREFIX"] = str(PYC_DIR)
    return env


def _once(snippet: str, compiled: bool) -> float:
    code = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(compiled), capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1]) * 1000


def _compile_cache() -> None:
    """Fill the private bytecode cache: one interpreter allowed to write it imports app and the dependencies."""
    shutil.rmtree(PYC_DIR, ignore_errors=True)
    env = _env(True)
    env.pop("PYTHONDONTWRITEBYTECODE")
    subprocess.run([sys.executable, "-c", f"{SNIPPETS['app']}; {SNIPPETS['baseline']}; import yaml, jwt, "
                    "cryptography.x509, chalicelib.services.certificates"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)


def _imports(n: int, compiled: bool) -> dict:
    for snippet in SNIPPETS.values():      # warm the OS file cache
        _once(snippet, compiled)
    samples: dict[str, list[float]] = {name: [] for name in SNIPPETS}
    for _ in range(n):
        for name, snippet in SNIPPETS.items():
            samples[name].append(_once(snippet, compiled))
    result = {f"{name}_ms": round(statistics.median(values), 1) for name, values in samples.items()}
    result["app_over_baseline_ms"] = round(result["app_ms"] - result["baseline_ms"], 1)
    # the ratio of each pair run back to back, then the median: a load that changes during the run cancels out
    result["ratio"] = round(statistics.median(a / b for a, b in zip(samples["app"], samples["baseline"],
                                                                      strict=True)), 2)
    return result


# A fresh interpreter: the requests come on stdin as API Gateway proxy events.
_CHILD = r"""
import json, statistics, sys, time

events = json.loads(sys.stdin.read())
started = time.perf_counter()
import app
imported = time.perf_counter()


class Context:
    aws_request_id = "bench"
    function_name = "gjj-api"

    def get_remaining_time_in_millis(self):
        return 30_000


times, statuses = [], []
for event in events:
    t = time.perf_counter()
    answer = app.app(event, Context())
    times.append((time.perf_counter() - t) * 1000)
    statuses.append(answer["statusCode"])
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": times[0],
                  "later_ms": statistics.median(times[1:]), "statuses": statuses}))
"""


def _event(req) -> dict:
    headers = {k.lower(): v for k, v in req.all_headers().items()}
    return {"requestContext": {"httpMethod": req.method, "resourcePath": req.path, "path": req.path,
                               "identity": {"sourceIp": "127.0.0.1"}, "requestId": "bench"},
            "headers": headers, "pathParameters": None, "stageVariables": {},
            "multiValueQueryStringParameters": {k: [v] for k, v in req.query.items()} or None,
            "body": json.dumps(req.body) if req.body is not None else None, "isBase64Encoded": False}


def _first_requests(n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="gjj-coldstart-"))
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "GJJ_STAGE": "local", "GJJ_LOCAL_DIR": str(workdir), "GJJ_TOKEN_SECRET": TOKEN_SECRET,
           "GJJ_TABLE_PREFIX": "coldstart-"}
    saved = {k: os.environ.get(k) for k in [*env, "GJJ_DDB_ENDPOINT"]}
    os.environ.update(env)
    from tests.support import ddblocal

    server = ddblocal.start(workdir)
    if server is None:
        return {"error": "DynamoDB Local is not installed: run `make dynamodb-local` first"}
    rows = []
    try:
        os.environ["GJJ_DDB_ENDPOINT"] = env["GJJ_DDB_ENDPOINT"] = server.endpoint
        from chalicelib.store import base

        base.configure()
        base.create_tables()
        from chalicelib import handlers

        handlers.load_all()   # every route in the registry, for the world's requests
        from chalicelib.http.api import REGISTRY
        from tests.support import world as W

        world = W.build()
        by_name = {f"{r.method} {r.path}": r for r in REGISTRY}
        for name in ROUTES:
            runs = []
            for i in range(n):
                events = [_event(W.request_for(by_name[name], world, i * (1 + LATER) + k)[0])
                          for k in range(1 + LATER)]
                out = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=_env(True, env),
                                     input=json.dumps(events), capture_output=True, text=True, timeout=300)
                if out.returncode != 0:
                    raise RuntimeError(f"{name}: {out.stderr[-2000:]}")
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            rows.append({"route": name, **{key: round(statistics.median(r[key] for r in runs), 1)
                                           for key in ("import_ms", "first_ms", "later_ms")},
                         "statuses": sorted({s for r in runs for s in r["statuses"]})})
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"runs": n, "routes": rows}


def run(quick: bool = False, first_requests: bool = True) -> dict:
    n = 3 if quick else 9
    _compile_cache()
    result = {"runs": n, "compiled": _imports(n, compiled=True), "source": _imports(n, compiled=False)}
    if first_requests:   # in a process of its own: `make bench` runs the routes section (moto) in this one
        out = subprocess.run([sys.executable, "-m", "bench.import_time", "--first-json", "3" if quick else "5"],
                             cwd=ROOT, capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise RuntimeError(f"first requests: {out.stderr[-3000:]}")
        result["first"] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def markdown(r: dict) -> list[str]:
    c, s = r["compiled"], r["source"]
    lines = [f"Import time, median of {r['runs']} fresh interpreters (each snippet in turn; ratio: median of the "
             f"back-to-back pairs): `import app` "
             f"**{c['app_ms']} ms** against `import chalice, boto3, pynamodb.models, pydantic` {c['baseline_ms']} ms, "
             f"ratio **{c['ratio']}** (+{c['app_over_baseline_ms']} ms of gjj's own modules and blueprints), every "
             f"module loaded from bytecode as a package built by `make package` ships it; with gjj's modules "
             f"compiled from source in each interpreter: {s['app_ms']} ms against {s['baseline_ms']} ms, ratio "
             f"{s['ratio']}. A route's handler module is imported by its first request, the policy file read and "
             f"validated on first use."]
    first = r.get("first")
    if first and "error" in first:
        lines += ["", f"First request: not measured ({first['error']})."]
    elif first:
        lines += ["", f"First request in a fresh interpreter (API Gateway event to the app, data on DynamoDB Local; "
                  f"medians of {first['runs']} interpreters):", "",
                  "| route | import app ms | first request ms | later requests ms (median of 5) | statuses |",
                  "| --- | ---: | ---: | ---: | --- |"]
        for row in first["routes"]:
            lines.append(f"| `{row['route']}` | {row['import_ms']} | {row['first_ms']} | {row['later_ms']} | "
                         f"{' '.join(str(s) for s in row['statuses'])} |")
    return lines


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if "--first-json" in argv:
        result = _first_requests(int(argv[argv.index("--first-json") + 1]))
        print(json.dumps(result))
        return result
    result = run(quick="--quick" in argv, first_requests="--no-first" not in argv)
    print("\n".join(markdown(result)))
    return result


if __name__ == "__main__":
    main()
