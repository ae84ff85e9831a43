"""Refusals (不予办理): why the rules say no, in words a citizen understands. Pure: no HTTP, no I/O.

A rule in ``chalicelib/rules`` that refuses raises one of these: the person is not eligible (:class:`NotEligible`),
the business is outside its window (:class:`WindowClosed`), the balance does not cover it
(:class:`InsufficientBalance`), it was done already (:class:`AlreadyDone`), or a field's value is wrong
(:class:`InvalidField`). Each carries the contract's error code (CONTRACT section 2: the word the envelope's
``code`` says), a Chinese message and details. What a refusal means for a transport (an HTTP status, headers) is
said by ``chalicelib/errors.py``, which the HTTP layer uses; the CLI and jobs read the message and details.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A refusal: ``code`` (the contract's), ``message`` (Chinese, for the citizen), ``details`` (a dict)."""

    code = "BAD_REQUEST"
    default_message = "请求有误"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The contract's error envelope: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidField(Refusal):
    """A value is wrong: ``details = {"fields": {name: reason}}``."""

    code, default_message = "VALIDATION_FAILED", "提交的信息有误，请检查后重试"

    @classmethod
    def field(cls, name: str, reason: str, message: str | None = None) -> InvalidField:
        return cls(message, details={"fields": {name: reason}})


class NotEligible(Refusal):
    code, default_message = "NOT_ELIGIBLE", "不符合办理条件"


class WindowClosed(Refusal):
    code, default_message = "WINDOW_CLOSED", "当前不在办理时间内"


class InsufficientBalance(Refusal):
    code, default_message = "INSUFFICIENT_BALANCE", "账户余额不足"


class AlreadyDone(Refusal):
    code, default_message = "ALREADY_DONE", "该业务已办理，无需重复办理"
