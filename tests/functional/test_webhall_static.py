"""The web hall page as the local server serves it: GET / and GET /web/{name}, with their content types, nothing
outside web/, and none of it in the API's OpenAPI document or route registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def test_index_is_the_page_in_chinese_with_its_own_scripts_only(client):
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.body.decode("utf-8")
    assert '<html lang="zh-CN">' in html and "个人网上业务大厅" in html
    assert 'src="/web/app.js"' in html
    assert "http://" not in html and "https://" not in html       # no CDN: every asset is from this origin
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("name", "content_type"), [
    ("app.js", "text/javascript; charset=utf-8"),
    ("api.js", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("icon.svg", "image/svg+xml; charset=utf-8"),
    ("index.html", "text/html; charset=utf-8"),
])
def test_each_file_of_web_is_served_as_it_is_with_its_type(client, name, content_type):
    response = client.http.get(f"/web/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body == (WEB / name).read_bytes()


def test_every_asset_the_page_imports_is_served_from_web():
    text = "\n".join(p.read_text("utf-8") for p in WEB.iterdir() if p.suffix in (".js", ".html"))
    imports = {line.split('"')[1] for line in text.splitlines() if line.startswith("import ") and '"' in line}
    assert imports == {"./api.js"}
    for name in imports:
        assert (WEB / name.removeprefix("./")).is_file()
    assert "localStorage" not in (WEB / "api.js").read_text("utf-8")   # tokens: sessionStorage, cleared on logout


@pytest.mark.parametrize("path", [
    "/web/../app.py", "/web/..%2Fapp.py", "/web/%2e%2e%2fMakefile", "/web/..", "/web/.env", "/web/app.py",
    "/web/nothing.js", "/web/app.js.map", "/web/ap%00p.js", "/web/%2Fetc%2Fpasswd", "/web/" + "a" * 70 + ".js",
    "/web/webhall.py", "/web/README.md",
])
def test_nothing_outside_web_is_served(client, path):
    response = client.http.get(path)
    assert response.status_code in (403, 404)
    assert b"import" not in response.body and b"root:" not in response.body


def test_the_page_is_not_an_api_operation(aws, client):
    from chalicelib.http.api import REGISTRY

    doc = json.loads(client.http.get("/v1/openapi.json").body)
    assert not [p for p in doc["paths"] if not p.startswith("/v1/")]
    assert not [r for r in REGISTRY if not r.path.startswith("/v1/")]


def test_only_the_local_stage_serves_the_page():
    # dev and prod serve it from the static site (deploy/template.py); the app there has no "/" route
    code = "import app; print(sorted(p for p in app.app.routes if not p.startswith('/v1/')))"
    env = {**os.environ, "GJJ_STAGE": "prod", "GJJ_TOKEN_SECRET": "x" * 40}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    env["GJJ_STAGE"] = "local"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "['/', '/web/{name}']", out.stderr
