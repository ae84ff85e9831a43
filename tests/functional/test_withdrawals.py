"""Withdrawals (提取) over HTTP: the types list, every type applied for, automatic payouts, the center's review
(approval and rejection end to end), declines, retries and the race guards."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from chalicelib import clock, policy
from chalicelib.adapters import bank
from chalicelib.http import auth
from chalicelib.services import ledger
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.kv import StateItem
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.messages import Message, OutboundSms
from tests.support import factories, loan_data
from tests.support.moto_module import shared_tables  # noqa: F401  (fixture)

NOW = "2026-07-15T09:00:00+08:00"
RULES = policy.get().withdrawals.types
TYPES = list(RULES)
DETAILS = {
    "retirement": {"retire_unit": "太原示例科技有限公司", "retire_cert_no": "TX2026-001", "approved_on": "2026-06-30"},
    "unemployment": {"unemployment_cert_no": "SY2026-123"},
    "purchase": {"purchase_contract_no": "GF2026-0001"},
    "build": {"build_contract_no": "JF2026-0001"},
    "commercial_loan_repayment": {"bank": "中国工商银行", "loan_contract_no": "SD2026-01"},
    "loan_down_payment": {"purchase_contract_no": "GF2026-0002", "purchase_date": "2026-05-20"},
}
OLD = dt.date(1960, 3, 15)          # past the statutory retirement age in 2026 whatever the sex (60 / 50 before 2025)
YOUNG = dt.date(1985, 6, 15)        # 41 in 2026: a man retires at 63 (births from 1976-09), a woman at 55 at least


@pytest.fixture
def aws(request, local_dir):
    """This module's tests share one set of moto tables (tests/support/moto_module.py)."""
    request.getfixturevalue("shared_tables")


@pytest.fixture(autouse=True)
def _bank():
    bank.reset()
    yield
    bank.reset()


def make_person(kind: str = "rent", *, balance: int = 3_092_143, status: str | None = None, sms: bool = False,
                card_no: str = "6222020200112233445", birth: dt.date | None = None):
    """A depositor who may withdraw ``kind`` (its rule decides the account status and the loan; retirement
    needs someone past the statutory age)."""
    rule = RULES[kind]
    status = status or rule.account_status[0]
    birth = birth or (OLD if rule.retirement_age else YOUNG)
    p = factories.person(id_number=factories.new_id_number(birth))
    a = factories.account(p, status=status, balance=balance, opened_on="2015-07-01", paid_through="202606")
    if status == "sealed":
        a.update(actions=[Account.sealed_on.set("2025-01-05")])
    u = factories.user(p, sms_subscribed=sms)
    login = factories.login(u.user_id)
    loan = None
    if rule.loan_statuses:
        loan = loan_data.loan(p.id_number, status=rule.loan_statuses[0], paid_periods=21)
    return SimpleNamespace(p=p, a=a, u=u, login=login, card=factories.card(p, card_no=card_no), loan=loan)


def details_of(who, kind):
    if kind == "hpf_loan_repayment":
        return {"contract_no": who.loan.contract_no}
    return DETAILS.get(kind, {})


@pytest.fixture
def now(aws, clock_file):
    clock_file(NOW)
    return clock.now()


@pytest.fixture
def operator(aws):
    return factories.login("op-wd", auth.OPERATOR, op_role="reviewer")


def withdraw(client, who, kind, *, key="w1", details=None, amount=None, card=None, step_up=True):
    body = {"type": kind, "bank_card_id": (card or who.card).card_id,
            "details": details_of(who, kind) if details is None else details}
    if amount is not None:
        body["amount"] = amount
    headers = {"Idempotency-Key": key}
    if step_up:
        headers["X-Step-Up-Token"] = who.login.step_up_token()
    return client.http.post("/v1/withdrawals", headers=who.login.with_headers(**headers), body=json.dumps(body))


