"""The developer web hall (开发商网厅): projects (项目录入), buildings (楼栋录入), supplementary project
materials (补充项目材料) and loan applications for buyers (贷款申请), each reviewed by the center.

Every application is a business record owned by ``developer:<no>`` waiting in the operators' queue:

* ``project`` — approval makes the project usable for buildings and loans and lists it among the partner
  properties (合作楼盘, ``GET /v1/properties``);
* ``building`` — under an approved project; approval makes its houses usable in loan applications;
* ``project_material`` — uploads (purpose ``material``) added to the project's materials on approval;
* ``loan_application`` — a buyer's HPF loan, checked against the policy (term, share of the price, the
  city's highest loan, the buyer's age at the end of the term, no unsettled HPF loan:
  :mod:`chalicelib.rules.loan_eligibility`); the application first waits for the buyer (``awaiting_buyer``): a to-do
  message (box ``todo``) asks them to confirm or decline it in the app (:func:`buyer_decision`,
  ``POST /v1/me/loan-applications/{serial_no}/decision``); only a confirmed application enters the review queue.
  Approval re-checks the buyer's loans and creates the loan contract (:class:`~chalicelib.store.loans.Loan`) with its
  progress stages, which the buyer then sees among their loans; disbursement fixes the rate in force that day (the
  application's rate is a quote). The buyer is told again at the decision.

Uploads named by an application must have been issued to this developer. Another developer's serial answers as
an unknown one does (404), so serials reveal nothing about other developers' business.

Developers themselves are registered by a center administrator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors, money, policy
from chalicelib.http.pagination import page
from chalicelib.rules import identity, loan_eligibility, retirement
from chalicelib.rules import loans as loan_rules
from chalicelib.services import audit, business, inbox, notify, uploads
from chalicelib.store import base
from chalicelib.store import business as records
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.content import Property
from chalicelib.store.developers import Building, Developer, Project
from chalicelib.store.loans import STAGES, Loan, Stage
from chalicelib.store.messages import Message
from chalicelib.store.people import Person

PROJECT, BUILDING, MATERIAL, LOAN = "project", "building", "project_material", "loan_application"
METHOD_NAMES = {"equal_installment": "等额本息", "equal_principal": "等额本金"}


def owner(developer_no: str) -> str:
    return f"developer:{developer_no}"


def _digest(serial: str) -> str:
    return hashlib.sha256(serial.encode()).hexdigest()[:12].upper()


def developer_of(developer_no: str) -> Developer:
    try:
        developer = Developer.get(developer_no, consistent_read=True)
    except Developer.DoesNotExist:
        raise errors.NotFound("未找到开发企业信息，请联系公积金中心") from None
    return developer


def _active(developer_no: str) -> Developer:
    developer = developer_of(developer_no)
    if developer.status != "normal":
        raise errors.NotEligible("开发企业状态异常，不能办理此业务，请联系公积金中心")
    return developer


def register_developer(*, developer_no: str, name: str, credit_code: str, contact_name: str, contact_phone: str,
                       operator: str, now: dt.datetime) -> Developer:
    """A center administrator registers a developer (before issuing its certificate)."""
    developer = Developer(developer_no, name=name, credit_code=credit_code, contact_name=contact_name,
                          contact_phone=contact_phone, status="normal", created_at=now)
    try:
        developer.save(condition=Developer.developer_no.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict(f"开发企业 {developer_no} 已登记") from None
        raise
    audit.record("developer.register", role="operator", who=operator, result=audit.OK, now=now,
                 details={"developer_no": developer_no})
    return developer


def _record(serial: str, developer_no: str) -> BusinessRecord | None:
    return records.find_own(serial, owner(developer_no))


def _own_record(serial: str, developer_no: str) -> BusinessRecord | None:
    """This developer's record ``serial``, or None when there is none *or it is someone else's* (one answer)."""
    record = records.find(serial)
    return record if record is not None and record.owner == owner(developer_no) else None


def _details(record: BusinessRecord) -> dict[str, str]:
    return record.details.as_dict() if record.details else {}


def _check_uploads(upload_ids: list[str], now: dt.datetime, developer_no: str) -> None:
    for upload_id in upload_ids:
        uploads.check(upload_id, "material", now, owner=uploads.owner_of("developer", developer_no))


def _save_with_record(item, condition, record: BusinessRecord) -> None:
    """The application's own item and its business record, together or not at all."""
    with TransactWrite(connection=base.connection()) as tx:
        tx.save(item, condition=condition)
        records.submit_in(tx, record)


