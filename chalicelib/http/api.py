"""Routes with their contract attached: role, request/response models, idempotency, step-up.

A handler is a plain function ``(req: Request, **path_params) -> model | dict | list | None``;
:class:`Api` wraps it so that every route shares one way of parsing input, checking tokens,
shaping errors and storing idempotent outcomes. The registry feeds ``/v1/openapi.json`` and the
table-driven role tests.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib import clock, errors, log, masking
from chalicelib.http import auth as auth_mod
from chalicelib.http import idempotency

logger = log.get("http")

PUBLIC: tuple[str, ...] = ()
MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_JSON_DEPTH = 64                 # deeper JSON is refused before parsing (no business document nests past ~5)
MAX_PATH_PARAM_BYTES = 256          # a path parameter becomes part of a DynamoDB key (limits 1 KB / 2 KB)
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass
class Route:
    method: str
    path: str
    name: str
    roles: tuple[str, ...] | None      # None: public
    op_roles: tuple[str, ...] | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    idempotent: bool
    step_up: bool
    summary: str
    tags: tuple[str, ...]
    produces: str = "application/json"
    optional_auth: bool = False
    errors: tuple[int, ...] = ()
    cache_control: str | None = None   # sent with successful responses, e.g. "public, max-age=300"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


REGISTRY: list[Route] = []


@dataclass
class Request:
    """What a handler gets: the parsed input, who is calling, and "now" (China time)."""

    route: Route
    principal: auth_mod.Principal | None
    body: Any
    query: Any
    path: dict[str, str]
    headers: Mapping[str, str]
    now: datetime
    source_ip: str
    idempotency_key: str | None = None
    raw_body: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        if self.principal is None:
            raise errors.Unauthenticated()
        return self.principal.subject

    def scope(self, name: str = "") -> str:
        """A string naming (caller, route[, name]): for cursors and idempotent serials."""
        who = self.principal.subject if self.principal else "anon"
        return f"{who}|{self.route.method} {self.route.path}|{name}"


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    if body is None and status == 204:
        return Response(body="", status_code=204, headers=hdrs)
    return Response(body=json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    headers=hdrs)


def error_response(exc: errors.ApiError, headers: dict[str, str] | None = None) -> Response:
    return _json_response(errors.status_of(exc), exc.body(), {**errors.headers_of(exc), **(headers or {})})


def to_jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    if isinstance(result, list):
        return [to_jsonable(item) for item in result]
    if isinstance(result, dict):
        return {k: to_jsonable(v) for k, v in result.items()}
    return result


def _parse_body(route: Route, raw: bytes | None) -> Any:
    if route.body is None:
        return None
    if raw and len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge()
    if raw and _too_deep(raw):
        raise errors.ValidationFailed("请求内容嵌套过深", details={"fields": {"body": "JSON 嵌套层数过多"}})
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.ValidationFailed("请求内容不是有效的 JSON", details={"fields": {"body": "无效的 JSON"}}) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise errors.ValidationFailed(details={"fields": {"body": "须为 JSON 对象"}})
    try:
        return route.body.model_validate(data)
    except ValidationError as exc:
        raise errors.ValidationFailed(details=errors.validation_details(exc)) from None


def _too_deep(raw: bytes) -> bool:
    """True when brackets outside strings nest deeper than MAX_JSON_DEPTH (``"["*50000`` would exhaust the
    recursion of the JSON parser and of validation). One pass over the bytes, no parsing."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:          # backslash
                escaped = True
            elif byte == 0x22:          # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):      # [ {
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def request_id(value: str | None) -> str:
    """The caller's ``X-Request-Id`` when it is 1-64 letters, digits and hyphens and no ID number or phone
    (it is echoed and logged whole); otherwise a new one, so CR/LF, 20 KB values and personal data never get in."""
    if value and REQUEST_ID.fullmatch(value) and masking.scrub(value) == value:
        return value
    return uuid.uuid4().hex.translate(_LETTERS)     # letters only: never read as a card or phone number


_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def _check_path(path_params: Mapping[str, str]) -> None:
    for name, value in path_params.items():
        if len(str(value).encode("utf-8")) > MAX_PATH_PARAM_BYTES:
            raise errors.ValidationFailed(details={"fields": {name: f"过长（至多 {MAX_PATH_PARAM_BYTES} 字节）"}})


def _parse_query(route: Route, params: Mapping[str, str] | None) -> Any:
    if route.query is None:
        return None
    try:
        return route.query.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise errors.ValidationFailed(details=errors.validation_details(exc)) from None


def _shape(route: Route, result: Any) -> tuple[int, Any, dict[str, str]]:
    if isinstance(result, Response):
        raise TypeError("return Response objects only from binary routes")
    if result is None:
        return 204, None, {}
    return route.status, to_jsonable(result), {}