def decide(client, operator, serial, decision="approve", opinion="材料齐全，同意"):
    return client.http.post(f"/v1/admin/reviews/{serial}/decision", headers=operator.headers,
                            body=json.dumps({"decision": decision, "opinion": opinion}))


def entries(account_no):
    return sorted(LedgerEntry.flow_index.query(account_no), key=lambda e: e.serial_no)


def balance(account_no):
    return int(Account.get(account_no, consistent_read=True).balance)


def payouts():
    return [x for x in bank.gateway().read() if x["op"] == "payout"]


# ---------------------------------------------------------------- GET /v1/withdrawals/types


def test_types_tell_every_type_whether_and_how_much(client, now):
    who = make_person("rent", balance=3_092_143)
    resp = client.http.get("/v1/withdrawals/types", headers=who.login.headers)
    assert resp.status_code == 200, resp.json_body
    by_type = {t["type"]: t for t in resp.json_body}
    assert list(by_type) == TYPES
    assert by_type["rent"]["eligible"] and by_type["rent"]["max_amount"] == "14400.00"
    assert by_type["rent"]["message"] == "您本次可以提取的金额为：¥14400.00元整。"
    assert by_type["property_fee"]["max_amount"] == "2600.00"
    # issue 16 item 7: a 41-year-old whose account is paid into is not offered retirement (this test asserted
    # the whole balance, 30921.43, before)
    retirement = by_type["retirement"]
    assert (retirement["eligible"], retirement["max_amount"], retirement["closes_account"]) == (False, None, True)
    assert retirement["reason_code"] == "still_depositing"
    assert by_type["purchase"]["max_amount"] == "30900.00" and by_type["purchase"]["review"] == "manual"
    unemployment = by_type["unemployment"]
    assert (unemployment["eligible"], unemployment["reason_code"], unemployment["max_amount"]) == (
        False, "still_depositing", None)          # issue 16 item 6: judged for the person (was account_status)
    assert unemployment["reason_if_not"] and unemployment["message"] == unemployment["reason_if_not"]
    assert by_type["hpf_loan_repayment"]["reason_code"] == "no_loan"
    assert by_type["retirement"]["details_fields"] == ["retire_unit", "retire_cert_no", "approved_on"]


def test_types_keep_one_fen_while_a_loan_is_open_and_cap_loan_repayment_by_the_loan(client, now):
    who = make_person("hpf_loan_repayment", balance=2_000_000)
    by_type = {t["type"]: t for t in client.http.get("/v1/withdrawals/types", headers=who.login.headers).json_body}
    assert by_type["hpf_loan_repayment"]["max_amount"] == "19900.00"        # 19999.99 rounded down to hundreds
    assert by_type["rent"]["reason_code"] == "open_loan"
    # issue 16 item 9: no account-closing withdrawal while the loan is unsettled (it took the 0.01 too before)
    sealed_with_loan = make_person("retirement", balance=2_000_000)
    loan_data.loan(sealed_with_loan.p.id_number)
    by_type = {t["type"]: t for t in client.http.get("/v1/withdrawals/types",
                                                     headers=sealed_with_loan.login.headers).json_body}
    for kind in ("retirement", "incapacity", "abroad"):
        assert by_type[kind]["reason_code"] == "open_loan" and "请先结清住房公积金贷款" in by_type[kind]["message"]


def test_types_need_a_depositor(client, now):
    assert client.http.get("/v1/withdrawals/types").status_code == 401


# ---------------------------------------------------------------- every type applied for


@pytest.mark.parametrize("kind", TYPES)
def test_every_type_is_paid_at_once_or_submitted_for_review_as_the_policy_says(client, now, kind):
    who = make_person(kind)
    resp = withdraw(client, who, kind)
    assert resp.status_code == 201, resp.json_body
    body = resp.json_body
    [record] = [r for r in BusinessRecord.owner_index.query(who.p.id_number) if r.kind == "withdrawal"]
    assert (record.type, record.serial_no) == (kind, body["serial_no"])
    if RULES[kind].review == "automatic":
        assert body["status"] == "paid" and record.queue is None
        [entry] = entries(who.a.account_no)
        assert (entry.kind, entry.type, entry.direction, entry.amount) == ("withdrawal", kind, "W",
                                                                            int(record.amount))
        assert [p["amount"] for p in payouts()] == [entry.amount]
    else:
        assert body["status"] == "submitted" and record.queue == "withdrawal"
        assert entries(who.a.account_no) == [] and payouts() == []
    assert body["details"] == details_of(who, kind)


