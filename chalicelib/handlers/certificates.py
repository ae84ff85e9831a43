"""The deposit certificate (缴存证明): my certificate as a PDF, and its public verification by code.

``GET /v1/me/certificate`` answers ``application/pdf``; the client asks for it with ``Accept: application/pdf``
(or ``*/*``), as API Gateway needs to send binary bodies. See :mod:`chalicelib.services.deposit_certificates`.
"""

from __future__ import annotations

from chalice import Response
from pydantic import ConfigDict, Field

from chalicelib import errors
from chalicelib.fields import RecordKey
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.schema import BaseModel
from chalicelib.services import deposit_certificates

api = Api(__name__, tag="certificates")
PDF = "application/pdf"


class NotAcceptable(errors.HttpError):
    status, code, default_message = 406, "NOT_ACCEPTABLE", "缴存证明为 PDF 文件，请以 Accept: application/pdf 请求"


class CertificateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_no: RecordKey | None = None


class VerificationOut(BaseModel):
    code: str
    center_name: str
    name: str = Field(description="masked: the first character only")
    id_number: str = Field(description="masked as the certificate shows it")
    account_no: str
    kind: str
    status: str
    unit_name: str
    base: str
    monthly_amount: str
    balance: str
    paid_through: str
    opened_on: str
    issued_on: str
    valid_until: str


def _accepts_pdf(accept: str | None) -> bool:
    parts = {p.split(";")[0].strip().lower() for p in (accept or "").split(",")}
    return bool(parts & {PDF, "*/*"})


@api.route("/v1/me/certificate", roles=(auth.DEPOSITOR,), query=CertificateQuery, produces=PDF,
           errors=(404, 406), summary="My deposit certificate (缴存证明) as a PDF with a verification code")
def my_certificate(req: Request) -> Response:
    if not _accepts_pdf(req.headers.get("accept")):
        raise NotAcceptable()
    issued = deposit_certificates.issue(auth.caller_id_number(req.subject), account_no=req.query.account_no,
                                        now=req.now)
    return Response(body=issued.pdf, status_code=200, headers={
        "Content-Type": PDF, "Cache-Control": "no-store", "X-Certificate-Code": issued.code,
        "Content-Disposition": f'attachment; filename="deposit-certificate-{issued.code}.pdf"'})


@api.route("/v1/certificates/{code}", roles=None, response=VerificationOut, errors=(404,),
           summary="Verify a deposit certificate by its code (缴存证明查验); no login")
def verify_certificate(req: Request, code: str) -> VerificationOut:
    return VerificationOut(**deposit_certificates.verify(code, req.now))
