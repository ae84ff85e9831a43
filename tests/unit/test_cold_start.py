"""What `import app` must not load (issue 18: every cold start of the API and of each scheduled function pays for
it). Measured figures are in bench/import_time.py; this guards the causes, in a fresh interpreter."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import app
from chalicelib import policy
from chalicelib.http.api import REGISTRY
models = {m for r in REGISTRY for m in (r.body, r.query, r.response) if isinstance(m, type)}
print(json.dumps({
    "modules": sorted(m for m in ("yaml", "jwt", "cryptography", "reportlab", "captcha", "PIL", "phonenumbers")
                      if m in sys.modules),
    "policy_loaded": policy._load.cache_info().currsize,
    "models": len(models),
    "built": sorted(m.__name__ for m in models if m.__pydantic_complete__),
}))
"""


def _probe() -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"GJJ_STAGE": "local", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_app_loads_no_heavy_library_and_not_the_policy():
    probe = _probe()
    assert probe["modules"] == []          # YAML parser, JWT/cryptography, PDF, captcha, phone data: on first use
    assert probe["policy_loaded"] == 0     # read and validated on first use (tests/unit/test_policy.py)


def test_import_app_builds_no_request_or_response_schema():
    """Request and response models derive from chalicelib.http.schema.BaseModel (defer_build): their validators
    are built by the first request that uses them."""
    probe = _probe()
    assert probe["models"] > 100
    assert probe["built"] == []