@pytest.mark.parametrize("kind", TYPES)
def test_every_type_refuses_a_frozen_account(client, now, kind):
    who = make_person(kind, status="frozen")
    resp = withdraw(client, who, kind)
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "NOT_ELIGIBLE"
    assert resp.json_body["error"]["details"]["reason"] == "account_status"
    assert entries(who.a.account_no) == []


@pytest.mark.parametrize("kind", [k for k in TYPES if RULES[k].cap is not None])
def test_every_capped_type_refuses_a_cent_above_its_cap(client, now, kind):
    who = make_person(kind, balance=10_000_000)
    cap = RULES[kind].cap
    over = withdraw(client, who, kind, amount=f"{(cap + 1) // 100}.{(cap + 1) % 100:02d}")
    assert over.status_code == 422 and over.json_body["error"]["details"]["max_amount"].replace(".", "") == str(cap)
    at_cap = withdraw(client, who, kind, key="w2", amount=f"{cap // 100}.{cap % 100:02d}")
    assert at_cap.status_code == 201 and at_cap.json_body["amount"] == f"{cap // 100}.{cap % 100:02d}"


def test_the_types_details_are_checked_field_by_field(client, now):
    who = make_person("retirement")
    resp = withdraw(client, who, "retirement", details={"retire_unit": "单位", "approved_on": "2026-13-01",
                                                         "extra": "x"})
    assert resp.status_code == 400
    fields = resp.json_body["error"]["details"]["fields"]
    assert set(fields) == {"details.retire_cert_no", "details.approved_on", "details.extra"}
    future = withdraw(client, who, "retirement", key="w2",
                      details={**DETAILS["retirement"], "approved_on": "2026-07-16"})
    assert future.status_code == 400 and "details.approved_on" in future.json_body["error"]["details"]["fields"]
    rent = withdraw(client, make_person("rent"), "rent", details={"purchase_contract_no": "X"})
    assert rent.status_code == 400 and "details.purchase_contract_no" in rent.json_body["error"]["details"]["fields"]


@pytest.mark.parametrize("body", [{"type": "lottery", "bank_card_id": "c1"}, {"type": "rent"},
                                  {"type": "rent", "bank_card_id": "c1", "amount": 100.5},
                                  {"type": "rent", "bank_card_id": "c1", "details": []}])
def test_bad_bodies_are_400(client, now, body):
    who = make_person("rent")
    resp = client.http.post("/v1/withdrawals", body=json.dumps(body), headers=who.login.with_headers(
        **{"Idempotency-Key": "b", "X-Step-Up-Token": who.login.step_up_token()}))
    assert resp.status_code == 400 and resp.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_a_withdrawal_needs_step_up(client, now):
    who = make_person("rent")
    resp = withdraw(client, who, "rent", step_up=False)
    assert resp.status_code == 401 and resp.json_body["error"]["details"] == {"step_up": "required"}
    assert entries(who.a.account_no) == []


def test_another_persons_card_is_not_found(client, now):
    who, other = make_person("rent"), make_person("rent")
    resp = withdraw(client, who, "rent", card=other.card)
    assert resp.status_code == 404 and entries(who.a.account_no) == []


# ---------------------------------------------------------------- automatic payout


