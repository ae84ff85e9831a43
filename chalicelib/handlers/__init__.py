"""HTTP handlers, one module per business area, one function per operation.

``BLUEPRINTS`` lists the modules; each exposes ``api`` (an :class:`~chalicelib.http.api.Api`). app.py does not
import them: it registers every route from :func:`routes` (read from the modules' source) with a view that imports
its module on the route's first request, so a cold start pays for the handlers it serves, not for all of them
(issue 18). :func:`load_all` imports them all (the OpenAPI document, the route registry of tests and benches).
"""

import importlib
import re
from pathlib import Path

BLUEPRINTS = (
    "chalicelib.handlers.meta",
    "chalicelib.handlers.auth",
    "chalicelib.handlers.profile",
    "chalicelib.handlers.reviews",
    "chalicelib.handlers.appointments",
    "chalicelib.handlers.flexible",
    "chalicelib.handlers.uploads",
    "chalicelib.handlers.content",
    "chalicelib.handlers.tools",
    "chalicelib.handlers.me",
    "chalicelib.handlers.messages",
    "chalicelib.handlers.cards",
    "chalicelib.handlers.loans",
    "chalicelib.handlers.certificates",
    "chalicelib.handlers.withdrawals",
    "chalicelib.handlers.loan_services",
    "chalicelib.handlers.hall_auth",
    "chalicelib.handlers.units",
    "chalicelib.handlers.developers",
)

# `@api.route("/path", "METHOD", ...)` (METHOD defaults to GET), then any decorators, then `def name(`.
_ROUTE = re.compile(r'^@api\.route\(\s*"([^"]+)"(?:\s*,\s*"([A-Z]+)")?.*?\)\n(?:@[^\n]*\n)*def (\w+)\(', re.S | re.M)


def routes() -> list[tuple[str, str, str, str]]:
    """(module, method, path, function name) of every route, without importing the modules: a few milliseconds
    against the whole of them. tests/unit/test_cold_start.py checks it against the registry of the imported ones."""
    here = Path(__file__).resolve().parent
    found = []
    for module in BLUEPRINTS:
        source = (here / f"{module.rsplit('.', 1)[1]}.py").read_text(encoding="utf-8")
        found += [(module, method or "GET", path, name) for path, method, name in _ROUTE.findall(source)]
    return found


def load_all() -> None:
    """Import every handler module: their routes are then all in chalicelib.http.api.REGISTRY."""
    for module in BLUEPRINTS:
        importlib.import_module(module)
