"""Loan services over HTTP: 提前还本 (prepayment), 提前结清 (settlement), 月对冲签约/解约 (offset), and the
``loan-offset-deduction`` job that pays installments from the HPF balance once per period."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest

from chalicelib import clock, jobs, policy, settings
from chalicelib.adapters import bank
from chalicelib.rules import loans as rules
from chalicelib.services import loan_offset, loan_services
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.loans import Loan, Repayment
from chalicelib.store.messages import Message
from tests.support import factories, loan_data
from tests.support.moto_module import shared_tables  # noqa: F401  (fixture)

NOW = "2026-09-05T10:00:00+08:00"          # period 21 of the test loans fell on 2026-08-20
PREPAY = policy.get().loans.prepayment


@pytest.fixture
def aws(request, local_dir):
    """This module's tests share one set of moto tables (tests/support/moto_module.py)."""
    request.getfixturevalue("shared_tables")


@pytest.fixture(autouse=True)
def _bank():
    bank.reset()
    yield
    bank.reset()


@pytest.fixture
def now(aws, clock_file):
    clock_file(NOW)
    return clock.now()


def borrower(*, balance: int = 5_000_000, status: str = "normal", account_status: str = "normal", **loan_kw):
    p = factories.person()
    a = factories.account(p, status=account_status, balance=balance)
    u = factories.user(p)
    loan = loan_data.loan(p.id_number, status=status, **loan_kw)
    return SimpleNamespace(p=p, a=a, u=u, login=factories.login(u.user_id), loan=loan)


def post(client, who, path, body=None, *, key="k1", step_up=True):
    headers = {"Idempotency-Key": key}
    if step_up:
        headers["X-Step-Up-Token"] = who.login.step_up_token()
    return client.http.post(path, headers=who.login.with_headers(**headers), body=json.dumps(body or {}))


def prepay(client, who, amount="50000.00", mode="shorten_term", **kw):
    return post(client, who, f"/v1/me/loans/{who.loan.contract_no}/prepayments", {"amount": amount, "mode": mode},
                **kw)


def fresh(loan) -> Loan:
    return Loan.get(loan.contract_no, consistent_read=True)


def debits():
    return [x for x in bank.gateway().read() if x["op"] == "debit"]


# ---------------------------------------------------------------- 提前还本


@pytest.mark.parametrize("mode", ["shorten_term", "lower_payment"])
def test_prepayment_recomputes_the_plan_and_tells_the_interest_saved(client, now, mode):
    who = borrower()
    before = fresh(who.loan)
    resp = prepay(client, who, "50000.00", mode)
    assert resp.status_code == 201, resp.json_body
    body = resp.json_body
    expected = rules.prepayment(int(before.balance), Decimal("2.60"), 240 - 21, "equal_installment", 5_000_000, mode)
    assert body["interest_saved"] == f"{expected.interest_saved / 100:.2f}" and expected.interest_saved > 0
    assert body["after"]["remaining_months"] == expected.after.remaining_months
    assert body["balance_after"] == f"{(int(before.balance) - 5_000_000) / 100:.2f}"
    loan = fresh(who.loan)
    assert int(loan.balance) == int(before.balance) - 5_000_000 and loan.version == before.version + 1
    if mode == "shorten_term":
        assert loan.term_months == 21 + expected.after.remaining_months < 240
        assert expected.after.monthly_payment <= expected.before.monthly_payment
    else:
        assert loan.term_months == 240 and expected.after.monthly_payment < expected.before.monthly_payment
    [rep] = loan_services.extra_repayments(loan.contract_no)
    assert (rep.period_no, rep.source, rep.amount, rep.principal, rep.serial_no) == (
        1021, "prepayment", 5_000_000, 5_000_000, body["serial_no"])
    assert [(d["amount"], d["reference"], d["card_tail"]) for d in debits()] == [
        (5_000_000, body["serial_no"], "4567")]
    record = BusinessRecord.get(body["serial_no"])
    assert (record.kind, record.status) == ("loan_prepayment", "done")
    assert [m.title for m in Message.query(who.p.id_number)] == ["提前还本成功"]