def test_rent_is_paid_to_the_card_once_and_told_by_message_and_sms(client, now):
    who = make_person("rent", balance=3_092_143, sms=True)
    first = withdraw(client, who, "rent")
    again = withdraw(client, who, "rent")
    assert first.status_code == again.status_code == 201 and first.json_body == again.json_body
    assert first.json_body["amount"] == "14400.00" and first.json_body["card"] == "622202*********3445"
    assert balance(who.a.account_no) == 3_092_143 - 1_440_000
    assert len(entries(who.a.account_no)) == 1 and len(payouts()) == 1
    [msg] = Message.query(who.p.id_number)
    assert msg.title == "租房提取成功" and "16521.43" in msg.body
    assert sms_of(who) == [f"【公积金】{msg.body}"]
    assert Account.get(who.a.account_no).last_withdrawal_on == "2026-07-15"


def test_a_second_rent_within_twelve_months_is_refused(client, now):
    who = make_person("rent")
    assert withdraw(client, who, "rent", amount="1000.00").status_code == 201
    resp = withdraw(client, who, "rent", key="w2", amount="1000.00")
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "interval"
    assert "2027-07-15 起可再次办理" in resp.json_body["error"]["message"]


def test_housing_consumption_is_one_kind_a_year(client, now, operator):
    who = make_person("rent")
    assert withdraw(client, who, "rent", amount="1000.00").status_code == 201
    resp = withdraw(client, who, "purchase", key="w2")
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "housing_exclusive"
    assert withdraw(client, who, "property_fee", key="w3").status_code == 201     # not housing consumption


def test_an_imported_withdrawal_counts_for_the_interval(client, now):
    who = make_person("property_fee")
    LedgerEntry("W-IMPORTED", account_no=who.a.account_no, direction="W", kind="withdrawal", type="property_fee",
                date="2026-03-01", amount=100_000, balance_before=3_192_143, balance_after=3_092_143,
                counterparty="import", **LedgerEntry.keys_for(who.a.account_no, "W", "2026-03-01", "W-IMPORTED")).save()
    resp = withdraw(client, who, "property_fee")
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "interval"


def test_a_declined_payout_is_reversed_and_the_citizen_may_try_another_card(client, now):
    who = make_person("rent", card_no="6222020200112230000")
    resp = withdraw(client, who, "rent", amount="2000.00")
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "PAYMENT_DECLINED"
    assert balance(who.a.account_no) == 3_092_143
    assert [(e.kind, e.direction, e.amount) for e in entries(who.a.account_no)] == [
        ("withdrawal", "W", 200_000), ("reversal", "D", 200_000)]
    record = BusinessRecord.get(resp.json_body["error"]["details"]["serial_no"])
    assert record.status == "cancelled" and "银行拒绝" in record.opinion
    again = withdraw(client, who, "rent", amount="2000.00")              # same key: the same refusal
    assert again.status_code == 422 and again.json_body == resp.json_body
    good = factories.card(who.p)
    ok = withdraw(client, who, "rent", key="w2", amount="2000.00", card=good)
    assert ok.status_code == 201 and balance(who.a.account_no) == 3_092_143 - 200_000
    # the citizen's 提取明细: the refused one reads "reversed", the paid one "paid"
    listed = client.http.get("/v1/me/withdrawals", headers=who.login.headers).json_body["items"]
    assert {i["serial_no"]: i["status"] for i in listed} == {record.serial_no: "reversed",
                                                            ok.json_body["serial_no"]: "paid"}


