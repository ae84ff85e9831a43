"""The rules' refusals (chalicelib/rules/refusals.py) carry no HTTP; the HTTP layer gives them the contract's status.

Expected statuses come from CONTRACT.md section 2 and the routes it lists: validation 400 `VALIDATION_FAILED`;
outside the window 409 `WINDOW_CLOSED`; a period already paid 409 `ALREADY_DONE` (`POST /v1/flexible/remittances`);
not eligible 422 (`POST /v1/auth/register`); `INSUFFICIENT_BALANCE` a business refusal (409 or 422; 422 today).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from chalicelib import errors
from chalicelib.rules import refusals

RULES = pathlib.Path(__file__).resolve().parents[2] / "chalicelib" / "rules"


@pytest.mark.parametrize(("refusal", "code", "status"), [
    (refusals.InvalidField.field("amount", "须大于 0"), "VALIDATION_FAILED", 400),
    (refusals.WindowClosed("当前不在办理时间内"), "WINDOW_CLOSED", 409),
    (refusals.AlreadyDone("202607 已缴存，无需重复缴存"), "ALREADY_DONE", 409),
    (refusals.NotEligible("账户已销户"), "NOT_ELIGIBLE", 422),
    (refusals.InsufficientBalance(), "INSUFFICIENT_BALANCE", 422),
])
def test_a_rule_refusal_gets_the_contract_code_and_status(refusal, code, status):
    assert refusal.body()["error"]["code"] == code
    assert errors.status_of(refusal) == status
    assert errors.headers_of(refusal) == {}


def test_the_envelope_carries_message_and_details():
    refusal = refusals.InvalidField.field("amount", "须大于 0")
    assert refusal.body() == {"error": {"code": "VALIDATION_FAILED", "message": "提交的信息有误，请检查后重试",
                                        "details": {"fields": {"amount": "须大于 0"}}}}


def test_http_errors_keep_their_own_status_and_headers():
    limited = errors.RateLimited(retry_after=30)
    assert (errors.status_of(limited), errors.headers_of(limited)) == (429, {"Retry-After": "30"})
    assert errors.status_of(errors.NotFound()) == 404


def test_services_catching_api_errors_still_catch_rule_refusals():
    with pytest.raises(errors.ApiError):
        raise refusals.NotEligible()
    with pytest.raises(errors.ValidationFailed):
        raise refusals.InvalidField.field("x", "y")


@pytest.mark.parametrize("path", sorted(RULES.glob("*.py")), ids=lambda p: p.name)
def test_no_rule_imports_the_http_errors(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not any(m == "chalicelib.errors" or m.startswith("chalicelib.http") for m in imported), imported