def test_prepayment_agrees_with_the_public_calculator(client, now):
    who = borrower()
    balance = int(fresh(who.loan).balance)
    calc = client.http.post("/v1/tools/prepayment-calculator", headers={"Content-Type": "application/json"},
                            body=json.dumps({"principal": "400000.00", "annual_rate": "2.60", "term_months": 240,
                                             "method": "equal_installment", "paid_periods": 21,
                                             "balance": f"{balance / 100:.2f}", "prepay_amount": "50000.00",
                                             "mode": "shorten_term"})).json_body
    mine = prepay(client, who).json_body
    assert mine["interest_saved"] == calc["interest_saved"]
    assert mine["after"]["monthly_payment"] == calc["after"]["monthly_payment"]


def test_a_prepayment_retried_with_the_same_key_debits_and_applies_once(client, now):
    who = borrower()
    first, again = prepay(client, who), prepay(client, who)
    assert again.status_code == 201 and again.json_body == first.json_body
    assert len(debits()) == 1 and len(loan_services.extra_repayments(who.loan.contract_no)) == 1


def test_prepayment_below_the_minimum_amount_is_refused(client, now):
    who = borrower()
    below = PREPAY.min_amount - 1
    resp = prepay(client, who, f"{below // 100}.{below % 100:02d}")
    assert resp.status_code == 400 and "amount" in resp.json_body["error"]["details"]["fields"]
    assert debits() == []


def test_prepayment_before_the_minimum_months_is_refused(client, now):
    who = borrower(paid_periods=PREPAY.min_months_repaid - 1)
    resp = prepay(client, who)
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "min_months_repaid"
    assert debits() == []


def test_prepayment_beyond_the_times_a_year_is_refused_until_next_year(client, now, clock_file):
    who = borrower()
    assert prepay(client, who).status_code == 201
    resp = prepay(client, who, key="k2")
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "times_per_year"
    clock_file("2027-01-05T10:00:00+08:00")
    who.login = factories.login(who.u.user_id)
    assert prepay(client, who, key="k3").status_code == 201
    keys = sorted(int(r.period_no) for r in loan_services.extra_repayments(who.loan.contract_no))
    assert keys == [1021, 2021]          # two prepayments after the same period never collide


def test_prepaying_the_whole_balance_asks_for_settlement(client, now):
    who = borrower()
    balance = int(fresh(who.loan).balance)
    resp = prepay(client, who, f"{balance // 100}.{balance % 100:02d}")
    assert resp.status_code == 400 and "提前结清" in resp.json_body["error"]["message"]


def test_an_overdue_loan_may_not_be_prepaid(client, now):
    who = borrower(status="overdue")
    resp = prepay(client, who)
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "overdue"


def test_a_declined_debit_leaves_the_loan_untouched(client, now):
    who = borrower(repay_account="6217000010001230000")
    resp = prepay(client, who)
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "PAYMENT_DECLINED"
    assert fresh(who.loan).balance == who.loan.balance
    assert BusinessRecord.get(resp.json_body["error"]["details"]["serial_no"]).status == "cancelled"


def test_a_loan_that_moves_while_the_bank_debits_is_recomputed_on_the_fresh_loan(client, now, monkeypatch):
    # GIVEN an installment recorded by another process while the bank is debiting the prepayment
    who = borrower()
    real = bank.gateway()

    class Slow:
        def debit(self, card_no, amount, reference):
            loan = fresh(who.loan)
            loan.update(actions=[Loan.balance.set(int(loan.balance) - 100_000), Loan.paid_periods.set(22),
                                 Loan.version.add(1)])
            return real.debit(card_no, amount, reference)

    monkeypatch.setattr(bank, "_gateway", Slow())
    before = int(fresh(who.loan).balance) - 100_000
    resp = prepay(client, who)
    # THEN the prepayment applies to the loan as it is now, once
    assert resp.status_code == 201
    assert int(fresh(who.loan).balance) == before - 5_000_000 and resp.json_body["balance_after"] == \
        f"{(before - 5_000_000) / 100:.2f}"
    assert [int(r.period_no) for r in loan_services.extra_repayments(who.loan.contract_no)] == [1022]