def test_a_bank_outage_answers_503_and_the_same_key_pays_once(client, now, monkeypatch):
    who = make_person("rent")
    real = bank.gateway()

    class Down:
        def payout(self, *a):
            raise bank.BankUnavailable("timeout")

    monkeypatch.setattr(bank, "_gateway", Down())
    resp = withdraw(client, who, "rent", amount="1000.00")
    assert resp.status_code == 503
    assert balance(who.a.account_no) == 3_092_143 - 100_000          # reserved by the posting
    monkeypatch.setattr(bank, "_gateway", real)
    retry = client.http.post("/v1/withdrawals", headers=who.login.with_headers(
        **{"Idempotency-Key": "w1-retry", "X-Step-Up-Token": who.login.step_up_token()}), body=json.dumps(
        {"type": "rent", "bank_card_id": who.card.card_id, "amount": "1000.00"}))
    assert retry.status_code == 422 and retry.json_body["error"]["details"]["reason"] == "interval"
    from chalicelib.services import withdrawals

    record = next(r for r in BusinessRecord.owner_index.query(who.p.id_number) if r.kind == "withdrawal")
    resumed = withdrawals.apply(id_number=who.p.id_number, kind="rent", amount=100_000, card_id=who.card.card_id,
                                details={}, serial=record.serial_no, now=now, actor="t")
    assert resumed.status == "paid" and len(payouts()) == 1 and len(entries(who.a.account_no)) == 1


def test_a_loan_repayment_withdrawal_keeps_one_fen_and_is_capped_by_the_loan(client, now):
    who = make_person("hpf_loan_repayment", balance=2_000_000)
    resp = withdraw(client, who, "hpf_loan_repayment")
    assert resp.status_code == 201 and resp.json_body["amount"] == "19900.00"
    too_much = make_person("hpf_loan_repayment", balance=2_000_000)
    resp = withdraw(client, too_much, "hpf_loan_repayment", amount="20000.00")
    assert resp.status_code == 422


def test_a_loan_repayment_withdrawal_is_refused_with_monthly_offset_signed(client, now):
    who = make_person("hpf_loan_repayment")
    who.loan.update(actions=[who.loan.__class__.offset_signed.set(True)])
    resp = withdraw(client, who, "hpf_loan_repayment")
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "offset_signed"


def test_a_loan_repayment_withdrawal_for_someone_elses_loan_is_refused(client, now):
    who, other = make_person("hpf_loan_repayment"), make_person("rent")
    theirs = loan_data.loan(other.p.id_number)
    resp = withdraw(client, who, "hpf_loan_repayment", details={"contract_no": theirs.contract_no})
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "no_loan"


# ---------------------------------------------------------------- center review


def _queue(client, operator, who):
    items = client.http.get("/v1/admin/reviews?kind=withdrawal&limit=100", headers=operator.headers).json_body
    return [i for i in items["items"] if i["serial_no"] in _serials(who)]


def _serials(who):
    return {r.serial_no for r in BusinessRecord.owner_index.query(who.p.id_number)}


def sms_of(who):
    return [s.text for s in OutboundSms.scan() if s.phone == who.p.phone]


def test_approval_end_to_end_pays_out_and_the_citizen_sees_the_decision(client, now, operator):
    who = make_person("unemployment", balance=3_092_143, sms=True)
    submitted = withdraw(client, who, "unemployment")
    assert submitted.status_code == 201 and submitted.json_body["status"] == "submitted"
    serial = submitted.json_body["serial_no"]
    assert [i["serial_no"] for i in _queue(client, operator, who)] == [serial]
    item = client.http.get(f"/v1/admin/reviews/{serial}", headers=operator.headers).json_body
    assert item["type"] == "unemployment" and item["amount"] == "30921.43"
    assert item["details"]["unemployment_cert_no"] == "SY2026-123"
    second = withdraw(client, who, "purchase", key="w2")
    assert second.status_code == 422 and second.json_body["error"]["details"]["reason"] == "pending"

    resp = decide(client, operator, serial)
    assert resp.status_code == 200 and resp.json_body["status"] == "paid"
    assert balance(who.a.account_no) == 0
    [entry] = entries(who.a.account_no)
    assert (entry.serial_no, entry.type, entry.amount) == (serial, "unemployment", 3_092_143)
    assert [p["reference"] for p in payouts()] == [serial]
    mine = client.http.get(f"/v1/withdrawals/{serial}", headers=who.login.headers).json_body
    assert (mine["status"], mine["opinion"]) == ("paid", "材料齐全，同意") and mine["decided_at"]
    record = BusinessRecord.get(serial)
    assert (record.status, record.decided_by, record.queue) == ("paid", "op-wd", None)
    titles = [m.title for m in Message.query(who.p.id_number)]
    assert sorted(titles) == sorted(["失业提取申请已提交", "失业提取审核通过"])
    assert any("审核意见：材料齐全，同意" in text for text in sms_of(who))
    assert _queue(client, operator, who) == []
    assert withdraw(client, who, "purchase", key="w3").json_body["error"]["details"]["reason"] == "no_balance"


