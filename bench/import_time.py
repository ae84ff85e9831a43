"""Cold-start cost of the API module: ``import app`` against importing only its four big dependencies.

Each measurement is a fresh interpreter (``python -c``) timing its own import with ``perf_counter``; the
figure is the median of N runs. The baseline, ``import chalice, boto3, pynamodb.models, pydantic``, is what any
app on this stack pays; the difference is gjj's own modules, the policy file and the blueprints.

    python -m bench.import_time [--quick]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = {
    "app": "import app",
    "baseline": "import chalice, boto3, pynamodb.models, pydantic",
}


def _once(snippet: str) -> float:
    code = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
    env = {**os.environ, "GJJ_STAGE": "local", "GJJ_TOKEN_SECRET": "bench-" * 8, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1]) * 1000


def run(quick: bool = False) -> dict:
    n = 3 if quick else 9
    for snippet in SNIPPETS.values():      # warm the OS file cache and the .pyc files
        _once(snippet)
    result = {"runs": n}
    for name, snippet in SNIPPETS.items():
        samples = [_once(snippet) for _ in range(n)]
        result[f"{name}_ms"] = round(statistics.median(samples), 1)
    result["app_over_baseline_ms"] = round(result["app_ms"] - result["baseline_ms"], 1)
    result["ratio"] = round(result["app_ms"] / result["baseline_ms"], 2)
    return result


def markdown(r: dict) -> list[str]:
    return [f"Import time, median of {r['runs']} fresh interpreters: `import app` **{r['app_ms']} ms**; "
            f"`import chalice, boto3, pynamodb.models, pydantic` {r['baseline_ms']} ms; ratio {r['ratio']} "
            f"(+{r['app_over_baseline_ms']} ms of gjj's own modules, policy and blueprints)."]


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    result = run(quick="--quick" in argv)
    print("\n".join(markdown(result)))
    return result


if __name__ == "__main__":
    main()