def test_loan_services_need_step_up_and_the_borrowers_own_loan(client, now):
    who, other = borrower(), borrower()
    assert prepay(client, who, step_up=False).status_code == 401
    resp = post(client, other, f"/v1/me/loans/{who.loan.contract_no}/prepayments",
                {"amount": "50000.00", "mode": "shorten_term"})
    assert resp.status_code == 404
    assert post(client, other, f"/v1/me/loans/{who.loan.contract_no}/settlement").status_code == 404
    assert client.http.put(f"/v1/me/loans/{who.loan.contract_no}/offset", headers=other.login.headers,
                           body=json.dumps({"signed": True})).status_code == 404


@pytest.mark.parametrize("body", [{"amount": 50000, "mode": "shorten_term"}, {"amount": "50000.00"},
                                  {"amount": "50000.00", "mode": "faster"}])
def test_bad_prepayment_bodies_are_400(client, now, body):
    who = borrower()
    resp = post(client, who, f"/v1/me/loans/{who.loan.contract_no}/prepayments", body)
    assert resp.status_code == 400 and resp.json_body["error"]["code"] == "VALIDATION_FAILED"


# ---------------------------------------------------------------- 提前结清


def test_settlement_pays_principal_and_accrued_interest_and_settles_the_loan(client, now):
    who = borrower(offset_signed=True)
    before = fresh(who.loan)
    resp = post(client, who, f"/v1/me/loans/{who.loan.contract_no}/settlement")
    assert resp.status_code == 201, resp.json_body
    body = resp.json_body
    days = 16                                                  # 2026-08-20 → 2026-09-05
    interest = rules.accrued_interest(int(before.balance), Decimal("2.60"), days, 360)
    assert interest == int((Decimal(int(before.balance)) * Decimal("0.026") / 360 * 16).quantize(Decimal(1)))
    assert (body["interest_days"], body["interest"]) == (days, f"{interest / 100:.2f}")
    assert body["amount"] == f"{(int(before.balance) + interest) / 100:.2f}"
    assert body["receipt"]["repay_account"] == "621700*********4567" and body["loan_status"] == "settled"
    loan = fresh(who.loan)
    assert (loan.status, int(loan.balance), loan.offset_signed, loan.offset_day) == ("settled", 0, False, None)
    rep = Repayment.get(loan.contract_no, 22)
    assert (rep.source, rep.principal, rep.interest, rep.balance_after) == ("settlement", int(before.balance),
                                                                            interest, 0)
    assert [d["amount"] for d in debits()] == [int(before.balance) + interest]
    again = post(client, who, f"/v1/me/loans/{who.loan.contract_no}/settlement")
    assert again.json_body == body and len(debits()) == 1
    other_key = post(client, who, f"/v1/me/loans/{who.loan.contract_no}/settlement", key="k2")
    assert other_key.status_code == 409 and other_key.json_body["error"]["code"] == "ALREADY_DONE"


def test_a_declined_settlement_leaves_the_loan_as_it_was(client, now):
    who = borrower(repay_account="6217000010001230000")
    resp = post(client, who, f"/v1/me/loans/{who.loan.contract_no}/settlement")
    assert resp.status_code == 422 and fresh(who.loan).status == "normal"


def test_a_loan_that_moved_during_settlement_is_refunded(client, now, monkeypatch):
    who = borrower()
    real = bank.gateway()

    class Slow:
        def debit(self, card_no, amount, reference):
            fresh(who.loan).update(actions=[Loan.version.add(1), Loan.paid_periods.set(22)])
            return real.debit(card_no, amount, reference)

        def payout(self, *args):
            return real.payout(*args)

    monkeypatch.setattr(bank, "_gateway", Slow())
    resp = post(client, who, f"/v1/me/loans/{who.loan.contract_no}/settlement")
    assert resp.status_code == 409 and fresh(who.loan).status == "normal"
    ops = real.read()
    assert [o["op"] for o in ops] == ["debit", "payout"] and ops[0]["amount"] == ops[1]["amount"]


# ---------------------------------------------------------------- 月对冲签约/解约


def offset(client, who, signed):
    return client.http.put(f"/v1/me/loans/{who.loan.contract_no}/offset", headers=who.login.headers,
                           body=json.dumps({"signed": signed}))