def test_rejection_end_to_end_records_the_opinion_and_frees_the_citizen(client, now, operator):
    who = make_person("purchase", sms=True)
    serial = withdraw(client, who, "purchase").json_body["serial_no"]
    resp = decide(client, operator, serial, "reject", "购房合同未备案")
    assert resp.status_code == 200 and resp.json_body["status"] == "rejected"
    mine = client.http.get(f"/v1/withdrawals/{serial}", headers=who.login.headers).json_body
    assert (mine["status"], mine["opinion"]) == ("rejected", "购房合同未备案")
    assert entries(who.a.account_no) == [] and payouts() == [] and balance(who.a.account_no) == 3_092_143
    [msg] = [m for m in Message.query(who.p.id_number) if m.kind == "review"]
    assert msg.title == "购房提取未通过审核" and "购房合同未备案" in msg.body
    assert any("购房合同未备案" in text for text in sms_of(who))
    assert withdraw(client, who, "purchase", key="w2").status_code == 201       # no longer pending
    assert decide(client, operator, serial).status_code == 409                  # decided once


def test_retirement_approval_takes_the_balance_of_that_day_and_closes_the_account(client, now, operator):
    who = make_person("retirement", balance=1_000_000)
    serial = withdraw(client, who, "retirement").json_body["serial_no"]
    ledger.post([ledger.Posting(who.a.account_no, "REMIT-LATE", "D", 50_000, "remit", period="202607")], now=now)
    resp = decide(client, operator, serial)
    assert resp.status_code == 200 and resp.json_body["status"] == "paid" and resp.json_body["amount"] == "10500.00"
    acct = Account.get(who.a.account_no)
    assert (acct.status, acct.closed_on, int(acct.balance)) == ("closed", "2026-07-15", 0)
    types = {t["type"]: t for t in client.http.get("/v1/withdrawals/types", headers=who.login.headers).json_body}
    assert types["rent"]["reason_code"] == "no_account"


def test_approval_with_a_declined_card_reverses_and_reopens_the_account(client, now, operator):
    who = make_person("retirement", balance=1_000_000, card_no="6222020200112230000")
    serial = withdraw(client, who, "retirement").json_body["serial_no"]
    resp = decide(client, operator, serial)
    assert resp.status_code == 200 and resp.json_body["status"] == "cancelled"
    acct = Account.get(who.a.account_no)
    assert (acct.status, acct.closed_on, int(acct.balance)) == ("sealed", None, 1_000_000)   # as before (停缴)
    msg = [m for m in Message.query(who.p.id_number) if m.kind == "review"][0]
    assert "银行转账未成功" in msg.body and "资金已退回" in msg.body


def test_approval_rechecks_the_rules_and_refuses_when_they_no_longer_hold(client, now, operator):
    who = make_person("purchase")
    serial = withdraw(client, who, "purchase").json_body["serial_no"]
    Account.get(who.a.account_no).update(actions=[Account.status.set("frozen"), Account.version.add(1)])
    resp = decide(client, operator, serial)
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "NOT_ELIGIBLE"
    assert BusinessRecord.get(serial).status == "submitted" and entries(who.a.account_no) == []
    assert decide(client, operator, serial, "reject", "账户已冻结").json_body["status"] == "rejected"


