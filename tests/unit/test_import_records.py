"""Validation of center-record lines (CONTRACT section 7), one line at a time."""

import datetime as dt
import json

import pytest

from chalicelib import importer
from tests.support.factories import make_id_number

ID = make_id_number("140105", dt.date(1985, 1, 1), 123)

GOOD = {
    "unit": {"type": "unit", "unit_no": "U1", "name": "示例单位", "credit_code": "91140100MA0K000001",
             "ratio_unit": "12", "ratio_person": "12", "status": "normal", "agent_name": "王", "agent_phone": "13900000001"},
    "person": {"type": "person", "id_number": ID, "name": "张三", "phone": "13800000001"},
    "account": {"type": "account", "account_no": "GR1", "id_number": ID, "kind": "employee", "unit_no": "U1",
                "status": "normal", "base": "8000.00", "ratio_person": "12", "ratio_unit": "12",
                "monthly_amount": "1920.00", "balance": "100.00", "paid_through": "202610", "opened_on": "2020-01-01"},
    "deposit": {"type": "deposit", "serial_no": "D1", "account_no": "GR1", "date": "2018-09-08", "period": "201809",
                "kind": "remit", "amount": "2126.00", "balance_after": "5126.00"},
    "withdrawal": {"type": "withdrawal", "serial_no": "W1", "account_no": "GR1", "date": "2026-09-15",
                   "withdrawal_type": "rent", "amount": "100.00", "balance_after": "0.00"},
    "loan": {"type": "loan", "contract_no": "HT1", "id_number": ID, "bank": "建行", "repay_account": "6217000010001234567",
             "principal": "400000.00", "annual_rate": "2.60", "term_months": 240, "method": "equal_installment",
             "disbursed_on": "2024-11-20", "repayment_day": 20, "balance": "390000.00", "paid_periods": 21,
             "status": "normal"},
    "repayment": {"type": "repayment", "contract_no": "HT1", "period_no": 21, "date": "2026-08-20",
                  "amount": "2139.73", "principal": "1300.00", "interest": "839.73", "penalty": "0.00",
                  "balance_after": "390000.00"},
    "branch": {"type": "branch", "branch_id": "B1", "name": "迎泽网点", "address": "太原市", "phone": "0351-7000001",
               "slots": ["09:00-10:00", "10:00-11:00"], "capacity_per_slot": 5},
    "property": {"type": "property", "project_no": "P1", "name": "示例小区", "developer": "示例置业",
                 "address": "太原市", "status": "selling"},
    "notice": {"type": "notice", "notice_id": "N1", "category": "news", "title": "通知", "body": "正文",
               "published_on": "2026-10-08"},
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_every_record_type_accepts_a_good_line(kind):
    record = importer.parse_line(json.dumps(GOOD[kind], ensure_ascii=False))
    assert record.type == kind


BAD = [
    ("person", {"id_number": ID[:-1] + ("0" if ID[-1] != "0" else "1")}, "id_number"),   # check digit
    ("person", {"id_number": "14010519850230123X"}, "id_number"),                         # 30 February
    ("person", {"phone": "12345678901"}, "phone"),
    ("unit", {"ratio_unit": "13"}, "ratio_unit"),                                         # above the policy's 12 %
    ("unit", {"ratio_unit": 12}, "ratio_unit"),                                           # not a string
    ("account", {"balance": 100.5}, "balance"),                                           # float money
    ("account", {"balance": "100.5"}, "balance"),
    ("account", {"unit_no": None}, "unit_no"),                                            # employee without a unit
    ("account", {"paid_through": "202613"}, "paid_through"),
    ("deposit", {"kind": "gift"}, "kind"),
    ("deposit", {"amount": "6000.00"}, "余额"),                                           # balance after < amount
    ("withdrawal", {"withdrawal_type": "holiday"}, "withdrawal_type"),
    ("loan", {"balance": "500000.00"}, "余额"),
    ("repayment", {"interest": "1.00"}, "之和"),
    ("branch", {"slots": ["10:00-09:00"]}, "slots"),
    ("notice", {"category": "gossip"}, "category"),
    ("notice", {"extra": 1}, "extra"),
]


@pytest.mark.parametrize("kind, change, word", BAD)
def test_bad_lines_are_refused_with_a_reason(kind, change, word):
    line = {**GOOD[kind], **change}
    with pytest.raises(ValueError) as excinfo:
        importer.parse_line(json.dumps(line, ensure_ascii=False))
    assert word in str(excinfo.value)


@pytest.mark.parametrize("text, word", [("{", "JSON"), ("[1]", "对象"), ('{"type": "martian"}', "type")])
def test_unparseable_lines_are_refused(text, word):
    with pytest.raises(ValueError) as excinfo:
        importer.parse_line(text)
    assert word in str(excinfo.value)


def test_region_codes_assigned_after_birth_are_accepted():
    # 140105 was assigned after 1985 in the code tables; real people carry it, the records are the authority
    record = importer.parse_line(json.dumps({**GOOD["person"], "id_number": make_id_number("140105", dt.date(1960, 1, 1), 7)}))
    assert record.id_number.startswith("140105")


# ---------------------------------------------------------------- issue 16 item 5: an account's history


def test_an_account_without_history_gets_its_current_figures_from_the_opening_month():
    record = importer.parse_line(json.dumps(GOOD["account"], ensure_ascii=False))
    [entry] = record.terms()
    # GOOD["account"]: opened 2020-01-01, base 8000.00, 1920.00 a month (8000 x 12 % x 2)
    assert (entry.from_period, entry.amount, entry.base, entry.ratio_unit) == ("202001", 192_000, 800_000, "12")


def test_an_account_may_carry_its_history_oldest_first_ending_at_the_current_figures():
    history = [{"from_period": "202001", "monthly_amount": "1440.00", "base": "6000.00"},
               {"from_period": "202507", "monthly_amount": "1920.00", "base": "8000.00"}]
    record = importer.parse_line(json.dumps({**GOOD["account"], "history": history}, ensure_ascii=False))
    assert [(t.from_period, t.amount, t.base) for t in record.terms()] == [("202001", 144_000, 600_000),
                                                                           ("202507", 192_000, 800_000)]
    for bad in (list(reversed(history)),                                          # not oldest first
                [history[0]],                                                     # does not end at today's figures
                [history[0], {**history[1], "monthly_amount": "1920.5"}]):        # float-like money
        with pytest.raises(ValueError):
            importer.parse_line(json.dumps({**GOOD["account"], "history": bad}, ensure_ascii=False))
