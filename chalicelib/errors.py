"""The error envelope of CONTRACT section 2: ``{"error": {"code", "message", "details"}}``.

Rules raise refusals (``chalicelib/rules/refusals.py``, no HTTP in them); services raise those and the HTTP errors
here. The HTTP layer turns every one of them (and every pydantic ``ValidationError``) into a 4xx response with
:func:`status_of` and :func:`headers_of`. Messages are written for citizens, in Chinese.
"""

from __future__ import annotations

from typing import Any

from chalicelib.rules.refusals import AlreadyDone, InsufficientBalance, NotEligible, Refusal, WindowClosed
from chalicelib.rules.refusals import InvalidField as ValidationFailed

ApiError = Refusal
"""Every error the envelope carries: the rules' refusals (``chalicelib/rules/refusals.py``: ``ValidationFailed``,
``NotEligible``, ``WindowClosed``, ``InsufficientBalance``, ``AlreadyDone``) and the HTTP layer's own below."""

STATUS: dict[type[Refusal], int] = {ValidationFailed: 400, WindowClosed: 409, AlreadyDone: 409, NotEligible: 422,
                                    InsufficientBalance: 422}
"""The HTTP status of each refusal of the rules (CONTRACT section 2)."""


class HttpError(Refusal):
    """A refusal of the HTTP layer or a service (authentication, rate limits, conflicts…): its own status and
    headers."""

    status = 400

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message, details=details)
        if status is not None:
            self.status = status
        self.headers = headers or {}


def status_of(exc: Refusal) -> int:
    """The HTTP status of a refusal: its own (an :class:`HttpError`, or a subclass that says one), else the
    contract's for a rule's refusal (:data:`STATUS`), else 400."""
    own = getattr(exc, "status", None)
    if isinstance(own, int):
        return own
    return next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 400)


def headers_of(exc: Refusal) -> dict[str, str]:
    return getattr(exc, "headers", None) or {}


class Unauthenticated(HttpError):
    status, code, default_message = 401, "UNAUTHENTICATED", "请先登录"


class Forbidden(HttpError):
    status, code, default_message = 403, "FORBIDDEN", "无权访问"


class NotFound(HttpError):
    status, code, default_message = 404, "NOT_FOUND", "未找到"


class MethodNotAllowed(HttpError):
    status, code, default_message = 405, "METHOD_NOT_ALLOWED", "不支持的请求方法"


class Conflict(HttpError):
    status, code, default_message = 409, "CONFLICT", "数据已被修改，请刷新后重试"


class RateLimited(HttpError):
    status, code, default_message = 429, "RATE_LIMITED", "操作过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int, details: dict | None = None):
        super().__init__(message, details={"retry_after": retry_after, **(details or {})},
                         headers={"Retry-After": str(max(1, int(retry_after)))})


class PaymentDeclined(HttpError):
    """The bank declined a debit or payout; the business record shows the bank's reason."""

    status, code, default_message = 422, "PAYMENT_DECLINED", "银行扣款未成功"


class SmsCodeInvalid(HttpError):
    status, code, default_message = 400, "SMS_CODE_INVALID", "短信验证码错误或已失效"


class CaptchaRequired(HttpError):
    status, code, default_message = 400, "CAPTCHA_REQUIRED", "请输入图形验证码"


class AccountLocked(HttpError):
    status, code, default_message = 423, "ACCOUNT_LOCKED", "账户已锁定，请稍后再试"


class IdempotencyKeyReused(HttpError):
    status, code, default_message = 422, "IDEMPOTENCY_KEY_REUSED", "该请求编号已用于另一笔不同的请求"


class IdempotencyKeyMissing(HttpError):
    status, code, default_message = 400, "IDEMPOTENCY_KEY_MISSING", "缺少 Idempotency-Key 请求头"


class InProgress(HttpError):
    status, code, default_message = 409, "IN_PROGRESS", "相同的请求正在处理中，请稍候"


class ServiceUnavailable(HttpError):
    status, code, default_message = 503, "SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后重试"


class PayloadTooLarge(HttpError):
    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "提交的内容过大"


class UnsupportedMediaType(HttpError):
    status, code, default_message = 415, "UNSUPPORTED_MEDIA_TYPE", "请以 JSON 格式提交"


def validation_details(exc: Any) -> dict[str, dict[str, str]]:
    """Turn a pydantic ValidationError into ``{"fields": {"a.b": "reason"}}``."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "body"
        kind = err.get("type", "")
        msg = err.get("msg", "invalid")
        if kind.startswith("value_error") or kind == "assertion_error":
            reason = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        else:
            reason = _reason_in_chinese(kind, err.get("ctx") or {})
        fields.setdefault(loc, reason)
    return {"fields": fields}


# pydantic's error types, said in Chinese (a citizen reads these; pydantic's own messages are English).
_REASONS = {
    "missing": "必填", "extra_forbidden": "不允许的字段",
    "string_type": "须为文本", "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "须为整数", "int_parsing": "须为整数", "int_from_float": "须为整数",
    "bool_type": "须为 true 或 false", "bool_parsing": "须为 true 或 false",
    "greater_than": "须大于 {gt}", "greater_than_equal": "不能小于 {ge}", "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}", "literal_error": "须为以下之一：{expected}", "enum": "须为以下之一：{expected}",
    "date_type": "日期格式须为 YYYY-MM-DD", "date_parsing": "日期格式须为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式须为 YYYY-MM-DD", "date_from_datetime_inexact": "日期格式须为 YYYY-MM-DD",
    "datetime_type": "时间格式不正确", "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "list_type": "须为数组", "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "dict_type": "须为对象", "model_type": "须为对象", "model_attributes_type": "须为对象",
    "json_invalid": "不是有效的 JSON", "json_type": "不是有效的 JSON",
}


def _reason_in_chinese(kind: str, ctx: dict) -> str:
    template = _REASONS.get(kind)
    if template is None:
        return "填写有误"
    try:
        return template.format(**{k: str(v).replace("' or '", "'、'").replace("', '", "'、'") for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：: ") or "填写有误"