def test_approval_after_a_bank_outage_resumes_at_the_payout(client, now, operator, monkeypatch):
    who = make_person("purchase")
    serial = withdraw(client, who, "purchase").json_body["serial_no"]
    real = bank.gateway()

    class Down:
        def payout(self, *a):
            raise bank.BankUnavailable("timeout")

    monkeypatch.setattr(bank, "_gateway", Down())
    assert decide(client, operator, serial).status_code == 503
    assert BusinessRecord.get(serial).status == "submitted" and len(entries(who.a.account_no)) == 1
    monkeypatch.setattr(bank, "_gateway", real)
    resp = decide(client, operator, serial)
    assert resp.status_code == 200 and resp.json_body["status"] == "paid"
    assert len(entries(who.a.account_no)) == 1 and len(payouts()) == 1


def test_someone_elses_withdrawal_is_not_found(client, now):
    who, other = make_person("rent"), make_person("rent")
    serial = withdraw(client, who, "rent").json_body["serial_no"]
    assert client.http.get(f"/v1/withdrawals/{serial}", headers=other.login.headers).status_code == 404
    assert client.http.get("/v1/withdrawals/NOPE", headers=who.login.headers).status_code == 404


def test_the_pending_marker_is_the_only_one(client, now):
    who = make_person("purchase")
    withdraw(client, who, "purchase")
    [marker] = StateItem.query(f"withdrawal#{who.p.id_number}")
    assert (marker.sk, marker.status) == ("pending", "purchase")


# ---------------------------------------------------------------- judged for the person (issue 16 items 6-11)


def _types(client, who):
    return {t["type"]: t for t in client.http.get("/v1/withdrawals/types", headers=who.login.headers).json_body}


def test_a_person_depositing_at_a_new_unit_may_not_withdraw_from_an_old_sealed_account(client, now):
    # an old account sealed in 2025-01 (long enough for unemployment's 6 months) and a new one paid into
    who = make_person("unemployment", birth=OLD)
    factories.account(who.p, status="normal", balance=50_000, opened_on="2025-03-01", paid_through="202606")
    by_type = _types(client, who)
    for kind in ("unemployment", "employment_ended", "retirement", "incapacity", "abroad"):
        assert (by_type[kind]["eligible"], by_type[kind]["reason_code"]) == (False, "still_depositing"), kind
        assert "正常缴存" in by_type[kind]["message"]
    assert by_type["purchase"]["eligible"]                  # not a leaving type: the old balance may buy a home
    resp = withdraw(client, who, "unemployment")
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "still_depositing"
    assert "停缴" in resp.json_body["error"]["message"] and entries(who.a.account_no) == []


def _expected_retirement(id_number: str) -> dt.date:
    """The decision's final ages for births of 1985 (after 1976-09 for men: 63; after 1984-11 for women of the
    50 group, the policy's group for withdrawals: 55), on the birthday; the 17th digit is odd for a man."""
    born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    years = 63 if int(id_number[16]) % 2 else 55
    return born.replace(year=born.year + years)


def test_retirement_below_the_statutory_age_is_refused_in_the_list_and_reviewed_as_early_with_an_approval(
        client, now, operator):
    who = make_person("retirement", birth=YOUNG, balance=1_000_000)
    retires_on = _expected_retirement(who.p.id_number)
    retirement = _types(client, who)["retirement"]
    assert (retirement["eligible"], retirement["reason_code"]) == (False, "retirement_age")
    assert retires_on.isoformat() in retirement["message"] and "提前退休" in retirement["message"]
    resp = withdraw(client, who, "retirement")                   # DETAILS carry 离退休证号 and 批准日期
    assert resp.status_code == 201 and resp.json_body["status"] == "submitted"
    item = client.http.get(f"/v1/admin/reviews/{resp.json_body['serial_no']}", headers=operator.headers).json_body
    assert "提前退休" in item["details"]["early_retirement"] and retires_on.isoformat() in \
        item["details"]["early_retirement"]
    assert "early_retirement" not in resp.json_body["details"]
    assert decide(client, operator, resp.json_body["serial_no"]).json_body["status"] == "paid"
    assert Account.get(who.a.account_no).status == "closed"


