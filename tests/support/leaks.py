"""The suite-wide masking check (CONTRACT section 2, Masking): unmasked ID numbers, phones and bank-card numbers
fail the test in which they appear, wherever they leave the server:

* every response a test receives through the ``client`` fixture: each header value, and the body when it is JSON
  or text (binary bodies such as PDFs are not text to scan);
* every log and metric line written during any test of the suite (``chalicelib.log.observers``, hooked by an
  autouse fixture in ``tests/conftest.py``).

Cursors are scanned like any other string, without decoding: an encrypted cursor must simply not contain a
number (``tests/security/test_cursor_tampering.py`` also shows its plaintext cannot be read without the key).

* ID numbers: 17 digits and a check character that is right (GB 11643, the one rule in
  ``chalicelib.rules.identity``, itself pinned by known-answer tests);
* phones: ``1[3-9]`` and 9 more digits;
* card numbers: runs of 12 to 19 digits passing the Luhn check.

Each string, number and key of the parsed JSON is scanned (so ``\\u`` escapes hide nothing). A run counts
only when it stands alone (no letter or digit right before or after it), so business serials such as
``HJ2026071509...`` and timestamps are not mistaken for numbers. Nothing is exempt.
"""

from __future__ import annotations

import json
import re

from stdnum import luhn

from chalicelib.rules.identity import id_check_character

_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])\d{12,19}(?![0-9A-Za-z])")


def _id_ok(text: str) -> bool:
    return id_check_character(text[:17]) == text[17].upper()


def leaks(text: str) -> list[str]:
    """Every unmasked ID number, phone or card number in ``text``, described (and itself masked)."""
    found = []
    for m in _ID.finditer(text):
        if _id_ok(m.group()):
            found.append(f"ID number {m.group()[:6]}…{m.group()[-4:]} at {m.start()}")
    for m in _PHONE.finditer(text):
        found.append(f"phone {m.group()[:3]}…{m.group()[-4:]} at {m.start()}")
    for m in _CARD.finditer(text):
        value = m.group()
        if len(value) == 18 and _ID.fullmatch(value) and _id_ok(value):
            continue            # reported above as an ID number
        if luhn.is_valid(value):
            found.append(f"card number {value[:6]}…{value[-4:]} at {m.start()}")
    return found


def _strings(value, out: list[str]) -> list[str]:
    """Every string, number and key inside a parsed JSON document (escapes such as \\u7801 undone)."""
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(str(key))
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)
    elif value is not None and not isinstance(value, bool):
        out.append(str(value))
    return out


def json_leaks(body: bytes) -> list[str] | None:
    """The leaks in a JSON body, or None when the body is not JSON."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return [problem for text in _strings(document, []) for problem in leaks(text)]


def header_leaks(headers) -> list[str]:
    """The leaks in response headers (names and values)."""
    return [f"header {name}: {problem}" for name, value in (headers or {}).items()
            for problem in leaks(f"{name}: {value}")]


def log_leaks(line: str) -> list[str]:
    """The leaks in one log or metric line. A JSON line is scanned string by string (escapes undone), except the
    ``_aws.Timestamp`` of a metric line (EMF): the server's clock in milliseconds, 13 digits that are no one's
    number; any other line is scanned as text."""
    try:
        document = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return leaks(line)
    if isinstance(document, dict) and isinstance(document.get("_aws"), dict):
        document = {**document, "_aws": {k: v for k, v in document["_aws"].items() if k != "Timestamp"}}
    return [problem for text in _strings(document, []) for problem in leaks(text)]


def _content_type(headers) -> str:
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    return str(lowered.get("content-type", "")).lower()


class LeakCheckingHTTP:
    """Wraps chalice's ``TestHTTPClient``: same calls, and each JSON response is scanned before it is returned."""

    def __init__(self, inner):
        self._inner = inner

    def request(self, method: str, path: str, headers=None, body=b""):
        response = self._inner.request(method, path, headers=headers, body=body)
        content_type = _content_type(response.headers)
        problems = header_leaks(response.headers)
        if response.body and (not content_type or "json" in content_type):
            body_problems = json_leaks(response.body)
            if body_problems is None:          # not JSON after all: scan it as text
                body_problems = leaks(response.body.decode("utf-8", "replace"))
            problems += body_problems
        elif response.body and content_type.startswith("text/"):
            problems += leaks(response.body.decode("utf-8", "replace"))
        if problems:
            raise AssertionError(f"unmasked personal data in the response to {method} {path} "
                                 f"(status {response.status_code}): {'; '.join(problems)}")
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def options(self, path, **kwargs):
        return self.request("OPTIONS", path, **kwargs)

    def head(self, path, **kwargs):
        return self.request("HEAD", path, **kwargs)


class LeakCheckingClient:
    """A chalice test ``Client`` whose ``http`` checks every JSON response (``lambda_``/``events`` unchanged)."""

    def __init__(self, inner):
        self._inner = inner
        self.http = LeakCheckingHTTP(inner.http)

    def __getattr__(self, name):
        return getattr(self._inner, name)