def test_signing_and_cancelling_monthly_offset(client, now):
    who = borrower()
    resp = offset(client, who, True)
    assert resp.status_code == 200 and resp.json_body == {
        "contract_no": who.loan.contract_no, "offset_signed": True, "repayment_day": 20,
        "repay_account": "621700*********4567"}
    assert [k.contract_no for k in Loan.offset_index.query(20)] .count(who.loan.contract_no) == 1
    assert offset(client, who, True).status_code == 200               # signing twice changes nothing
    assert offset(client, who, False).json_body["offset_signed"] is False
    assert who.loan.contract_no not in [k.contract_no for k in Loan.offset_index.query(20)]
    records = [r for r in BusinessRecord.owner_index.query(who.p.id_number) if r.kind == "loan_offset"]
    assert sorted(r.type for r in records) == ["cancel", "sign"] and all(r.status == "done" for r in records)
    assert sorted(m.title for m in Message.query(who.p.id_number)) == ["月对冲签约成功", "月对冲解约成功"]


def test_offset_needs_a_loan_in_repayment_with_an_installment_paid(client, now):
    assert offset(client, borrower(paid_periods=0, with_repayments=False), True).status_code == 422
    assert offset(client, borrower(status="settled"), True).status_code == 422
    frozen = borrower(account_status="frozen")
    resp = offset(client, frozen, True)
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["reason"] == "no_account"


def test_offset_body_must_be_a_boolean(client, now):
    who = borrower()
    assert client.http.put(f"/v1/me/loans/{who.loan.contract_no}/offset", headers=who.login.headers,
                           body=json.dumps({"signed": "yes"})).status_code == 400


# ---------------------------------------------------------------- loan-offset-deduction


REPAY_DAY = "2026-09-20T06:00:00+08:00"


def _run(at=REPAY_DAY):
    return jobs.run("loan-offset-deduction", clock.parse(at))


def _offset_entries(account_no):
    return [e for e in LedgerEntry.flow_index.query(account_no) if e.kind == "offset"]


def test_the_repayment_day_pays_the_installment_from_the_hpf_balance_once(now):
    who = borrower(balance=5_000_000, offset_signed=True)
    loan = fresh(who.loan)
    due = rules.next_installment(int(loan.balance), Decimal("2.60"), 240 - 21, "equal_installment")
    first = _run()
    second = _run()
    assert first["full"] >= 1 and second["full"] == 0
    [entry] = _offset_entries(who.a.account_no)
    assert (entry.amount, entry.serial_no) == (due.payment, f"DC{loan.contract_no}-022")
    assert int(Account.get(who.a.account_no).balance) == 5_000_000 - due.payment
    after = fresh(who.loan)
    assert (after.paid_periods, int(after.balance)) == (22, int(loan.balance) - due.principal)
    rep = Repayment.get(loan.contract_no, 22)
    assert (rep.source, rep.amount, rep.principal, rep.interest, rep.date) == (
        "offset", due.payment, due.principal, due.interest, "2026-09-20")
    [msg] = Message.query(who.p.id_number)
    assert "全额扣划" in msg.body


def test_a_short_balance_pays_what_is_above_one_fen_and_leaves_the_rest_to_the_bank_card(now):
    who = borrower(balance=100_000, offset_signed=True)
    loan = fresh(who.loan)
    due = rules.next_installment(int(loan.balance), Decimal("2.60"), 240 - 21, "equal_installment")
    _run()
    [entry] = _offset_entries(who.a.account_no)
    assert entry.amount == 99_999 and int(Account.get(who.a.account_no).balance) == 1
    assert fresh(who.loan).paid_periods == 22
    [msg] = Message.query(who.p.id_number)
    rest = due.payment - 99_999
    assert f"其余 {rest // 100}.{rest % 100:02d} 元将从您的还款银行卡（621700*********4567）扣收" in msg.body


def test_a_frozen_account_leaves_the_whole_installment_to_the_bank_card(now):
    who = borrower(account_status="frozen", offset_signed=True)
    _run()
    assert _offset_entries(who.a.account_no) == [] and fresh(who.loan).paid_periods == 22
    [msg] = Message.query(who.p.id_number)
    assert "无可扣划余额" in msg.body


def test_an_installment_already_paid_this_month_is_not_paid_again(now):
    who = borrower(offset_signed=True)
    Repayment(who.loan.contract_no, 22, date="2026-09-18", amount=1, principal=1, interest=0, balance_after=1,
              source="bank").save()
    _run()
    assert _offset_entries(who.a.account_no) == []


