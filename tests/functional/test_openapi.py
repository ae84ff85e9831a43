"""`GET /v1/openapi.json` is a valid OpenAPI 3.1 document listing every registered route."""

import json

import pytest
from openapi_spec_validator import validate

from chalicelib.http.api import REGISTRY


def test_openapi_document_is_valid_and_lists_every_route(aws, client):
    response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.body)
    validate(doc)
    import app  # noqa: F401  (all blueprints registered)

    for route in REGISTRY:
        if route.tags == ("test",):
            continue
        assert route.method.lower() in doc["paths"].get(route.path, {}), f"{route.method} {route.path} missing"


def test_idempotent_routes_declare_the_required_header(aws, client):
    doc = json.loads(client.http.get("/v1/openapi.json").body)
    for route in REGISTRY:
        if route.idempotent and route.tags != ("test",):
            params = doc["paths"][route.path][route.method.lower()]["parameters"]
            assert any(p["name"] == "Idempotency-Key" and p["required"] for p in params)


def test_two_different_models_of_one_name_are_refused_not_silently_merged():
    from chalicelib.http import openapi

    defs = {"UnitOut": {"type": "object", "properties": {"unit_no": {"type": "string"}}}}
    openapi._merge(defs, {"UnitOut": dict(defs["UnitOut"])})            # the same model again: fine
    with pytest.raises(ValueError, match="UnitOut"):
        openapi._merge(defs, {"UnitOut": {"type": "object", "properties": {"name": {"type": "string"}}}})
