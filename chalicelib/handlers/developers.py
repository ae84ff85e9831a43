"""The developer web hall (开发商网厅): projects (项目录入), buildings (楼栋录入), supplementary materials
(补充项目材料) and buyers' loan applications (贷款申请), all reviewed through ``/v1/admin/reviews``; and the
center's registration of developers.

The caller is a developer logged in with its certificate (role ``developer``, subject = the developer number).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from chalicelib import money
from chalicelib.fields import Card, Code, CreditCode, IdNumber, Mobile, OrgName, PersonName
from chalicelib.handlers.hall_business import HallBusinessOut, HallBusinessPage, business_page
from chalicelib.http import auth
from chalicelib.http.api import Api, Request
from chalicelib.http.idempotency import request_serial
from chalicelib.http.pagination import PageQuery, envelope
from chalicelib.http.schema import BaseModel
from chalicelib.masking import MaskedCard, MaskedId, MaskedPhone
from chalicelib.money import Money, MoneyOut
from chalicelib.services import developers
from chalicelib.store.business import BusinessRecord
from chalicelib.store.developers import Building, Project
from chalicelib.store.loans import stages_of

api = Api(__name__, tag="developers")
DEV = (auth.DEVELOPER,)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _upload_ids(value: list[str]) -> list[str]:
    for upload_id in value:
        if not upload_id or len(upload_id) > 64 or not upload_id.replace("_", "").replace("-", "").isalnum():
            raise ValueError("上传编号无效")
    return list(dict.fromkeys(value))


class DeveloperIn(_In):
    developer_no: Code
    name: OrgName = Field(min_length=1, max_length=100)
    credit_code: CreditCode
    contact_name: PersonName = Field(min_length=1, max_length=40)
    contact_phone: Mobile


class DeveloperOut(BaseModel):
    developer_no: str
    name: str
    credit_code: str
    contact_name: str
    contact_phone: MaskedPhone
    status: str


class ProjectIn(_In):
    name: OrgName = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=200)
    presale_permit_no: str = Field(min_length=1, max_length=60, description="预售许可证号")
    land_certificate_no: str | None = Field(default=None, min_length=1, max_length=60, description="土地使用证号")
    material_uploads: list[str] = Field(default_factory=list, max_length=20,
                                        description="upload ids (purpose material)")

    @field_validator("material_uploads")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        return _upload_ids(value)


class ProjectOut(BaseModel):
    project_no: str
    serial_no: str
    name: str
    address: str
    presale_permit_no: str
    land_certificate_no: str | None
    status: str
    opinion: str | None
    materials: list[str]
    created_at: str

    @classmethod
    def of(cls, p: Project) -> ProjectOut:
        return cls(project_no=p.project_no, serial_no=p.serial_no, name=p.name, address=p.address,
                   presale_permit_no=p.presale_permit_no, land_certificate_no=p.land_certificate_no, status=p.status,
                   opinion=p.opinion, materials=list(p.materials or []), created_at=p.created_at)


class ProjectPage(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None


class BuildingIn(_In):
    building_no: Code
    name: OrgName = Field(min_length=1, max_length=60)
    floors: int = Field(ge=1, le=200)
    houses: int = Field(ge=1, le=10_000, description="套数")


class BuildingOut(BaseModel):
    project_no: str
    building_no: str
    serial_no: str
    name: str
    floors: int
    houses: int
    status: str
    opinion: str | None

    @classmethod
    def of(cls, b: Building) -> BuildingOut:
        return cls(project_no=b.project_no, building_no=b.building_no, serial_no=b.serial_no, name=b.name,
                   floors=int(b.floors), houses=int(b.houses), status=b.status, opinion=b.opinion)


class BuildingPage(BaseModel):
    items: list[BuildingOut]
    next_cursor: str | None


class MaterialsIn(_In):
    upload_ids: list[str] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=200)

    @field_validator("upload_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        return _upload_ids(value)


class BuyerIn(_In):
    name: PersonName = Field(min_length=1, max_length=40)
    id_number: IdNumber
    phone: Mobile



class LoanApplicationIn(_In):
    buyer: BuyerIn
    project_no: Code
    building_no: Code
    house_no: str = Field(min_length=1, max_length=20, description="房号")
    price: Money = Field(description="房价")
    principal: Money = Field(description="贷款金额")
    term_months: int = Field(ge=1, le=600)
    method: Literal["equal_installment", "equal_principal"]
    first_home: bool = True
    bank: str = Field(min_length=1, max_length=60, description="承办银行")
    repay_account: Card = Field(pattern=r"^\d{12,19}$", description="还款账户 (bank card)")


class ApplicationStageOut(BaseModel):
    code: str
    name: str
    state: str
    at: str | None
    note: str | None


class LoanApplicationOut(BaseModel):
    serial_no: str
    status: str
    submitted_at: str
    decided_at: str | None
    opinion: str | None
    buyer_name: str
    buyer_id_number: MaskedId
    project_no: str
    building_no: str
    house_no: str
    price: MoneyOut
    principal: MoneyOut
    term_months: int
    method: str
    annual_rate: str
    bank: str
    repay_account: MaskedCard
    contract_no: str | None
    stages: list[ApplicationStageOut]

    @classmethod
    def of(cls, record: BusinessRecord, loan) -> LoanApplicationOut:
        d = record.details.as_dict() if record.details else {}
        if loan is not None:
            stages = [ApplicationStageOut(**s) for s in stages_of(loan)]
        else:
            state = {"submitted": "current", "rejected": "rejected", developers.AWAITING_BUYER: "pending",
                     developers.BUYER_DECLINED: "cancelled"}.get(record.status, "done")
            stages = [ApplicationStageOut(code="applied", name="贷款申请", state="done", at=record.submitted_at,
                                          note=None),
                      ApplicationStageOut(code="reviewed", name="中心审批", state=state, at=record.decided_at,
                                          note=record.opinion)]
        return cls(serial_no=record.serial_no, status=record.status, submitted_at=record.submitted_at,
                   decided_at=record.decided_at, opinion=record.opinion, buyer_name=d.get("buyer_name", ""),
                   buyer_id_number=d.get("buyer_id_number", ""), project_no=d.get("project_no", ""),
                   building_no=d.get("building_no", ""), house_no=d.get("house_no", ""),
                   price=money.parse(d.get("price", "0.00")), principal=money.parse(d.get("principal", "0.00")),
                   term_months=int(d.get("term_months", 0)), method=d.get("method", ""),
                   annual_rate=d.get("annual_rate", ""), bank=d.get("bank", ""),
                   repay_account=d.get("repay_account", ""), contract_no=d.get("contract_no"), stages=stages)


# ---------------------------------------------------------------- the center registers developers


@api.route("/v1/admin/developers", "POST", roles=(auth.OPERATOR,), op_roles=(auth.ADMIN,), body=DeveloperIn,
           response=DeveloperOut, status=201, errors=(409,),
           summary="Register a developer (开发企业登记) before issuing its certificate")
def register_developer(req: Request) -> DeveloperOut:
    b = req.body
    d = developers.register_developer(developer_no=b.developer_no, name=b.name, credit_code=b.credit_code,
                                      contact_name=b.contact_name, contact_phone=b.contact_phone,
                                      operator=req.subject, now=req.now)
    return DeveloperOut(developer_no=d.developer_no, name=d.name, credit_code=d.credit_code,
                        contact_name=d.contact_name, contact_phone=d.contact_phone, status=d.status)


class DisbursementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disbursed_on: dt.date | None = None       # the day the bank paid the loan out; today when absent


class DisbursedOut(BaseModel):
    contract_no: str
    status: str
    disbursed_on: str
    repayment_day: int
    stages: list[ApplicationStageOut]


@api.route("/v1/admin/loans/{contract_no}/disbursement", "POST", roles=(auth.OPERATOR,),
           op_roles=(auth.REVIEWER, auth.ADMIN), body=DisbursementIn, response=DisbursedOut, errors=(404, 409, 422),
           summary="Record that an approved loan was paid out (贷款发放): repayment starts, the buyer is told")
def disburse(req: Request, contract_no: str) -> DisbursedOut:
    loan = developers.disburse(contract_no, on=req.body.disbursed_on, operator=req.subject, now=req.now)
    return DisbursedOut(contract_no=loan.contract_no, status=loan.status, disbursed_on=loan.disbursed_on,
                        repayment_day=int(loan.repayment_day),
                        stages=[ApplicationStageOut(**s) for s in stages_of(loan)])


# ---------------------------------------------------------------- the developer


@api.route("/v1/developers/me", roles=DEV, response=DeveloperOut, errors=(404,),
           summary="The developer's information (开发企业信息)")
def developer_me(req: Request) -> DeveloperOut:
    d = developers.developer_of(req.subject)
    return DeveloperOut(developer_no=d.developer_no, name=d.name, credit_code=d.credit_code,
                        contact_name=d.contact_name, contact_phone=d.contact_phone, status=d.status)


@api.route("/v1/developers/me/business", roles=DEV, query=PageQuery, response=HallBusinessPage,
           summary="The developer's applications and their review, newest first (业务明细)")
def business_list(req: Request) -> dict:
    return business_page(req, developers.owner(req.subject))


@api.route("/v1/developers/me/projects", roles=DEV, query=PageQuery, response=ProjectPage,
           summary="The developer's projects, newest first")
def projects(req: Request) -> dict:
    items, cursor = developers.projects_page(req.subject, limit=req.query.limit, cursor=req.query.cursor,
                                             scope=req.scope())
    return envelope([ProjectOut.of(p) for p in items], cursor)


@api.route("/v1/developers/me/projects", "POST", roles=DEV, body=ProjectIn, response=ProjectOut, status=201,
           idempotent=True, errors=(400, 404, 422), summary="Enter a project for review (项目录入)")
def submit_project(req: Request) -> ProjectOut:
    b = req.body
    return ProjectOut.of(developers.submit_project(
        req.subject, serial=request_serial(req, "XM"), name=b.name, address=b.address,
        presale_permit_no=b.presale_permit_no,
        land_certificate_no=b.land_certificate_no, material_uploads=b.material_uploads, now=req.now))


@api.route("/v1/developers/me/projects/{project_no}", roles=DEV, response=ProjectOut, errors=(404,),
           summary="One project")
def project(req: Request, project_no: str) -> ProjectOut:
    return ProjectOut.of(developers.project_of(req.subject, project_no))


@api.route("/v1/developers/me/projects/{project_no}/buildings", roles=DEV, query=PageQuery, response=BuildingPage,
           errors=(404,), summary="A project's buildings")
def buildings(req: Request, project_no: str) -> dict:
    items, cursor = developers.buildings_page(req.subject, project_no, limit=req.query.limit,
                                              cursor=req.query.cursor, scope=req.scope(project_no))
    return envelope([BuildingOut.of(b) for b in items], cursor)


@api.route("/v1/developers/me/projects/{project_no}/buildings", "POST", roles=DEV, body=BuildingIn,
           response=BuildingOut, status=201, idempotent=True, errors=(404, 409, 422),
           summary="Enter a building of an approved project for review (楼栋录入)")
def submit_building(req: Request, project_no: str) -> BuildingOut:
    b = req.body
    return BuildingOut.of(developers.submit_building(req.subject, project_no, serial=request_serial(req, "LD"),
                                                     building_no=b.building_no, name=b.name, floors=b.floors,
                                                     houses=b.houses, now=req.now))


@api.route("/v1/developers/me/projects/{project_no}/materials", "POST", roles=DEV, body=MaterialsIn,
           response=HallBusinessOut, status=201, idempotent=True, errors=(400, 404, 422),
           summary="Supplementary project materials for review (补充项目材料)")
def submit_materials(req: Request, project_no: str) -> HallBusinessOut:
    return HallBusinessOut.of(developers.submit_materials(req.subject, project_no, serial=request_serial(req, "CL"),
                                                      upload_ids=req.body.upload_ids, note=req.body.note,
                                                      now=req.now))


@api.route("/v1/developers/me/loan-applications", "POST", roles=DEV, body=LoanApplicationIn,
           response=LoanApplicationOut, status=201, idempotent=True, errors=(400, 404, 422),
           summary="A buyer's HPF loan application (贷款申请), to the center's review")
def submit_loan_application(req: Request) -> LoanApplicationOut:
    b = req.body
    record = developers.submit_loan_application(
        req.subject, serial=request_serial(req, "DK"), buyer_name=b.buyer.name, buyer_id_number=b.buyer.id_number,
        buyer_phone=b.buyer.phone, project_no=b.project_no, building_no=b.building_no, house_no=b.house_no,
        price=b.price, principal=b.principal, term_months=b.term_months, method=b.method, first_home=b.first_home,
        bank=b.bank, repay_account=b.repay_account, now=req.now)
    return LoanApplicationOut.of(record, None)


@api.route("/v1/developers/me/loan-applications/{serial_no}", roles=DEV, response=LoanApplicationOut, errors=(404,),
           summary="One loan application with its progress (贷款进度)")
def loan_application(req: Request, serial_no: str) -> LoanApplicationOut:
    record, loan = developers.loan_application(req.subject, serial_no)
    return LoanApplicationOut.of(record, loan)


# ---------------------------------------------------------------- the buyer confirms (购房人确认)


class BuyerDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "decline"]


class BuyerDecisionOut(BaseModel):
    serial_no: str
    status: str = Field(description="submitted (to the center's review) once confirmed, declined once declined")


@api.route("/v1/me/loan-applications/{serial_no}/decision", "POST", roles=(auth.DEPOSITOR,), body=BuyerDecisionIn,
           response=BuyerDecisionOut, errors=(404, 409),
           summary="The buyer confirms or declines a loan application a developer made for them (购房人确认)")
def buyer_decision(req: Request, serial_no: str) -> BuyerDecisionOut:
    record = developers.buyer_decision(auth.caller_id_number(req.subject), serial_no,
                                       confirm=req.body.decision == "confirm", now=req.now)
    return BuyerDecisionOut(serial_no=record.serial_no, status=record.status)
