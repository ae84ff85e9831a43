"""Service meta routes: the OpenAPI document and a health check."""


from chalicelib import clock, settings
from chalicelib.http.api import PUBLIC, Api, Request
from chalicelib.http.schema import BaseModel

api = Api(__name__, tag="meta")


class Health(BaseModel):
    status: str
    stage: str
    now: str


@api.route("/v1/openapi.json", roles=None, summary="OpenAPI 3.1 document of every route")
def openapi_document(req: Request) -> dict:
    from chalicelib.http import openapi  # lazy: walks every route's models, only when the document is asked for

    return openapi.build()


@api.route("/v1/health", roles=None, response=Health, summary="Liveness and the stage clock")
def health(req: Request) -> Health:
    return Health(status="ok", stage=settings.get().stage, now=clock.iso(req.now))


__all__ = ["api", "PUBLIC"]