# ---------------------------------------------------------------- 项目录入


def project_of(developer_no: str, project_no: str) -> Project:
    try:
        project = Project.get(project_no, consistent_read=True)
    except Project.DoesNotExist:
        raise errors.NotFound("未找到该项目") from None
    if project.developer_no != developer_no:
        raise errors.NotFound("未找到该项目")
    return project


def projects_page(developer_no: str, *, limit: int, cursor: str | None, scope: str):
    return page(Project.developer_index.query, hash_key=developer_no, scan_index_forward=False, limit=limit,
                cursor=cursor, scope=scope)


def submit_project(developer_no: str, *, serial: str, name: str, address: str, presale_permit_no: str,
                   land_certificate_no: str | None, material_uploads: list[str], now: dt.datetime) -> Project:
    project_no = "XM" + _digest(serial)
    if _record(serial, developer_no) is not None:
        return project_of(developer_no, project_no)
    _active(developer_no)
    _check_uploads(material_uploads, now, developer_no)
    created_at = clock.iso(now)
    project = Project(project_no, developer_no=developer_no, name=name, address=address,
                      presale_permit_no=presale_permit_no, land_certificate_no=land_certificate_no,
                      status="submitted", serial_no=serial, created_at=created_at,
                      created_key=f"{created_at}#{project_no}")
    record = business.new_record(serial_no=serial, owner=owner(developer_no), kind=PROJECT, title="项目录入",
                                 now=now, review=True,
                                 details={"project_no": project_no, "name": name, "address": address,
                                          "presale_permit_no": presale_permit_no,
                                          "land_certificate_no": land_certificate_no,
                                          "uploads": ",".join(material_uploads)})
    try:
        _save_with_record(project, Project.project_no.does_not_exist(), record)
    except TransactWriteError:
        if _record(serial, developer_no) is None:
            raise
    return project_of(developer_no, project_no)