def test_other_days_and_unsigned_loans_are_left_alone(now):
    signed = borrower(offset_signed=True)
    unsigned = borrower()
    _run("2026-09-19T06:00:00+08:00")
    _run()
    assert _offset_entries(signed.a.account_no) != [] and _offset_entries(unsigned.a.account_no) == []


def test_the_last_day_of_a_short_month_pays_the_days_it_does_not_have(now):
    who = borrower(offset_signed=True, repayment_day=31)
    _run("2026-09-30T06:00:00+08:00")
    assert len(_offset_entries(who.a.account_no)) == 1


def test_the_final_installment_settles_the_loan(now):
    who = borrower(offset_signed=True, principal=1_200_000, term_months=12, paid_periods=11)
    _run()
    loan = fresh(who.loan)
    assert (loan.status, int(loan.balance), loan.offset_signed, loan.offset_day) == ("settled", 0, False, None)


def test_a_loan_moved_during_the_deduction_is_read_again(now, monkeypatch):
    who = borrower(offset_signed=True)
    real_post = loan_offset.ledger.post
    calls = []

    def racing(*args, **kwargs):
        if not calls:
            calls.append(1)
            fresh(who.loan).update(actions=[Loan.version.add(1)])       # a prepayment committed meanwhile
        return real_post(*args, **kwargs)

    monkeypatch.setattr(loan_offset.ledger, "post", racing)
    assert loan_offset.deduct(who.loan.contract_no, clock.parse(REPAY_DAY).date(), clock.parse(REPAY_DAY)) == "full"
    assert len(_offset_entries(who.a.account_no)) == 1 and fresh(who.loan).paid_periods == 22


def test_many_loans_are_deducted_side_by_side_and_a_shared_account_pays_each_once(now, monkeypatch):
    # GIVEN 30 borrowers with offset signed, and one of them with a second loan drawing on the same HPF account
    monkeypatch.setenv("GJJ_JOB_WORKERS", "8")
    settings.reset()
    people = [borrower(offset_signed=True) for _ in range(30)]
    twin = loan_data.loan(people[0].p.id_number, offset_signed=True)
    loans = [fresh(who.loan) for who in people] + [fresh(twin)]
    dues = {loan.contract_no: rules.next_installment(int(loan.balance), Decimal("2.60"), 240 - 21,
                                                     "equal_installment").payment for loan in loans}
    # WHEN the job runs on 8 threads, twice
    first, second = _run(), _run()
    # THEN every loan paid its installment exactly once, the shared account paid two, and balances add up
    assert first["full"] >= 31 and second["full"] == 0 and second["already"] >= 31   # the module shares its tables
    for who in people:
        expected = [dues[who.loan.contract_no]] + ([dues[twin.contract_no]] if who is people[0] else [])
        assert sorted(e.amount for e in _offset_entries(who.a.account_no)) == sorted(expected)
        assert int(Account.get(who.a.account_no).balance) == 5_000_000 - sum(expected)
    assert all(fresh(loan).paid_periods == 22 for loan in loans)


def test_the_repayment_records_name_a_prepayment_and_a_settlement_for_what_they_were(client, now):
    # GIVEN a borrower with 21 installments paid WHEN they prepay, then settle
    who = borrower()
    assert prepay(client, who).status_code == 201
    assert post(client, who, f"/v1/me/loans/{who.loan.contract_no}/settlement", key="k2").status_code == 201
    # THEN 还款明细 shows both by name, numbered by the installments paid before them, never as "第1021期"
    resp = client.http.get(f"/v1/me/loans/{who.loan.contract_no}/repayments?limit=100", headers=who.login.headers)
    assert resp.status_code == 200, resp.json_body
    extras = {i["kind"]: i for i in resp.json_body["items"] if i["kind"] != "installment"}
    assert extras["prepayment"]["label"] == "提前还本（第21期后）" and extras["prepayment"]["period_no"] == 21
    assert extras["prepayment"]["amount"] == "50000.00"
    assert extras["settlement"]["label"] == "提前结清（第21期后）" and extras["settlement"]["balance_after"] == "0.00"
    installments = [i for i in resp.json_body["items"] if i["kind"] == "installment"]
    assert all(i["label"] == f"第{i['period_no']}期/总{i['periods_total']}期" for i in installments)
    assert all(i["period_no"] <= 21 for i in installments)
