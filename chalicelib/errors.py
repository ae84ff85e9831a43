"""The error envelope of CONTRACT section 2: ``{"error": {"code", "message", "details"}}``.

Services raise these; the HTTP layer turns every one of them (and every pydantic
``ValidationError``) into a 4xx response. Messages are written for citizens, in Chinese.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = "BAD_REQUEST"
    default_message = "请求有误"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        if status is not None:
            self.status = status
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(ApiError):
    status, code, default_message = 400, "VALIDATION_FAILED", "提交的信息有误，请检查后重试"

    @classmethod
    def field(cls, name: str, reason: str, message: str | None = None) -> ValidationFailed:
        return cls(message, details={"fields": {name: reason}})


class Unauthenticated(ApiError):
    status, code, default_message = 401, "UNAUTHENTICATED", "请先登录"


class Forbidden(ApiError):
    status, code, default_message = 403, "FORBIDDEN", "无权访问"


class NotFound(ApiError):
    status, code, default_message = 404, "NOT_FOUND", "未找到"


class MethodNotAllowed(ApiError):
    status, code, default_message = 405, "METHOD_NOT_ALLOWED", "不支持的请求方法"


class Conflict(ApiError):
    status, code, default_message = 409, "CONFLICT", "数据已被修改，请刷新后重试"


class RateLimited(ApiError):
    status, code, default_message = 429, "RATE_LIMITED", "操作过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int, details: dict | None = None):
        super().__init__(message, details={"retry_after": retry_after, **(details or {})},
                         headers={"Retry-After": str(max(1, int(retry_after)))})


class WindowClosed(ApiError):
    status, code, default_message = 409, "WINDOW_CLOSED", "当前不在办理时间内"


class NotEligible(ApiError):
    status, code, default_message = 422, "NOT_ELIGIBLE", "不符合办理条件"


class InsufficientBalance(ApiError):
    status, code, default_message = 422, "INSUFFICIENT_BALANCE", "账户余额不足"


class AlreadyDone(ApiError):
    status, code, default_message = 409, "ALREADY_DONE", "该业务已办理，无需重复办理"


class PaymentDeclined(ApiError):
    """The bank declined a debit or payout; the business record shows the bank's reason."""

    status, code, default_message = 422, "PAYMENT_DECLINED", "银行扣款未成功"


class SmsCodeInvalid(ApiError):
    status, code, default_message = 400, "SMS_CODE_INVALID", "短信验证码错误或已失效"


class CaptchaRequired(ApiError):
    status, code, default_message = 400, "CAPTCHA_REQUIRED", "请输入图形验证码"


class AccountLocked(ApiError):
    status, code, default_message = 423, "ACCOUNT_LOCKED", "账户已锁定，请稍后再试"


class IdempotencyKeyReused(ApiError):
    status, code, default_message = 422, "IDEMPOTENCY_KEY_REUSED", "该请求编号已用于另一笔不同的请求"


class IdempotencyKeyMissing(ApiError):
    status, code, default_message = 400, "IDEMPOTENCY_KEY_MISSING", "缺少 Idempotency-Key 请求头"


class InProgress(ApiError):
    status, code, default_message = 409, "IN_PROGRESS", "相同的请求正在处理中，请稍候"


class ServiceUnavailable(ApiError):
    status, code, default_message = 503, "SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后重试"


class PayloadTooLarge(ApiError):
    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "提交的内容过大"


class UnsupportedMediaType(ApiError):
    status, code, default_message = 415, "UNSUPPORTED_MEDIA_TYPE", "请以 JSON 格式提交"


def validation_details(exc: Any) -> dict[str, dict[str, str]]:
    """Turn a pydantic ValidationError into ``{"fields": {"a.b": "reason"}}``."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "body"
        kind = err.get("type", "")
        msg = err.get("msg", "invalid")
        if kind == "missing":
            reason = "必填"
        elif kind == "extra_forbidden":
            reason = "不允许的字段"
        elif kind.startswith("value_error"):
            reason = msg.removeprefix("Value error, ")
        else:
            reason = msg
        fields.setdefault(loc, reason)
    return {"fields": fields}