def test_retirement_past_the_statutory_age_with_every_account_sealed_offers_the_whole_balance(client, now):
    who = make_person("retirement", birth=OLD, balance=3_092_143)
    retirement = _types(client, who)["retirement"]
    assert (retirement["eligible"], retirement["max_amount"]) == (True, "30921.43")
    depositing = make_person("retirement", birth=OLD, status="normal")
    assert _types(client, depositing)["retirement"]["reason_code"] == "still_depositing"


def test_settling_abroad_closes_the_account_after_review(client, now, operator):
    who = make_person("abroad", balance=1_234_567)
    assert _types(client, who)["abroad"]["name"] == "出境定居提取"
    serial = withdraw(client, who, "abroad").json_body["serial_no"]
    resp = decide(client, operator, serial)
    assert resp.status_code == 200 and (resp.json_body["status"], resp.json_body["amount"]) == ("paid", "12345.67")
    assert Account.get(who.a.account_no).status == "closed"


def test_a_closing_withdrawal_with_an_unsettled_loan_is_refused(client, now):
    for kind in ("retirement", "incapacity", "abroad"):
        who = make_person(kind)
        loan_data.loan(who.p.id_number, status="approved", paid_periods=0)
        resp = withdraw(client, who, kind, key=f"c-{kind}")
        assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "open_loan"
        assert "请先结清住房公积金贷款" in resp.json_body["error"]["message"]


def test_a_down_payment_is_withdrawn_once_per_purchase_contract(client, now, operator):
    who = make_person("loan_down_payment")
    first = withdraw(client, who, "loan_down_payment", amount="1000.00")
    assert decide(client, operator, first.json_body["serial_no"]).json_body["status"] == "paid"
    again = withdraw(client, who, "loan_down_payment", key="w2", amount="1000.00")
    assert again.status_code == 422 and again.json_body["error"]["details"]["reason"] == "contract_used"
    assert "GF2026-0002" in again.json_body["error"]["message"]
    other = withdraw(client, who, "loan_down_payment", key="w3", amount="1000.00",
                     details={"purchase_contract_no": "GF2026-0009", "purchase_date": "2026-05-20"})
    assert other.status_code == 201 and other.json_body["status"] == "submitted"


def test_a_declined_down_payment_gives_its_contract_back(client, now, operator):
    who = make_person("loan_down_payment", card_no="6222020200112230000")
    first = withdraw(client, who, "loan_down_payment", amount="1000.00")
    assert decide(client, operator, first.json_body["serial_no"]).json_body["status"] == "cancelled"
    good = factories.card(who.p)
    again = withdraw(client, who, "loan_down_payment", key="w2", amount="1000.00", card=good)
    assert again.status_code == 201 and again.json_body["status"] == "submitted"


def test_a_down_payment_is_withdrawn_within_twelve_months_of_the_purchase(client, now):
    who = make_person("loan_down_payment")
    late = withdraw(client, who, "loan_down_payment",
                    details={"purchase_contract_no": "GF2025-0001", "purchase_date": "2025-07-14"})
    assert late.status_code == 422 and late.json_body["error"]["details"]["reason"] == "window"
    assert "2026-07-14" in late.json_body["error"]["message"]
    future = withdraw(client, who, "loan_down_payment", key="w2",
                      details={"purchase_contract_no": "GF2026-0001", "purchase_date": "2026-07-16"})
    assert future.status_code == 400 and "details.purchase_date" in future.json_body["error"]["details"]["fields"]
    missing = withdraw(client, who, "loan_down_payment", key="w3", details={"purchase_contract_no": "GF2026-0001"})
    assert missing.status_code == 400 and "details.purchase_date" in missing.json_body["error"]["details"]["fields"]
    on_time = withdraw(client, who, "loan_down_payment", key="w4",
                       details={"purchase_contract_no": "GF2025-0002", "purchase_date": "2025-07-15"})
    assert on_time.status_code == 201
