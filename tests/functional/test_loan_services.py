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
from tests.support import factories, job_runs, loan_data
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


@pytest.fixture(autouse=True)
def _fresh_runs(request):
    """The module shares its tables: the day's run of a fanned-out job one test did is not another test's."""
    yield
    if "shared_tables" in request.fixturenames:
        job_runs.forget("job#loan-offset-deduction#", "offset-pending#")


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


def _accrued_by_hand(balance: int, days: int) -> int:
    """balance × 2.60 % / 360 × days, rounded half up to the fen (the settlement's formula, written out)."""
    return int((Decimal(balance) * Decimal("0.026") / 360 * days).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


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
    # the interest accrued since the last installment is paid first (2026-08-20 → 2026-09-05: 16 days at 2.60 %/360)
    interest = _accrued_by_hand(int(before.balance), 16)
    principal = 5_000_000 - interest
    assert (body["interest"], body["interest_days"], body["principal"]) == (
        f"{interest / 100:.2f}", 16, f"{principal / 100:.2f}")
    expected = rules.prepayment(int(before.balance), Decimal("2.60"), 240 - 21, "equal_installment", principal, mode)
    assert body["interest_saved"] == f"{expected.interest_saved / 100:.2f}" and expected.interest_saved > 0
    assert body["after"]["remaining_months"] == expected.after.remaining_months
    assert body["balance_after"] == f"{(int(before.balance) - principal) / 100:.2f}"
    loan = fresh(who.loan)
    assert int(loan.balance) == int(before.balance) - principal and loan.version == before.version + 1
    assert loan.interest_paid_to == "2026-09-05"
    if mode == "shorten_term":
        assert loan.term_months == 21 + expected.after.remaining_months < 240
        assert expected.after.monthly_payment <= expected.before.monthly_payment
    else:
        assert loan.term_months == 240 and expected.after.monthly_payment < expected.before.monthly_payment
    [rep] = loan_services.extra_repayments(loan.contract_no)
    assert (rep.period_no, rep.source, rep.amount, rep.principal, rep.interest, rep.serial_no) == (
        1021, "prepayment", 5_000_000, principal, interest, body["serial_no"])
    assert [(d["amount"], d["reference"], d["card_tail"]) for d in debits()] == [
        (5_000_000, body["serial_no"], "4567")]
    record = BusinessRecord.get(body["serial_no"])
    assert (record.kind, record.status) == ("loan_prepayment", "done")
    assert [m.title for m in Message.query(who.p.id_number)] == ["提前还本成功"]


def test_prepayment_agrees_with_the_public_calculator(client, now):
    # the calculator prepays on a due date (no interest accrued): give it the principal part of the 50000.00 paid
    who = borrower()
    balance = int(fresh(who.loan).balance)
    principal = 5_000_000 - _accrued_by_hand(balance, 16)
    calc = client.http.post("/v1/tools/prepayment-calculator", headers={"Content-Type": "application/json"},
                            body=json.dumps({"principal": "400000.00", "annual_rate": "2.60", "term_months": 240,
                                             "method": "equal_installment", "paid_periods": 21,
                                             "balance": f"{balance / 100:.2f}",
                                             "prepay_amount": f"{principal / 100:.2f}",
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
    # the whole balance plus the interest accrued since 2026-08-20 (16 days) would leave nothing
    who = borrower()
    balance = int(fresh(who.loan).balance)
    whole = balance + _accrued_by_hand(balance, 16)
    resp = prepay(client, who, f"{whole // 100}.{whole % 100:02d}")
    assert resp.status_code == 400 and "提前结清" in resp.json_body["error"]["message"]


def test_a_prepayment_that_does_not_cover_the_accrued_interest_is_refused(client, now, monkeypatch):
    # GIVEN a city whose minimum prepayment is 1.00 (so the interest check is the one that speaks)
    current = policy.get()
    low = current.loans.prepayment.model_copy(update={"min_amount": 100})
    changed = current.model_copy(update={"loans": current.loans.model_copy(update={"prepayment": low})})
    monkeypatch.setattr(policy, "get", lambda: changed)
    who = borrower()
    interest = _accrued_by_hand(int(fresh(who.loan).balance), 16)
    resp = prepay(client, who, f"{interest // 100}.{interest % 100:02d}")
    assert resp.status_code == 400 and "应付利息" in json.dumps(resp.json_body, ensure_ascii=False)
    assert debits() == [] and fresh(who.loan).balance == who.loan.balance


def test_splitting_a_settlement_into_prepayment_and_settlement_saves_no_interest(client, now):
    # GIVEN two identical borrowers, 16 days after their last installment (2026-08-20 → 2026-09-05)
    one, two = borrower(), borrower()
    balance = int(fresh(one.loan).balance)
    # WHEN one settles at once and the other prepays 50000.00 then settles the same day
    direct = post(client, one, f"/v1/me/loans/{one.loan.contract_no}/settlement").json_body
    assert prepay(client, two).status_code == 201
    split = post(client, two, f"/v1/me/loans/{two.loan.contract_no}/settlement", key="k2").json_body
    # THEN both paid the balance plus 16 days of interest on it, to the fen (hand computation)
    owed = balance + _accrued_by_hand(balance, 16)
    paid_two = sum(d["amount"] for d in debits() if d["card_tail"] == "4567") - int(direct["amount"].replace(".", ""))
    assert int(direct["amount"].replace(".", "")) == owed and paid_two == owed
    assert split["interest"] == "0.00" and split["interest_days"] == 0


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
    # THEN the prepayment applies to the loan as it is now, once: the interest on the fresh balance (no installment
    # record was written, so 16 days since 2026-08-20), then principal
    assert resp.status_code == 201
    principal = 5_000_000 - _accrued_by_hand(before, 16)
    assert int(fresh(who.loan).balance) == before - principal and resp.json_body["balance_after"] == \
        f"{(before - principal) / 100:.2f}"
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
    # the shortfall is debited from the repayment card (it used to be recorded as paid with nothing debiting it)
    rest = due.payment - 99_999
    assert [(d["amount"], d["reference"], d["card_tail"], d["ok"]) for d in debits()] == [
        (rest, f"DK{loan.contract_no}-022-20260920", "4567", True)]
    rep = Repayment.get(loan.contract_no, 22)
    assert (rep.amount, rep.from_hpf, rep.from_bank, rep.penalty) == (due.payment, 99_999, rest, 0)
    [msg] = Message.query(who.p.id_number)
    assert f"其余 {rest // 100}.{rest % 100:02d} 元已从您的还款银行卡（621700*********4567）扣收" in msg.body


def test_a_frozen_account_leaves_the_whole_installment_to_the_bank_card(now):
    who = borrower(account_status="frozen", offset_signed=True)
    _run()
    assert _offset_entries(who.a.account_no) == [] and fresh(who.loan).paid_periods == 22
    rep = Repayment.get(who.loan.contract_no, 22)
    assert (rep.from_hpf, rep.from_bank) == (0, rep.amount) and [d["amount"] for d in debits()] == [rep.amount]
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
    assert first["full"] >= 31 and second["full"] == 0
    # the day's run is done: the second firing reads no loan again (it used to read each and count it "already")
    assert second["already"] == 0 and second["note"] == "already done"
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


# ---------------------------------------------------------------- the bank pays the shortfall; a decline is overdue


DECLINED_CARD = "6217000010001230000"          # the local bank simulator declines cards ending 0000 (CONTRACT §1)


def test_a_declined_shortfall_leaves_the_installment_overdue_and_nothing_recorded_as_paid(now):
    # GIVEN a borrower whose HPF balance (1000.00) does not cover the installment and whose card the bank declines
    who = borrower(balance=100_000, offset_signed=True, repay_account=DECLINED_CARD)
    loan = fresh(who.loan)
    due = rules.next_installment(int(loan.balance), Decimal("2.60"), 240 - 21, "equal_installment")
    # WHEN the repayment day's job runs (twice)
    first, second = _run(), _run()
    # THEN nothing is taken from the HPF account, nothing is recorded paid, and the loan shows the arrears
    assert first["overdue"] == 1 and second["overdue"] == 0
    assert _offset_entries(who.a.account_no) == [] and int(Account.get(who.a.account_no).balance) == 100_000
    after = fresh(who.loan)
    assert (after.status, after.paid_periods, int(after.balance)) == ("overdue", 21, int(loan.balance))
    assert (int(after.arrears), after.overdue_since) == (due.payment, "2026-09-20")
    assert not any(True for _ in Repayment.query(loan.contract_no, Repayment.period_no == 22))
    assert [(d["ok"], d["amount"]) for d in debits()] == [(False, due.payment - 99_999)]   # asked once
    [msg] = Message.query(who.p.id_number)
    assert msg.title == "贷款逾期提醒" and "1.5 倍计收罚息" in msg.body
    # and the borrower sees it on their loan
    mine = loan_services.loan_of(who.p.id_number, loan.contract_no)
    assert mine.status == "overdue"


def test_the_next_repayment_day_collects_the_arrears_first_with_penalty_interest(now):
    # GIVEN period 22 (due 2026-09-20) went overdue: the bank declined the card
    who = borrower(balance=100_000, offset_signed=True, repay_account=DECLINED_CARD)
    loan = fresh(who.loan)
    _run()
    # WHEN the borrower changes to a good card and the job runs on the next repayment day, 30 days later
    fresh(who.loan).update(actions=[Loan.repay_account.set("6217000010001234567")])
    result = _run("2026-10-20T06:00:00+08:00")
    # THEN period 22 is paid first with its penalty, then period 23, and the loan is normal again
    assert result["bank_only"] + result["partial"] + result["full"] >= 1
    # hand computation: the plan's period after 21 installments of 400,000.00 at 2.60 % over 240 months
    r = Decimal("0.026") / 12
    b = Decimal(int(loan.balance))
    n = 240 - 21
    m = (b * r * (1 + r) ** n / ((1 + r) ** n - 1)).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    interest22 = (b * r).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    principal22 = m - interest22
    # 罚息 = overdue × rate / 360 × 1.5 × days late (domain-research §2.3); 2026-09-20 → 2026-10-20 is 30 days
    penalty = (m * Decimal("0.026") / 360 * Decimal("1.5") * 30).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    rep22 = Repayment.get(loan.contract_no, 22)
    assert (rep22.principal, rep22.interest, rep22.penalty, rep22.amount) == (
        int(principal22), int(interest22), int(penalty), int(m + penalty))
    assert rep22.from_hpf + rep22.from_bank == rep22.amount and rep22.date == "2026-10-20"
    rep23 = Repayment.get(loan.contract_no, 23)
    assert rep23.penalty == 0 and rep23.balance_after == int(b - principal22) - rep23.principal
    after = fresh(who.loan)
    assert (after.status, after.paid_periods, after.arrears, after.overdue_since) == ("normal", 23, None, None)
    # a second run that day changes nothing and debits nothing more
    ops = len(bank.gateway().read())
    _run("2026-10-20T06:00:00+08:00")
    assert len(bank.gateway().read()) == ops and fresh(who.loan).paid_periods == 23


def test_a_bank_debit_retried_after_a_crash_is_not_taken_twice(now, monkeypatch):
    # GIVEN the job debits the card and then dies before posting (the Lambda is retried)
    who = borrower(balance=0, offset_signed=True)
    real_tx = loan_offset.TransactWrite
    crashed = []

    class Crash(RuntimeError):
        pass

    def dying(*args, **kwargs):
        if not crashed:
            crashed.append(1)
            raise Crash()
        return real_tx(*args, **kwargs)

    monkeypatch.setattr(loan_offset, "TransactWrite", dying)
    with pytest.raises(Crash):
        _run()
    # WHEN the job runs again THEN the bank answers the same reference once: one debit, one repayment
    _run()
    assert len([d for d in debits() if who.loan.contract_no in d["reference"]]) == 1
    rep = Repayment.get(who.loan.contract_no, 22)
    assert (rep.from_hpf, rep.from_bank) == (0, rep.amount) and fresh(who.loan).paid_periods == 22


def test_money_the_bank_took_is_paid_back_when_the_hpf_part_is_gone(now, monkeypatch):
    # GIVEN an HPF balance that covers part of the installment, drained (a withdrawal) while the bank debits the rest
    who = borrower(balance=100_000, offset_signed=True)
    real = bank.gateway()

    class Draining:
        def debit(self, card_no, amount, reference):
            Account.get(who.a.account_no).update(actions=[Account.balance.set(0), Account.version.add(1)])
            return real.debit(card_no, amount, reference)

        def payout(self, *args):
            return real.payout(*args)

    monkeypatch.setattr(bank, "_gateway", Draining())
    _run()
    # THEN the debit is paid back under <reference>R, nothing is recorded paid, and the installment is overdue
    ops = [(o["op"], o["reference"], o["amount"]) for o in real.read()]
    ref = f"DK{who.loan.contract_no}-022-20260920"
    assert ops == [("debit", ref, ops[0][2]), ("payout", ref + "R", ops[0][2])]
    assert fresh(who.loan).paid_periods == 21 and fresh(who.loan).status == "overdue"
    assert _offset_entries(who.a.account_no) == []


# ---------------------------------------------------------------- 还款利息按实际天数 (seed 004)


def _actual_days_policy(monkeypatch):
    current = policy.get()
    repayment = current.loans.repayment.model_copy(update={"interest": "actual_days"})
    changed = current.model_copy(update={"loans": current.loans.model_copy(update={"repayment": repayment})})
    monkeypatch.setattr(policy, "get", lambda: changed)


def _seed_004_loan(paid_periods=19):
    """Seed 004 (贷款明细, /work/shared/seeds/004_5016c4524b0f38de.txt lines 76-91): 总120期, 等额本金 with principal
    1909.87 a period; after period 20 the balance is 190987.28, so the principal was 190987.28 + 20 × 1909.87 =
    229184.68 and the balance before period 20 was 192897.15. Periods fall on the 14th (2018-08-14, 2018-09-14), so
    disbursement was 2016-12-14 (period k falls k months later). The rate is 3.575 % (3.25 % × 1.1, a second home)."""
    p = factories.person()
    a = factories.account(p, balance=10_000_000)
    loan = loan_data.loan(p.id_number, principal=22_918_468, annual_rate="3.575", term_months=120,
                          method="equal_principal", disbursed_on="2016-12-14", repayment_day=14,
                          paid_periods=paid_periods, offset_signed=True)
    return SimpleNamespace(p=p, a=a, loan=loan)


def test_actual_day_interest_reproduces_seed_004s_loan_detail(aws, clock_file, monkeypatch):
    _actual_days_policy(monkeypatch)
    who = _seed_004_loan()
    assert int(fresh(who.loan).balance) == 19_289_715                  # 190987.28 + 1909.87 (seed lines 87-89)
    _run("2018-08-14T06:00:00+08:00")
    _run("2018-09-14T06:00:00+08:00")
    r20, r21 = Repayment.get(who.loan.contract_no, 20), Repayment.get(who.loan.contract_no, 21)
    # seed line 82-89: 2018-08-14 (第20期/总120期) 发生额 2503.70 本金 1909.87 利息 593.83 罚息 0.00 余额 190987.28
    assert (r20.amount, r20.principal, r20.interest, r20.penalty, r20.balance_after) == (
        250_370, 190_987, 59_383, 0, 19_098_728)
    # seed lines 77-82: 2018-09-14 (第21期/总120期) 发生额 2497.82 本金 1909.87 利息 587.95 罚息 0.00 余额 189077.41
    assert (r21.amount, r21.principal, r21.interest, r21.penalty, r21.balance_after) == (
        249_782, 190_987, 58_795, 0, 18_907_741)
    assert (r20.from_hpf, r20.from_bank) == (250_370, 0)


def test_the_monthly_convention_charges_the_plans_interest(aws, clock_file):
    who = _seed_004_loan()
    _run("2018-08-14T06:00:00+08:00")
    # 192897.15 × 3.575 % / 12 = 574.6727… → 574.67 (the standard formula calculators and plans use)
    assert Repayment.get(who.loan.contract_no, 20).interest == 57_467


def test_the_installment_after_a_prepayment_charges_interest_only_from_the_prepayment_day(client, now):
    # GIVEN a prepayment of 50000.00 on 2026-09-05 that paid 16 days of interest (since 2026-08-20)
    who = borrower(offset_signed=True)
    assert prepay(client, who).status_code == 201
    balance = int(fresh(who.loan).balance)
    # WHEN period 22 falls due on 2026-09-20
    _run()
    # THEN its interest covers 2026-09-05 → 2026-09-20 (15 days) on the new balance, not the whole month again
    rep = Repayment.get(who.loan.contract_no, 22)
    assert rep.interest == _accrued_by_hand(balance, 15)
