"""The deposit certificate (缴存证明) a depositor prints from the web hall, and its public verification.

Issuing draws a one-page PDF (:mod:`chalicelib.adapters.pdf`) with the center's name, the person, the masked
ID number, the account, unit, status, base, monthly amount, balance, paid-through month and issue date, and a
random verification code (80 bits, Crockford base32 in four groups). What the certificate says is stored
under the code (``state`` table, ``deposit-certificate#<code>``, masked where personal) for
``policy.deposit_certificate.valid_days``; whoever holds the paper (a bank, a landlord) can then confirm it
with ``GET /v1/certificates/{code}`` without logging in: the answer repeats the certificate's facts with the
name masked too (``张*``). An unknown or expired code is 404.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib import clock, errors, masking, money, policy
from chalicelib.services import account_records
from chalicelib.store.kv import StateItem

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"      # Crockford base32: no I, L, O, U
_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{16}$")
STATUS_NAMES = {"normal": "正常缴存", "sealed": "封存", "frozen": "冻结", "closed": "销户"}
KIND_NAMES = {"employee": "单位职工", "flexible": "灵活就业人员"}


@dataclass(frozen=True)
class Issued:
    code: str
    pdf: bytes
    facts: dict[str, str]


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def canonical(code: str) -> str | None:
    """``abcd-efgh-...`` typed by a person → ``ABCDEFGH...``; None when it cannot be a code."""
    raw = re.sub(r"[\s-]", "", code or "").upper()
    return raw if _CODE.match(raw) else None


def _key(code: str) -> str:
    return f"deposit-certificate#{canonical(code)}"


def _month(period: str | None) -> str:
    return f"{period[:4]}年{period[4:]}月" if period and len(period) == 6 else "—"


def _yuan(fen: int | None) -> str:
    return f"{money.format(int(fen or 0))} 元"


def _date_cn(day: str) -> str:
    y, m, d = day.split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def issue(id_number: str, *, account_no: str | None, now: datetime) -> Issued:
    """Draw the certificate of the person's current account (or ``account_no`` of their own) and store its code."""
    from chalicelib.adapters import pdf  # lazy: reportlab, only when a certificate is drawn

    view = account_records.account_view(id_number, account_no)
    acct, person = view.account, view.person
    cfg = policy.get()
    local = now.astimezone(clock.CHINA)
    issued_on = local.date().isoformat()
    valid_until = (local.date() + timedelta(days=cfg.deposit_certificate.valid_days)).isoformat()
    unit_name = view.unit.name if view.unit else ("灵活就业人员（个人缴存）" if acct.kind == "flexible" else "—")
    facts = {
        "center_name": cfg.center_name, "name": person.name, "id_number": masking.id_number(id_number),
        "account_no": acct.account_no, "kind": acct.kind, "status": acct.status, "unit_name": unit_name,
        "base": money.format(int(acct.base or 0)), "monthly_amount": money.format(int(acct.monthly_amount or 0)),
        "balance": money.format(int(acct.balance or 0)), "paid_through": acct.paid_through or "",
        "opened_on": acct.opened_on or "", "issued_on": issued_on, "valid_until": valid_until,
    }
    for _attempt in range(3):
        code = new_code()
        item = StateItem(pk=_key(code), sk="-", status="issued", updated_at=clock.iso(now),
                         data={**facts, "name": masking.name(person.name), "issued_at": clock.iso(now)},
                         ttl=local + timedelta(days=cfg.deposit_certificate.valid_days + 30))
        try:
            item.save(condition=StateItem.pk.does_not_exist())
            break
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    else:
        raise errors.ServiceUnavailable("证明编号生成失败，请重试")
    if not acct.ratio_person:
        ratios = "—"
    elif acct.kind == "employee":
        ratios = f"个人 {acct.ratio_person}%，单位 {acct.ratio_unit or '—'}%"
    else:
        ratios = f"{acct.ratio_person}%"
    rows = [
        ("缴存人姓名", person.name),
        ("证件号码", facts["id_number"]),
        ("个人账号", acct.account_no),
        ("缴存单位", unit_name),
        ("缴存类别", KIND_NAMES.get(acct.kind, acct.kind)),
        ("账户状态", STATUS_NAMES.get(acct.status, acct.status)),
        ("开户日期", _date_cn(acct.opened_on) if acct.opened_on else "—"),
        ("缴存基数", _yuan(acct.base)),
        ("缴存比例", ratios),
        ("月缴存额", _yuan(acct.monthly_amount)),
        ("账户余额", _yuan(acct.balance)),
        ("缴至年月", _month(acct.paid_through)),
        ("出具日期", _date_cn(issued_on)),
    ]
    text = pdf.CertificateText(
        center_name=cfg.center_name,
        title="住房公积金缴存证明",
        statement=(f"兹证明 {person.name}（证件号码 {facts['id_number']}）在{cfg.center_name}缴存住房公积金，"
                   f"个人账号 {acct.account_no}，账户状态为{STATUS_NAMES.get(acct.status, acct.status)}，"
                   f"缴至 {_month(acct.paid_through)}。截至出具日，缴存情况如下："),
        rows=rows,
        code=code,
        verify_hint=(f"本证明自出具之日起 {cfg.deposit_certificate.valid_days} 日内（至 {_date_cn(valid_until)}）"
                     "可查验真伪：在本中心网上服务大厅输入验证码，或访问 {path} 核对证明内容。"),
        verify_path=f"/v1/certificates/{code}",
        issued_on=f"出具日期：{_date_cn(issued_on)}",
        footer="本证明仅说明缴存人在本中心的住房公积金缴存情况。为保护个人信息，证件号码已部分隐藏。",
    )
    return Issued(code=code, pdf=pdf.certificate(text), facts=facts)


def verify(code: str, now: datetime) -> dict[str, str]:
    """What the certificate with ``code`` said (name and ID number masked); 404 if unknown or expired."""

    if canonical(code) is None:
        raise errors.NotFound("未找到该缴存证明，请核对验证码")
    try:
        item = StateItem.get(_key(code), "-")
    except StateItem.DoesNotExist:
        raise errors.NotFound("未找到该缴存证明，请核对验证码") from None
    facts = item.data.as_dict() if item.data else {}
    if facts.get("valid_until", "") < now.astimezone(clock.CHINA).date().isoformat():
        raise errors.NotFound("该缴存证明已超过查验期限")
    canon = canonical(code) or ""
    return {**facts, "code": "-".join(canon[i:i + 4] for i in range(0, 16, 4))}
