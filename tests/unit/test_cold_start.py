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
from chalicelib import handlers, policy
from chalicelib.http.api import REGISTRY
handlers_imported = sorted(m for m in handlers.BLUEPRINTS if m in sys.modules)
routes = sorted((m, p) for p, methods in app.app.routes.items() for m in methods)
handlers.load_all()
models = {m for r in REGISTRY for m in (r.body, r.query, r.response) if isinstance(m, type)}
print(json.dumps({
    "modules": sorted(m for m in ("yaml", "jwt", "cryptography", "reportlab", "captcha", "PIL", "phonenumbers")
                      if m in sys.modules),
    "policy_loaded": policy._load.cache_info().currsize,
    "models": len(models),
    "built": sorted(m.__name__ for m in models if m.__pydantic_complete__),
    "handlers_imported": handlers_imported,
    "app_routes": routes,
    "registry": sorted({(r.method, r.path) for r in REGISTRY} | {(m, p) for p, ms in app.app.routes.items()
                                                                  for m in ms if not p.startswith("/v1/")}),
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


def test_import_app_registers_every_route_without_importing_a_handler_module():
    """app.py reads the routes from the handlers' source (chalicelib.handlers.routes) and imports a handler module
    on its route's first request: the routes Chalice knows must be exactly those the imported modules declare."""
    probe = _probe()
    assert probe["handlers_imported"] == []
    assert len(probe["app_routes"]) > 100
    assert [list(r) for r in sorted(set(map(tuple, probe["registry"])))] == probe["app_routes"]
