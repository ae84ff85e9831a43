"""Uploads (材料上传): a presigned S3 POST for an ID photo or a document."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.services import uploads

api = Api(__name__, tag="uploads")


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Literal["id_front", "id_back", "face", "material"]
    content_type: str = Field(..., min_length=3, max_length=100)


class UploadOut(BaseModel):
    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: str


@api.route("/v1/uploads", "POST", roles=None, optional_auth=True, body=UploadIn, response=UploadOut, status=201,
           summary="A presigned POST for one file (ID photos need no login: the opening application has none)")
def create_upload(req: Request) -> UploadOut:
    owner = uploads.owner_of(req.principal.role, req.principal.subject) if req.principal else None
    return UploadOut(**uploads.issue(purpose=req.body.purpose, content_type=req.body.content_type, owner=owner,
                                     now=req.now))