def dispatch(route: Route, fn: Callable[..., Any], request: Any, path_params: dict[str, str]) -> Response:
    started = time.perf_counter()
    headers = request.headers or {}
    cid = request_id(headers.get("x-request-id") or (request.context or {}).get("requestId"))
    token = log.correlation_id.set(cid)
    auth_mod.forget_caller()
    out_headers = {"X-Request-Id": cid}
    status = 500
    try:
        _check_path(path_params)
        now = clock.now()
        principal = None
        if route.roles is not None:
            principal = auth_mod.authenticate(headers.get("authorization"), now=now)
            auth_mod.authorize(principal, route.roles, route.op_roles)
        elif route.optional_auth and headers.get("authorization"):
            principal = auth_mod.authenticate(headers.get("authorization"), now=now)
        raw = request.raw_body if route.body is not None else None
        req = Request(
            route=route,
            principal=principal,
            body=_parse_body(route, raw),
            query=_parse_query(route, request.query_params),
            path=dict(path_params),
            headers=headers,
            now=now,
            source_ip=((request.context or {}).get("identity") or {}).get("sourceIp") or "",
            raw_body=raw,
        )
        if route.step_up:
            auth_mod.verify_step_up(headers.get("x-step-up-token"), principal, now=now)
        if route.idempotent:
            key = idempotency.validate_key(headers.get("idempotency-key"))
            req.idempotency_key = key

            def call() -> tuple[int, Any, dict[str, str]]:
                try:
                    return _shape(route, fn(req, **path_params))
                except errors.ApiError as exc:
                    return errors.status_of(exc), exc.body(), errors.headers_of(exc)

            (status, body, extra), replayed = idempotency.run(
                scope=req.scope(), key=key,
                req_hash=idempotency.request_hash(route.method, route.path.format(**path_params), raw,
                                                  request.query_params),
                now=now, call=call)
            if replayed:
                out_headers["Idempotent-Replayed"] = "true"
            return _json_response(status, body, {**extra, **out_headers})
        result = fn(req, **path_params)
        if isinstance(result, Response):
            status = result.status_code
            result.headers = {**(result.headers or {}), **out_headers}
            return result
        status, body, extra = _shape(route, result)
        if route.cache_control and status < 300:
            extra["Cache-Control"] = route.cache_control
        return _json_response(status, body, {**extra, **out_headers})
    except errors.ApiError as exc:
        status = errors.status_of(exc)
        return error_response(exc, out_headers)
    except Exception as exc:
        from chalicelib.store.transient import is_transient

        if is_transient(exc):   # throttled, conflicting or unanswered DynamoDB call: "try again", not a 500
            logger.warning("transient storage failure", extra={"fields": {"route": f"{route.method} {route.path}",
                                                                         "error": type(exc).__name__}})
            status = 503
            return error_response(errors.ServiceUnavailable(headers={"Retry-After": "1"}), out_headers)
        logger.exception("unhandled error", extra={"fields": {"route": f"{route.method} {route.path}"}})
        status = 500
        return _json_response(500, {"error": {"code": "INTERNAL", "message": "系统繁忙，请稍后再试",
                                              "details": {"request_id": cid}}}, out_headers)
    finally:
        log.event(logger, "request", route=f"{route.method} {route.path}", status=status,
                  ms=round((time.perf_counter() - started) * 1000, 1))
        if 400 <= status < 500 and status not in (401, 404):
            log.metric("Refusals", route=route.name, status=str(status))
        log.correlation_id.reset(token)
        auth_mod.forget_caller()


class Api:
    """A Chalice blueprint whose routes carry their contract. One per business area."""

    def __init__(self, import_name: str, *, tag: str, registry: list[Route] | None = None):
        self.blueprint = Blueprint(import_name)
        self.tag = tag
        self.registry = REGISTRY if registry is None else registry
        self.views: dict[tuple[str, str], tuple[Route, Callable[..., Any]]] = {}   # (method, path) -> route, fn

    def route(self, path: str, method: str = "GET", *, roles: tuple[str, ...] | None,
              op_roles: tuple[str, ...] | None = None, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
              idempotent: bool = False, step_up: bool = False, summary: str = "",
              produces: str = "application/json", optional_auth: bool = False,
              errors: tuple[int, ...] = (), cache_control: str | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a route. ``cache_control`` is the ``Cache-Control`` header of its successful responses
        (for public, cacheable reads such as notices and rates; never for a caller's own data)."""
        if cache_control and (idempotent or roles is not None or optional_auth):
            raise ValueError("cache_control is for public reads only")

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            route = Route(method=method.upper(), path=path, name=fn.__name__, roles=roles, op_roles=op_roles,
                          body=body, query=query, response=response, status=status, idempotent=idempotent,
                          step_up=step_up, summary=summary or (fn.__doc__ or "").strip().split("\n")[0],
                          tags=(self.tag,), produces=produces, optional_auth=optional_auth, errors=errors,
                          cache_control=cache_control)
            self.registry.append(route)
            self.views[(route.method, path)] = (route, fn)
            blueprint = self.blueprint

            def view(**path_params: str) -> Response:
                return dispatch(route, fn, blueprint.current_request, path_params)

            view.__name__ = fn.__name__
            view.__doc__ = fn.__doc__
            blueprint.route(path, methods=[route.method], content_types=["application/json"])(view)
            fn.route = route  # type: ignore[attr-defined]
            return fn

        return decorator
