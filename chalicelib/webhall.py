"""The personal web hall (个人网厅) page, served by the local server only.

In ``dev``/``prod`` the page is a static site (the ``WebHallBucket`` behind ``WebHallDistribution`` in
deploy/template.py) and this blueprint is not registered. Locally (``make run``) it serves ``GET /`` and
``GET /web/{name}`` from ``web/`` on the API's own port, so the page calls the API on its own origin.

It is a plain Chalice blueprint, not an :class:`~chalicelib.http.api.Api`: the page is not an API operation, so it
stays out of ``/v1/openapi.json`` and the role tests. A name is served only if it is one flat file name of an
allowed type that exists directly in ``web/`` (no separators, no dots but the extension's): path traversal has
nothing to work with.
"""

from __future__ import annotations

import re
from pathlib import Path

from chalice import Blueprint, Response

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml; charset=utf-8",
}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(html|js|css|svg)$")
# The page's own code only; the API is on the same origin; the certificate PDF is shown from a blob: URL.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "frame-src blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

blueprint = Blueprint(__name__)


def _not_found() -> Response:
    return Response(body="Not Found", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})


def serve(name: str) -> Response:
    """The file ``web/<name>`` with its content type, or 404 for anything that is not one of the page's files."""
    match = _NAME.match(name or "")
    if not match:
        return _not_found()
    files = {p.name: p for p in WEB_DIR.iterdir() if p.is_file()} if WEB_DIR.is_dir() else {}
    path = files.get(name)
    if path is None:
        return _not_found()
    return Response(body=path.read_text(encoding="utf-8"), status_code=200, headers={
        "Content-Type": TYPES[match.group(1)], "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"})


@blueprint.route("/", methods=["GET"])
def index() -> Response:
    return serve("index.html")


@blueprint.route("/web/{name}", methods=["GET"])
def web_file(name: str) -> Response:
    return serve(name)