def _approve_project(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    d = _details(record)
    project = Project.get(d["project_no"], consistent_read=True)
    developer = developer_of(project.developer_no)
    accepted = [u for u in d.get("uploads", "").split(",") if u]
    project.update(actions=[Project.status.set("approved"), Project.opinion.set(opinion),
                            Project.materials.set(accepted)])
    Property(project.project_no, name=project.name, developer=developer.name, address=project.address,
             status="selling", updated_at=now).save()
    return "approved"


def _reject_project(record: BusinessRecord, opinion: str, now: dt.datetime) -> None:
    project = Project.get(_details(record)["project_no"], consistent_read=True)
    project.update(actions=[Project.status.set("rejected"), Project.opinion.set(opinion)])


business.register(PROJECT, business.Reviewer(title="项目录入", approve=_approve_project, reject=_reject_project))


# ---------------------------------------------------------------- 楼栋录入


def _approved_project(developer_no: str, project_no: str) -> Project:
    project = project_of(developer_no, project_no)
    if project.status != "approved":
        raise errors.NotEligible("项目审核通过后才能办理此业务", details={"project_status": project.status})
    return project


def buildings_page(developer_no: str, project_no: str, *, limit: int, cursor: str | None, scope: str):
    project_of(developer_no, project_no)
    return page(Building.query, hash_key=project_no, limit=limit, cursor=cursor, scope=scope)


def building_of(project_no: str, building_no: str) -> Building:
    try:
        return Building.get(project_no, building_no, consistent_read=True)
    except Building.DoesNotExist:
        raise errors.NotFound("未找到该楼栋") from None


def submit_building(developer_no: str, project_no: str, *, serial: str, building_no: str, name: str, floors: int,
                    houses: int, now: dt.datetime) -> Building:
    existing = _record(serial, developer_no)
    if existing is not None:
        d = _details(existing)
        return building_of(d["project_no"], d["building_no"])
    _active(developer_no)
    _approved_project(developer_no, project_no)
    building = Building(project_no, building_no, name=name, floors=floors, houses=houses, status="submitted",
                        serial_no=serial, created_at=clock.iso(now))
    record = business.new_record(serial_no=serial, owner=owner(developer_no), kind=BUILDING, title="楼栋录入",
                                 now=now, review=True,
                                 details={"project_no": project_no, "building_no": building_no, "name": name,
                                          "floors": floors, "houses": houses})
    try:
        _save_with_record(building, Building.project_no.does_not_exist() | (Building.status == "rejected"), record)
    except TransactWriteError:
        if _record(serial, developer_no) is None:
            raise errors.AlreadyDone(f"楼栋 {building_no} 已录入", details={"building_no": building_no}) from None
    return building_of(project_no, building_no)


def _decide_building(status: str):
    def decide(record: BusinessRecord, opinion: str, now: dt.datetime):
        d = _details(record)
        building = building_of(d["project_no"], d["building_no"])
        building.update(actions=[Building.status.set(status), Building.opinion.set(opinion)])
        return status

    return decide


business.register(BUILDING, business.Reviewer(title="楼栋录入", approve=_decide_building("approved"),
                                              reject=_decide_building("rejected")))


# ---------------------------------------------------------------- 补充项目材料


def submit_materials(developer_no: str, project_no: str, *, serial: str, upload_ids: list[str], note: str | None,
                     now: dt.datetime) -> BusinessRecord:
    existing = _record(serial, developer_no)
    if existing is not None:
        return existing
    _active(developer_no)
    project = project_of(developer_no, project_no)
    if project.status == "rejected":
        raise errors.NotEligible("项目未通过审核，请重新录入项目")
    _check_uploads(upload_ids, now, developer_no)
    record = business.new_record(serial_no=serial, owner=owner(developer_no), kind=MATERIAL, title="补充项目材料",
                                 now=now, review=True,
                                 details={"project_no": project_no, "uploads": ",".join(upload_ids), "note": note})
    return business.submit(record)


def _approve_materials(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    d = _details(record)
    project = Project.get(d["project_no"], consistent_read=True)
    added = [u for u in d.get("uploads", "").split(",") if u and u not in (project.materials or [])]
    project.update(actions=[Project.materials.set(list(project.materials or []) + added)])
    return "done"


business.register(MATERIAL, business.Reviewer(title="补充项目材料", approve=_approve_materials))


# ---------------------------------------------------------------- 贷款申请


def submit_loan_application(developer_no: str, *, serial: str, buyer_name: str, buyer_id_number: str,
                            buyer_phone: str, project_no: str, building_no: str, house_no: str, price: int,
                            principal: int, term_months: int, method: str, first_home: bool, bank: str,
                            repay_account: str, now: dt.datetime) -> BusinessRecord:
    """A buyer's loan application, checked against the policy; it waits for the buyer's confirmation
    (``awaiting_buyer``, a to-do message to the buyer) before it enters the center's review queue."""
    existing = _record(serial, developer_no)
    if existing is not None:
        return existing
    _active(developer_no)
    project = _approved_project(developer_no, project_no)
    try:
        building = Building.get(project_no, building_no, consistent_read=True)
    except Building.DoesNotExist:
        raise errors.ValidationFailed.field("building_no", "该项目下没有这个楼栋") from None
    if building.status != "approved":
        raise errors.NotEligible("楼栋审核通过后才能申请贷款", details={"building_status": building.status})
    cfg = policy.get()
    limits = cfg.web_halls.developers
    problems: dict[str, str] = {}
    if term_months > cfg.loans.max_term_months:
        problems["term_months"] = f"贷款期限最长 {cfg.loans.max_term_months} 个月"
    by_price = int(Decimal(price) * limits.loan_max_price_percent / 100)
    if principal > by_price:
        problems["principal"] = (f"贷款金额不能超过房价的 {limits.loan_max_price_percent.normalize():f}%"
                                 f"（{money.format(by_price)} 元）")
    elif principal > limits.loan_max_principal:
        problems["principal"] = f"贷款金额不能超过 {money.format(limits.loan_max_principal)} 元"
    if "term_months" not in problems:
        too_old = _age_problem(buyer_id_number, now.astimezone(clock.CHINA).date(), term_months)
        if too_old:
            problems["term_months"] = too_old
    if problems:
        raise errors.ValidationFailed(details={"fields": problems})
    try:
        person = Person.get(buyer_id_number, consistent_read=True)
    except Person.DoesNotExist:
        person = None
    if person is None or person.name.strip() != buyer_name.strip():
        raise errors.NotEligible("购房人不是本市住房公积金缴存人，或姓名与身份证号不符")
    if not any(a.status == "normal" for a in Account.person_index.query(buyer_id_number)):
        raise errors.NotEligible("购房人的住房公积金账户不是正常缴存状态，不能申请公积金贷款")
    _no_unsettled_loan(buyer_id_number)
    day = now.astimezone(clock.CHINA).date()
    rate = loan_rules.rate_for(cfg.rates, day, term_months, "first" if first_home else "second")
    record = business.new_record(
        serial_no=serial, owner=owner(developer_no), kind=LOAN, title="公积金贷款申请", now=now, review=False,
        status=AWAITING_BUYER, amount=principal,
        details={"buyer_name": buyer_name, "buyer_id_number": buyer_id_number, "buyer_phone": buyer_phone,
                 "project_no": project_no, "project_name": project.name, "building_no": building_no,
                 "house_no": house_no, "price": money.format(price), "principal": money.format(principal),
                 "term_months": term_months, "method": method, "home": "first" if first_home else "second",
                 "annual_rate": format(rate, "f"), "bank": bank, "repay_account": repay_account})
    saved = business.submit(record)
    if saved is record:        # the first submission (not a replay): ask the buyer
        notify.post_message(buyer_id_number, title="请确认贷款申请", box="todo", kind="business", now=now,
                            serial_no=serial,
                            body=f"开发企业为您代办了 {project.name} {building_no}栋{house_no} 的住房公积金贷款申请，"
                                 f"贷款金额 {money.format(principal)} 元，期限 {term_months} 个月。是您本人的申请请在"
                                 f"“我的待办”中确认，不是请拒绝；确认后才会提交公积金中心审批。")
    record = saved
    audit.record("developer.loan_application", role="developer", who=developer_no, result=audit.OK, now=now,
                 details={"serial_no": serial, "buyer": buyer_id_number, "principal": money.format(principal)})
    return record


def _age_problem(id_number: str, start: dt.date, term_months: int) -> str | None:
    """The buyer's age at the end of the term (statutory retirement age + the policy's years)."""
    cfg = policy.get()
    birth = identity.birth_date(id_number)
    group = retirement.group_for(cfg.retirement_age, male=identity.is_male(id_number), use="loan")
    return loan_eligibility.age_problem(
        start=start, term_months=term_months, retires_on=retirement.retirement_date(birth, group),
        retirement_age=retirement.describe(retirement.age_months(birth, group)),
        years_after_retirement=cfg.loans.years_after_retirement)


def _no_unsettled_loan(id_number: str, *, but: str | None = None) -> None:
    """One HPF loan at a time: refused while the buyer has another one not settled (``but`` this one)."""
    statuses = [x.status for x in Loan.person_index.query(id_number) if x.contract_no != but]
    if loan_eligibility.has_unsettled(statuses):
        raise errors.NotEligible("购房人有未结清的住房公积金贷款，须结清后方可再次申请公积金贷款",
                                 details={"reason": "open_loan"})


AWAITING_BUYER, BUYER_DECLINED = "awaiting_buyer", "declined"


def buyer_decision(id_number: str, serial: str, *, confirm: bool, now: dt.datetime) -> BusinessRecord:
    """The buyer named in loan application ``serial`` confirms it (it enters the review queue) or declines it.

    Only that buyer: for anyone else, as for an unknown serial, 404. Deciding again the same way answers the record
    as it is; the other way after a decision is 409."""
    from pynamodb.exceptions import UpdateError

    try:
        record = BusinessRecord.get(serial, consistent_read=True)
    except BusinessRecord.DoesNotExist:
        record = None
    if record is None or record.kind != LOAN or _details(record).get("buyer_id_number") != id_number:
        raise errors.NotFound("未找到该贷款申请")
    if record.status != AWAITING_BUYER:
        if (record.status == BUYER_DECLINED) != (not confirm):
            raise errors.AlreadyDone("该贷款申请已确认或已拒绝", details={"status": record.status})
        return record
    at = clock.iso(now)
    if confirm:
        actions = [BusinessRecord.status.set("submitted"), BusinessRecord.queue.set(LOAN)]
    else:
        actions = [BusinessRecord.status.set(BUYER_DECLINED), BusinessRecord.decided_at.set(at),
                   BusinessRecord.opinion.set("购房人拒绝了该申请")]
    try:
        record.update(actions=actions, condition=BusinessRecord.status == AWAITING_BUYER)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return buyer_decision(id_number, serial, confirm=confirm, now=now)    # a concurrent decision: answer it
    _close_todo(id_number, serial, now)
    audit.record("loan_application.buyer_" + ("confirmed" if confirm else "declined"), role="depositor",
                 who=id_number, result=audit.OK, now=now, details={"serial_no": serial})
    if confirm:
        d = _details(record)
        notify.citizen(id_number, title="贷款申请已提交",
                       body=f"{d.get('project_name', '')} {d.get('building_no', '')}栋{d.get('house_no', '')} 的住房"
                            f"公积金贷款申请已经您确认，贷款金额 {d.get('principal', '')} 元，期限 "
                            f"{d.get('term_months', '')} 个月，等待公积金中心审批。",
                       kind="business", now=now, key=serial, serial_no=serial)
    return BusinessRecord.get(serial, consistent_read=True)


def _close_todo(id_number: str, serial: str, now: dt.datetime) -> None:
    """The to-do asking for this confirmation moves to the read box (it is answered)."""

    for msg in Message.box_index.query(Message.box_key_for(id_number, "todo"), filter_condition=(
            Message.serial_no == serial)):
        inbox.mark_read(id_number, inbox.wire_id(msg.message_id), now)


def contract_no_for(serial: str) -> str:
    return "HT" + _digest(serial)


def _approve_loan(record: BusinessRecord, opinion: str, now: dt.datetime) -> str:
    """Approval (中心审批) creates the loan contract (借款合同); disbursement (贷款发放) is the next stage."""
    d = _details(record)
    contract_no = contract_no_for(record.serial_no)
    _no_unsettled_loan(d["buyer_id_number"], but=contract_no)    # another application may have been approved
    local = now.astimezone(clock.CHINA)
    at = clock.iso(now)
    names = dict(STAGES)
    stages = [Stage(code="applied", name=names["applied"], state="done", at=record.submitted_at),
              Stage(code="reviewed", name=names["reviewed"], state="done", at=at, note=opinion),
              Stage(code="contracted", name=names["contracted"], state="done", at=at, note=f"合同号 {contract_no}"),
              Stage(code="disbursed", name=names["disbursed"], state="current", at=None, note="等待放款")]
    principal = money.parse(d["principal"])
    loan = Loan(contract_no, id_number=d["buyer_id_number"], bank=d["bank"], repay_account=d["repay_account"],
                principal=principal, annual_rate=d["annual_rate"], term_months=int(d["term_months"]),
                method=d["method"], disbursed_on=local.date().isoformat(),     # planned; set again at disbursement
                repayment_day=min(local.day, 28), balance=principal, paid_periods=0, status="approved",
                stages=stages, application_serial=record.serial_no, updated_at=now)
    try:
        loan.save(condition=Loan.contract_no.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    record.update(actions=[BusinessRecord.details.set({**d, "contract_no": contract_no})])
    return "approved"


def _notify_loan(record: BusinessRecord, now: dt.datetime) -> None:
    fresh = BusinessRecord.get(record.serial_no, consistent_read=True)
    d = _details(fresh)
    if fresh.status == "rejected":
        title, body = "贷款申请未通过", f"您的住房公积金贷款申请未通过审批：{fresh.opinion}"
    else:
        title = "贷款申请已审批通过"
        body = (f"您的住房公积金贷款申请已审批通过，借款合同号 {d.get('contract_no')}，"
                f"贷款金额 {d.get('principal')} 元，期限 {d.get('term_months')} 个月，年利率 {d.get('annual_rate')}%。")
    notify.citizen(d["buyer_id_number"], title=title, body=body, kind="business", now=now,
                   key=f"{fresh.serial_no}#{fresh.status}", serial_no=fresh.serial_no)


business.register(LOAN, business.Reviewer(title="公积金贷款申请", approve=_approve_loan, notify=_notify_loan))


def disburse(contract_no: str, *, on: dt.date | None, operator: str, now: dt.datetime) -> Loan:
    """贷款发放: the center records that the bank paid an approved loan out. The loan goes into repayment
    (``normal``): its plan starts the month after ``on`` on that day of the month (at most the 28th), and its
    last stage is done. Recording it twice changes nothing (the second answers the loan as it is)."""
    from pynamodb.exceptions import UpdateError

    try:
        loan = Loan.get(contract_no, consistent_read=True)
    except Loan.DoesNotExist:
        raise errors.NotFound("未找到该借款合同") from None
    if loan.status != "approved":
        if loan.status in ("normal", "overdue", "settled") and any(
                s.code == "disbursed" and s.state == "done" for s in (loan.stages or [])):
            return loan
        raise errors.NotEligible("该借款合同不是待放款状态")
    day = on or now.astimezone(clock.CHINA).date()
    if day > now.astimezone(clock.CHINA).date():
        raise errors.ValidationFailed.field("disbursed_on", "放款日期不能晚于今天")
    rate = _rate_at_disbursement(loan, day)
    stages = [Stage(code=s.code, name=s.name, state=s.state, at=s.at, note=s.note) for s in (loan.stages or [])
              if s.code != "disbursed"]
    stages.append(Stage(code="disbursed", name=dict(STAGES)["disbursed"], state="done", at=clock.iso(now),
                        note=f"{day.isoformat()} 放款，年利率 {rate}%"))
    try:
        loan.update(actions=[Loan.status.set("normal"), Loan.disbursed_on.set(day.isoformat()),
                             Loan.annual_rate.set(rate),
                             Loan.repayment_day.set(min(day.day, 28)), Loan.stages.set(stages),
                             Loan.version.add(1), Loan.updated_at.set(now)],
                    condition=(Loan.status == "approved") & (Loan.version == loan.version))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise errors.Conflict("借款合同已变化，请刷新后重试") from None
        raise
    audit.record("loan.disbursed", role="operator", who=operator, result=audit.OK, now=now,
                 details={"contract_no": contract_no, "principal": money.format(int(loan.principal))})
    notify.citizen(loan.id_number, title="贷款已发放",
                   body=f"您的住房公积金贷款（合同号 {contract_no}）已于 {day.isoformat()} 发放，金额 "
                        f"{money.format(int(loan.principal))} 元，年利率 {rate}%，每月 {loan.repayment_day} 日还款。",
                   kind="business", now=now, key=f"disbursed#{contract_no}", serial_no=loan.application_serial)
    return loan


def _rate_at_disbursement(loan: Loan, day: dt.date) -> str:
    """The rate in force on the day of disbursement for the loan's term and home (first/second, from its
    application); a loan without an application keeps its rate."""
    if not loan.application_serial:
        return loan.annual_rate
    try:
        application = BusinessRecord.get(loan.application_serial, consistent_read=True)
    except BusinessRecord.DoesNotExist:
        return loan.annual_rate
    home = _details(application).get("home", "first")
    return format(loan_rules.rate_for(policy.get().rates, day, int(loan.term_months), home), "f")


def loan_application(developer_no: str, serial: str) -> tuple[BusinessRecord, Loan | None]:
    """One loan application of this developer, with its loan once approved (404 for another developer's too)."""
    record = _own_record(serial, developer_no)
    if record is None or record.kind != LOAN:
        raise errors.NotFound("未找到该贷款申请")
    contract_no = _details(record).get("contract_no")
    loan = None
    if contract_no:
        try:
            loan = Loan.get(contract_no, consistent_read=True)
        except Loan.DoesNotExist:
            loan = None
    return record, loan

