"""OpenAPI 3.1 from the route registry and the pydantic models (``GET /v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from chalicelib.http.api import REGISTRY, Route

REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z_]+$"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

_STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad request",
    401: "Not authenticated", 403: "Forbidden", 404: "Not found", 409: "Conflict",
    413: "Payload too large", 415: "Unsupported media type", 422: "Refused", 423: "Locked",
    429: "Too many requests", 503: "Unavailable",
}


def _merge(defs: dict[str, Any], new: dict[str, Any]) -> None:
    """Add component schemas; two different models of one name would silently replace each other (each route's
    schema is generated on its own), so that is refused: name the models apart."""
    for name, schema in new.items():
        if name in defs and defs[name] != schema:
            raise ValueError(f"two different models are both named {name!r}; rename one (OpenAPI components)")
        defs[name] = schema


def _schema_of(tp: Any, defs: dict[str, Any], mode: str) -> dict[str, Any]:
    if tp is None:
        return {}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        _, top = models_json_schema([(tp, mode)], ref_template=REF)
        _merge(defs, top.get("$defs", {}))
        return {"$ref": REF.format(model=tp.__name__)}
    schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)
    _merge(defs, schema.pop("$defs", {}))
    return schema


def _query_parameters(route: Route, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if route.query is None:
        return []
    schema = route.query.model_json_schema(ref_template=REF, by_alias=True)
    _merge(defs, schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(route: Route, defs: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{route.name}",
        "summary": route.summary or route.name,
        "tags": list(route.tags),
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1,
                                                                     "maxLength": 128}}
            for p in route.path_params
        ] + _query_parameters(route, defs),
    }
    if route.idempotent:
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": True,
                                 "schema": {"type": "string", "minLength": 1, "maxLength": 64,
                                            "pattern": "^[\\x21-\\x7e]+$"}})
    if route.step_up:
        op["parameters"].append({"name": "X-Step-Up-Token", "in": "header", "required": True,
                                 "schema": {"type": "string"}})
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema_of(route.body, defs, "validation")}}}
    ok: dict[str, Any] = {"description": _STATUS_TEXT.get(route.status, "OK")}
    if route.status != 204:
        if route.produces == "application/json":
            ok["content"] = {"application/json": {"schema": _schema_of(route.response, defs, "serialization")
                                                  or {"type": "object"}}}
        else:
            ok["content"] = {route.produces: {"schema": {"type": "string", "format": "binary"}}}
    if route.cache_control:
        ok["headers"] = {"Cache-Control": {"schema": {"type": "string", "examples": [route.cache_control]}}}
    responses: dict[str, Any] = {str(route.status): ok}
    codes = {400} | set(route.errors)
    if route.roles is not None:
        codes |= {401, 403}
        op["security"] = [{"bearer": []}]
    if route.idempotent:
        codes |= {409, 422}
    for code in sorted(codes):
        responses[str(code)] = {"description": _STATUS_TEXT.get(code, "Error"),
                                "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    op["responses"] = responses
    return op


def build(title: str = "gjj: 住房公积金 online services", version: str = "1.0.0") -> dict[str, Any]:
    defs: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    from chalicelib import handlers

    handlers.load_all()   # app.py imports a handler module on its first request; the document describes them all
    for route in sorted(REGISTRY, key=lambda r: (r.path, r.method)):
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, defs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Housing Provident Fund (住房公积金) online-services API. Money is a decimal "
                                "string with two places; errors use one envelope."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
