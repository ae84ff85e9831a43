"""Write demo/center-records.jsonl: the project's own fictional center records (valid ID numbers).

Deterministic: running it again writes the same file. `make run` imports it once.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.money import format as money  # noqa: E402
from chalicelib.rules import interest as interest_rules  # noqa: E402
from chalicelib.rules.identity import id_check_character  # noqa: E402

SETTLEMENT = {"month": 6, "day": 30}

PEOPLE = [
    # name, region, birth, seq, phone, kind, unit, status, base (yuan), monthly amount for flexible
    ("张伟", "140105", dt.date(1985, 3, 12), 11, "13800000001", "employee", "U1001", "normal", 8000, None),
    ("王芳", "140106", dt.date(1990, 7, 2), 22, "13800000002", "employee", "U1001", "normal", 6500, None),
    ("李娜", "140107", dt.date(1978, 11, 30), 31, "13800000003", "employee", "U1002", "normal", 12000, None),
    ("刘洋", "140108", dt.date(1995, 1, 8), 45, "13800000004", "employee", "U1002", "sealed", 5000, None),
    ("陈静", "140109", dt.date(1988, 5, 20), 52, "13800000005", "employee", "U1003", "normal", 9000, None),
    ("杨磊", "140110", dt.date(1964, 9, 9), 63, "13800000006", "employee", "U1003", "sealed", 7000, None),  # retired
    ("赵敏", "140105", dt.date(1992, 2, 14), 74, "13800000007", "flexible", None, "normal", 0, 800),
    ("黄强", "140106", dt.date(1983, 8, 1), 85, "13800000008", "flexible", None, "sealed", 0, 500),
    ("周丽", "140107", dt.date(1999, 12, 25), 96, "13800000009", "flexible", None, "normal", 0, 1200),
    ("吴刚", "140108", dt.date(1975, 4, 4), 17, "13800000010", "employee", "U1001", "normal", 15000, None),
]

UNITS = [
    ("U1001", "太原示例科技有限公司", "91140100MA0K000001", "12", "12", "王经办", "13900000001"),
    ("U1002", "晋阳示例制造有限公司", "91140100MA0K000002", "10", "10", "李经办", "13900000002"),
    ("U1003", "龙城示例商贸有限公司", "91140100MA0K000003", "8", "8", "赵经办", "13900000003"),
]
# the registered account each roster is debited from (单位缴存银行账户); fictional, none ends in 0000 (which the
# simulated bank declines)
UNIT_BANK = {"U1001": ("中国工商银行", "6222020200101001001"), "U1002": ("中国建设银行", "6217000200101002002"),
             "U1003": ("中国银行", "6216600200101003003")}


def yuan(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def months_back(end: dt.date, count: int) -> list[dt.date]:
    out, year, month = [], end.year, end.month
    for _ in range(count):
        out.append(dt.date(year, month, 8))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def main() -> None:
    rows: list[dict] = []
    for unit_no, name, code, ru, rp, agent, phone in UNITS:
        rows.append({"type": "unit", "unit_no": unit_no, "name": name, "credit_code": code, "ratio_unit": ru,
                     "ratio_person": rp, "status": "normal", "agent_name": agent, "agent_phone": phone,
                     "bank_name": UNIT_BANK[unit_no][0], "bank_account": UNIT_BANK[unit_no][1]})
    unit_ratio = {u[0]: int(u[3]) for u in UNITS}
    end = dt.date(2026, 10, 1)
    for idx, (name, region, birth, seq, phone, kind, unit, status, base, flex) in enumerate(PEOPLE, start=1):
        body = f"{region}{birth:%Y%m%d}{seq:03d}"
        id_number = body + id_check_character(body)
        account_no = f"GR{idx:08d}"
        rows.append({"type": "person", "id_number": id_number, "name": name, "phone": phone})
        if kind == "employee":
            ratio = unit_ratio[unit]
            share = yuan(Decimal(base) * ratio / 100)
            share = (share + 50) // 100 * 100          # each share rounded to whole yuan
            monthly = share * 2
        else:
            ratio = None
            monthly = flex * 100
        months = months_back(end, 24 if status == "normal" else 12)
        balance = 0
        jishu = 0                                      # the HPF year's 积数 (chalicelib/rules/interest.py)
        deposits = []
        for n, day in enumerate(months, start=1):
            balance += monthly
            jishu += monthly * interest_rules.days_left(day, SETTLEMENT)
            deposits.append({"type": "deposit", "serial_no": f"D{idx:03d}{n:04d}", "account_no": account_no,
                             "date": day.isoformat(), "period": day.strftime("%Y%m"),
                             "kind": "remit", "amount": money(monthly), "balance_after": money(balance)})
            if day.month == 6:
                # 年终结息 by day count: each deposit from its day (条例 第二十一条), 1.50 %
                interest = interest_rules.interest(jishu, Decimal("1.50"))
                balance += interest
                jishu = balance * interest_rules.DAYS_PER_YEAR   # carried into the next year
                deposits.append({"type": "deposit", "serial_no": f"I{idx:03d}{day.year}", "account_no": account_no,
                                 "date": f"{day.year}-06-30", "period": day.strftime("%Y%m"), "kind": "interest",
                                 "amount": money(interest), "balance_after": money(balance)})
        withdrawals = []
        if idx in (2, 5):
            amount = min(balance // 3, 600000)
            balance -= amount
            withdrawals.append({"type": "withdrawal", "serial_no": f"W{idx:03d}0001", "account_no": account_no,
                                "date": "2026-09-15", "withdrawal_type": "rent", "amount": money(amount),
                                "balance_after": money(balance)})
        paid_through = months[-1].strftime("%Y%m")
        rows.append({"type": "account", "account_no": account_no, "id_number": id_number, "kind": kind,
                     "unit_no": unit, "status": status, "base": money(base * 100),
                     "ratio_person": str(ratio) if ratio else None, "ratio_unit": str(ratio) if ratio else None,
                     "monthly_amount": money(monthly), "balance": money(balance), "paid_through": paid_through,
                     "opened_on": months[0].replace(day=1).isoformat()})
        rows.extend(deposits)
        rows.extend(withdrawals)
        if idx in (1, 3):
            rows.extend(loan_rows(idx, id_number))
    for b, (name, addr) in enumerate([("迎泽服务网点", "太原市迎泽区示例路1号"), ("小店服务网点", "太原市小店区示例街2号"),
                                      ("万柏林服务网点", "太原市万柏林区示例大道3号")], start=1):
        rows.append({"type": "branch", "branch_id": f"B{b:02d}", "name": name, "address": addr,
                     "phone": f"0351-700000{b}", "hours": "周一至周五 09:00-17:00",
                     "slots": ["09:00-10:00", "10:00-11:00", "14:00-15:00", "15:00-16:00"], "capacity_per_slot": 5})
    for p, (name, dev) in enumerate([("汾河湾示例小区", "示例置业有限公司"), ("晋祠路示例花园", "示例地产开发有限公司"),
                                     ("长风示例公馆", "示例房地产有限公司"), ("学府示例家园", "示例置业有限公司"),
                                     ("龙城示例新苑", "示例建设开发有限公司")], start=1):
        rows.append({"type": "property", "project_no": f"P{p:03d}", "name": name, "developer": dev,
                     "address": f"太原市示例路{p}号", "status": "selling" if p % 2 else "building"})
    notices = [
        ("news", "2026-10-08", "中心开通手机公积金灵活就业缴存业务", "灵活就业人员可通过手机公积金APP申请开户、按月缴存。"),
        ("news", "2026-09-01", "网上业务办理时间调整的通知", "汇缴业务办理时间为每月1日至25日 8:00-17:00。"),
        ("policy", "2025-05-08", "关于下调个人住房公积金贷款利率的通知", "首套五年以下2.10%，五年以上2.60%。"),
        ("policy", "2026-07-01", "2026年度住房公积金缴存基数调整的通知", "缴存基数上限为上年度社会平均工资的3倍。"),
        ("guide", "2026-03-15", "租房提取办理指南", "连续足额缴存满3个月，本人及配偶在本市无自有住房。"),
        ("guide", "2026-04-20", "灵活就业人员开户指南", "准备身份证正反面照片，预约网点办理。"),
    ]
    for n, (cat, day, title, body) in enumerate(notices, start=1):
        rows.append({"type": "notice", "notice_id": f"N{n:03d}", "category": cat, "title": title, "body": body,
                     "published_on": day})
    out = ROOT / "demo" / "center-records.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} records to {out.relative_to(ROOT)}")


def loan_rows(idx: int, id_number: str) -> list[dict]:
    principal = 40000000 if idx == 1 else 60000000
    rate = Decimal("2.60") if idx == 1 else Decimal("2.85")
    term = 240 if idx == 1 else 360
    r = rate / 1200
    payment = yuan(Decimal(principal) / 100 * r * (1 + r) ** term / ((1 + r) ** term - 1))
    balance = principal
    rows, paid = [], 21
    year, month = 2024, 11      # disbursed 2024-11-20: installment k falls k months later, as the plan
    for n in range(1, paid + 1):
        month += 1
        if month == 13:
            year, month = year + 1, 1
        interest = yuan(Decimal(balance) / 100 * r)
        part = payment - interest
        balance -= part
        rows.append({"type": "repayment", "contract_no": f"HT{idx:06d}", "period_no": n,
                     "date": f"{year}-{month:02d}-20", "amount": money(payment), "principal": money(part),
                     "interest": money(interest), "penalty": "0.00", "balance_after": money(balance)})
    loan = {"type": "loan", "contract_no": f"HT{idx:06d}", "id_number": id_number, "bank": "中国建设银行太原分行",
            "repay_account": "6217000010001234567" if idx == 1 else "6222020200112345678",
            "principal": money(principal), "annual_rate": str(rate), "term_months": term,
            "method": "equal_installment", "disbursed_on": "2024-11-20", "repayment_day": 20,
            "balance": money(balance), "paid_periods": paid, "status": "normal"}
    return [loan, *rows]


if __name__ == "__main__":
    main()
