"""Flexible employment (灵活就业): 汇缴, 补缴, the window, seal/unseal, monthly amount, exit — over HTTP."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib import clock
from chalicelib.adapters import bank
from chalicelib.services import remittance
from chalicelib.store.accounts import Account
from chalicelib.store.business import BusinessRecord
from chalicelib.store.ledger import LedgerEntry
from chalicelib.store.loans import Loan
from chalicelib.store.messages import Message, OutboundSms
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture(autouse=True)
def _fresh_window_cache():
    remittance.reset_cache()
    bank.reset()
    yield
    remittance.reset_cache()
    bank.reset()


@pytest.fixture
def flex(aws, clock_file):
    """A flexible depositor paid through June, 500.00 a month, a bound card, the window open."""
    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="flexible", balance=100_000, paid_through="202606",
                                         monthly_amount=50_000, opened_on="2020-03-01")
    card = factories.card(p)
    remittance.open_window(clock.now())
    return p, a, u, login, card


def _post(client, login, path, body=None, key="k1", **headers):
    return client.http.post(path, headers=login.with_headers(**{"Idempotency-Key": key}, **headers),
                            body=json.dumps(body or {}))


def _entries(account_no):
    return list(LedgerEntry.flow_index.query(account_no))


def _records(id_number):
    return list(BusinessRecord.owner_index.query(id_number))


# ---------------------------------------------------------------- 汇缴


def test_remittance_inside_the_window_credits_the_month_once(client, flex):
    p, a, u, login, card = flex
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert resp.status_code == 201, resp.json_body
    body = resp.json_body
    assert (body["amount"], body["balance_after"], body["paid_through"]) == ("500.00", "1500.00", "202607")
    fresh = Account.get(a.account_no)
    assert (fresh.balance, fresh.paid_through) == (150_000, "202607")
    [entry] = _entries(a.account_no)
    assert (entry.kind, entry.period, entry.serial_no) == ("remit", "202607", body["serial_no"])
    [record] = _records(p.id_number)
    assert (record.status, record.kind) == ("done", "remittance")
    assert [m.title for m in Message.query(p.id_number)] == ["汇缴成功"]


def test_remittance_retry_with_the_same_key_posts_once(client, flex):
    p, a, u, login, card = flex
    first = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    again = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert again.status_code == 201 and again.json_body == first.json_body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(_entries(a.account_no)) == 1
    assert Account.get(a.account_no).balance == 150_000


def test_remittance_without_idempotency_key_is_400(client, flex):
    p, a, u, login, card = flex
    resp = client.http.post("/v1/flexible/remittances", headers=login.headers,
                            body=json.dumps({"period": "202607", "bank_card_id": card.card_id}))
    assert resp.status_code == 400 and resp.json_body["error"]["code"] == "IDEMPOTENCY_KEY_MISSING"


def test_second_remittance_of_a_paid_period_is_already_done(client, flex):
    p, a, u, login, card = flex
    _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id},
                 key="k2")
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "ALREADY_DONE"
    assert len(_entries(a.account_no)) == 1


@pytest.mark.parametrize("when", ["2026-07-15T07:59:59+08:00", "2026-07-15T17:00:00+08:00",
                                  "2026-07-26T09:00:00+08:00"])
def test_remittance_outside_the_window_is_refused(client, flex, clock_file, when):
    p, a, u, login, card = flex
    clock_file(when)
    login = factories.login(u.user_id)     # a session of that moment
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "WINDOW_CLOSED"
    assert _entries(a.account_no) == []


def test_remittance_when_the_job_closed_the_window_is_refused(client, flex, clock_file):
    p, a, u, login, card = flex
    clock_file("2026-07-16T09:00:00+08:00")   # yesterday's window was never re-opened today
    login = factories.login(u.user_id)
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "WINDOW_CLOSED"


def test_payment_racing_the_close_is_decided_by_the_window_item_and_refunded(client, flex, monkeypatch):
    # GIVEN a process whose cached view says "open" while the close job has just run
    p, a, u, login, card = flex
    monkeypatch.setattr(remittance, "is_open", lambda now, fresh=False: True)
    remittance._set_window("closed", clock.now())
    # WHEN the payment goes through the bank and reaches the ledger
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    # THEN the transaction's window check refuses it, nothing is posted, the debit is refunded
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "WINDOW_CLOSED"
    assert _entries(a.account_no) == [] and Account.get(a.account_no).balance == 100_000
    ops = [(x["op"], x["ok"]) for x in bank.gateway().read()]
    assert ops == [("debit", True), ("payout", True)]
    [record] = _records(p.id_number)
    assert record.status == "cancelled" and "退回" in record.opinion


def test_declined_debit_leaves_no_ledger_trace_but_a_cancelled_record(client, flex):
    p, a, u, login, card = flex
    bad = factories.card(p, card_no="6222020200112230000")
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": bad.card_id})
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "PAYMENT_DECLINED"
    assert _entries(a.account_no) == []
    fresh = Account.get(a.account_no)
    assert (fresh.balance, fresh.paid_through) == (100_000, "202606")
    [record] = _records(p.id_number)
    assert record.status == "cancelled" and "银行拒绝" in record.opinion


class _FlakyBank:
    def __init__(self):
        self.inner = bank.LocalBank()
        self.down = True

    def debit(self, card_no, amount, reference):
        if self.down:
            raise bank.BankUnavailable("timeout")
        return self.inner.debit(card_no, amount, reference)

    def payout(self, card_no, amount, reference):
        return self.inner.payout(card_no, amount, reference)


def test_bank_unavailable_is_503_and_a_retry_with_the_same_key_pays_once(client, flex, monkeypatch):
    p, a, u, login, card = flex
    flaky = _FlakyBank()
    monkeypatch.setattr(bank, "_gateway", flaky)
    body = {"period": "202607", "bank_card_id": card.card_id}
    first = _post(client, login, "/v1/flexible/remittances", body)
    assert first.status_code == 503 and first.json_body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert _entries(a.account_no) == []
    flaky.down = False
    second = _post(client, login, "/v1/flexible/remittances", body)
    third = _post(client, login, "/v1/flexible/remittances", body)
    assert second.status_code == 201 and third.json_body == second.json_body
    assert len(_entries(a.account_no)) == 1 and len(flaky.inner.read()) == 1


def test_remittance_view_shows_period_amount_and_window(client, flex):
    p, a, u, login, card = flex
    resp = client.http.get("/v1/flexible/remittance", headers=login.headers)
    assert resp.status_code == 200
    assert resp.json_body == {"period": "202607", "amount": "500.00", "paid_through": "202606",
                              "account_status": "normal", "due": "remit", "from_period": "202607",
                              "message": "请汇缴 202607，金额 500.00 元", "back_payment": None,
                              "window": {"open": True, "opens_at": "2026-07-15T08:00:00+08:00",
                                         "closes_at": "2026-07-15T17:00:00+08:00"}}


def test_bad_period_is_400_not_500(client, flex):
    p, a, u, login, card = flex
    for period in ("2026-07", "202613", 202607, ""):
        resp = _post(client, login, "/v1/flexible/remittances", {"period": period, "bank_card_id": card.card_id},
                     key=f"bad{period}")
        assert resp.status_code == 400, (period, resp.json_body)


def test_an_employee_account_cannot_remit(client, aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="employee")
    card = factories.card(p)
    remittance.open_window(clock.now())
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "NOT_ELIGIBLE"


# ---------------------------------------------------------------- 补缴


def test_back_payment_quote_and_payment_up_to_the_chosen_month(client, aws, clock_file):
    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="flexible", balance=0, paid_through="202603", monthly_amount=50_000)
    card = factories.card(p)
    remittance.open_window(clock.now())
    quote = client.http.get("/v1/flexible/back-payment?end_period=202605", headers=login.headers)
    assert quote.status_code == 200, quote.json_body
    assert {k: quote.json_body[k] for k in ("from_period", "end_period", "months", "amount")} == {
        "from_period": "202604", "end_period": "202605", "months": 2, "amount": "1000.00"}
    resp = _post(client, login, "/v1/flexible/back-payments", {"end_period": "202605", "bank_card_id": card.card_id})
    assert resp.status_code == 201, resp.json_body
    assert resp.json_body["periods"] == ["202604", "202605"]
    assert sorted(e.period for e in _entries(a.account_no)) == ["202604", "202605"]
    assert Account.get(a.account_no).paid_through == "202605"
    # the current month cannot be back-paid, and July still needs June first
    assert client.http.get("/v1/flexible/back-payment?end_period=202607", headers=login.headers).status_code == 422
    remit = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id},
                  key="k9")
    assert remit.status_code == 422 and remit.json_body["error"]["details"]["from_period"] == "202606"


def test_back_payment_outside_the_window_is_refused(client, aws, clock_file):
    clock_file("2026-07-15T18:00:00+08:00")
    p, a, u, login = factories.depositor(kind="flexible", paid_through="202603", monthly_amount=50_000)
    card = factories.card(p)
    resp = _post(client, login, "/v1/flexible/back-payments", {"end_period": "202605", "bank_card_id": card.card_id})
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "WINDOW_CLOSED"


# ---------------------------------------------------------------- 封存 / 启封


def test_seal_stops_remittance_and_unseal_resumes(client, flex):
    p, a, u, login, card = flex
    sealed = _post(client, login, "/v1/flexible/seal", key="s1")
    assert sealed.status_code == 200 and sealed.json_body["status"] == "sealed"
    assert _post(client, login, "/v1/flexible/seal", key="s2").json_body["error"]["code"] == "ALREADY_DONE"
    refused = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert refused.status_code == 422
    unsealed = _post(client, login, "/v1/flexible/unseal", key="u1")
    assert unsealed.status_code == 200 and unsealed.json_body["status"] == "normal"
    ok = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id},
               key="k2")
    assert ok.status_code == 201


# ---------------------------------------------------------------- 月缴存额调整


def _adjust(client, login, amount, key):
    return client.http.put("/v1/flexible/monthly-amount", headers=login.with_headers(**{"Idempotency-Key": key}),
                           body=json.dumps({"amount": amount}))


def test_monthly_amount_changes_once_in_july(client, flex):
    p, a, u, login, card = flex
    first = _adjust(client, login, "800.00", "a1")
    assert first.status_code == 200 and first.json_body["monthly_amount"] == "800.00"
    assert _adjust(client, login, "800.00", "a1").json_body == first.json_body     # a retry, not a second change
    second = _adjust(client, login, "900.00", "a2")
    assert second.status_code == 409 and second.json_body["error"]["code"] == "ALREADY_DONE"
    assert Account.get(a.account_no).monthly_amount == 80_000


def test_monthly_amount_outside_july_or_range_is_refused(client, flex, clock_file):
    p, a, u, login, card = flex
    assert _adjust(client, login, "99999.00", "r1").status_code == 400
    assert _adjust(client, login, "199.99", "r2").status_code == 400
    clock_file("2026-08-03T10:00:00+08:00")
    login = factories.login(u.user_id)
    late = _adjust(client, login, "800.00", "r3")
    assert late.status_code == 409 and late.json_body["error"]["code"] == "WINDOW_CLOSED"


def test_next_deposit_year_allows_a_new_adjustment(client, flex, clock_file):
    p, a, u, login, card = flex
    assert _adjust(client, login, "800.00", "y1").status_code == 200
    clock_file("2027-07-02T10:00:00+08:00")
    login = factories.login(u.user_id)
    assert _adjust(client, login, "600.00", "y2").status_code == 200


# ---------------------------------------------------------------- 退出缴存提取


def _exit(client, login, card_id, key="e1"):
    return _post(client, login, "/v1/flexible/exit", {"bank_card_id": card_id}, key=key,
                 **{"X-Step-Up-Token": login.step_up_token()})


def test_exit_pays_the_whole_balance_and_closes_a_sealed_account(client, flex):
    p, a, u, login, card = flex
    assert _exit(client, login, card.card_id).json_body["error"]["code"] == "NOT_ELIGIBLE"   # not sealed yet
    _post(client, login, "/v1/flexible/seal", key="s1")
    resp = _exit(client, login, card.card_id, key="e2")
    assert resp.status_code == 201, resp.json_body
    assert (resp.json_body["amount"], resp.json_body["status"]) == ("1000.00", "paid")
    fresh = Account.get(a.account_no)
    assert (fresh.balance, fresh.status) == (0, "closed")
    [entry] = _entries(a.account_no)
    assert (entry.direction, entry.amount, entry.type) == ("W", 100_000, "exit")
    assert [x["op"] for x in bank.gateway().read()] == ["payout"]


def test_exit_needs_step_up(client, flex):
    p, a, u, login, card = flex
    resp = _post(client, login, "/v1/flexible/exit", {"bank_card_id": card.card_id})
    assert resp.status_code == 401


def test_exit_with_an_unsettled_loan_is_refused(client, flex):
    p, a, u, login, card = flex
    Loan("L1", id_number=p.id_number, bank="工行", repay_account="x", principal=1, annual_rate="3.1",
         term_months=12, method="equal_installment", disbursed_on="2025-01-01", repayment_day=1, balance=1,
         status="normal").save()
    _post(client, login, "/v1/flexible/seal", key="s1")
    resp = _exit(client, login, card.card_id)
    assert resp.status_code == 422 and "贷款" in resp.json_body["error"]["message"]


def test_exit_to_a_declined_card_puts_the_money_back_and_keeps_the_account_sealed(client, flex):
    p, a, u, login, card = flex
    bad = factories.card(p, card_no="6222020200112230000")
    _post(client, login, "/v1/flexible/seal", key="s1")
    resp = _exit(client, login, bad.card_id)
    assert resp.status_code == 422 and resp.json_body["error"]["code"] == "PAYMENT_DECLINED"
    fresh = Account.get(a.account_no)
    assert (fresh.balance, fresh.status) == (100_000, "sealed")
    assert sorted(e.kind for e in _entries(a.account_no)) == ["reversal", "withdrawal"]
    record = [r for r in _records(p.id_number) if r.kind == "flexible_exit"][0]
    assert record.status == "cancelled"


# ---------------------------------------------------------------- jobs


def test_window_jobs_open_and_close_by_the_clock_and_twice_is_once(aws):
    from chalicelib import jobs

    at = clock.parse
    assert jobs.run("open-remittance-window", at("2026-07-15T07:59:00+08:00"))["opened"] is False
    assert jobs.run("open-remittance-window", at("2026-07-15T08:00:00+08:00"))["opened"] is True
    assert jobs.run("open-remittance-window", at("2026-07-15T08:00:30+08:00"))["opened"] is False
    assert remittance.is_open(at("2026-07-15T16:59:00+08:00"), fresh=True)
    assert jobs.run("close-remittance-window", at("2026-07-15T16:59:00+08:00"))["closed"] is False
    assert jobs.run("close-remittance-window", at("2026-07-15T17:00:00+08:00"))["closed"] is True
    assert jobs.run("close-remittance-window", at("2026-07-15T17:00:00+08:00"))["closed"] is False
    assert not remittance.is_open(at("2026-07-15T16:59:00+08:00"), fresh=True)
    assert jobs.run("open-remittance-window", at("2026-07-26T08:00:00+08:00"))["opened"] is False


def test_remittance_reminders_go_to_those_behind_once(aws):
    from chalicelib import jobs

    behind, _, _, _ = factories.depositor(kind="flexible", paid_through="202606")
    from chalicelib.store.users import User

    for u in User.id_number_index.query(behind.id_number):
        u.update(actions=[User.sms_subscribed.set(True)])
    paid, _, _, _ = factories.depositor(kind="flexible", paid_through="202607")
    sealed, _, _, _ = factories.depositor(kind="flexible", status="sealed", paid_through="202601")
    employee, _, _, _ = factories.depositor(kind="employee", paid_through="202601")
    now = clock.parse("2026-07-20T09:00:00+08:00")
    assert jobs.run("send-remittance-reminders", now)["reminded"] == 1
    assert jobs.run("send-remittance-reminders", now)["reminded"] == 0
    assert [m.title for m in Message.query(behind.id_number)] == ["汇缴提醒"]
    for other in (paid, sealed, employee):
        assert list(Message.query(other.id_number)) == []
    assert len([s for s in OutboundSms.scan()]) == 1


def test_a_subscribed_depositor_also_gets_an_sms_for_a_payment(client, flex):
    from chalicelib.store.users import User

    p, a, u, login, card = flex
    User.get(u.user_id).update(actions=[User.sms_subscribed.set(True)])
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    [sms] = list(OutboundSms.scan())
    assert sms.phone == p.phone and "500.00" in sms.text and resp.json_body["serial_no"] in sms.sms_id


class _FlakyPayouts(_FlakyBank):
    def payout(self, card_no, amount, reference):
        if self.down:
            raise bank.BankUnavailable("timeout")
        return self.inner.payout(card_no, amount, reference)


def test_exit_payout_unanswered_is_503_and_the_same_key_finishes_it(client, flex, monkeypatch):
    p, a, u, login, card = flex
    _post(client, login, "/v1/flexible/seal", key="s1")
    flaky = _FlakyPayouts()
    monkeypatch.setattr(bank, "_gateway", flaky)
    first = _exit(client, login, card.card_id, key="e5")
    assert first.status_code == 503
    assert Account.get(a.account_no).status == "closed"          # the money is reserved, not lost
    flaky.down = False
    second = _exit(client, login, card.card_id, key="e5")
    assert second.status_code == 201 and second.json_body["status"] == "paid"
    assert [x["op"] for x in flaky.inner.read()] == ["payout"]
    assert len(_entries(a.account_no)) == 1


@pytest.mark.parametrize("when", ["2026-07-15T08:00:00+08:00", "2026-07-15T16:59:59+08:00",
                                  "2026-07-25T16:59:00+08:00", "2026-07-01T08:00:00+08:00"])
def test_remittance_at_the_window_edges_inside_is_accepted(client, flex, clock_file, when):
    p, a, u, login, card = flex
    clock_file(when)
    remittance.open_window(clock.now())
    login = factories.login(u.user_id)
    resp = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert resp.status_code == 201, resp.json_body


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/flexible/remittances"), ("POST", "/v1/flexible/back-payments"), ("POST", "/v1/flexible/exit"),
    ("PUT", "/v1/flexible/monthly-amount"), ("POST", "/v1/flexible/transfer-in"), ("POST", "/v1/appointments"),
    ("POST", "/v1/flexible/applications"), ("POST", "/v1/uploads"),
])
@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', '{"amount": 12.5, "period": 202607}', '{"x": 1}'])
def test_garbage_bodies_are_400_never_500(client, flex, method, path, body):
    p, a, u, login, card = flex
    headers = login.with_headers(**{"Idempotency-Key": f"g{abs(hash(body))}",
                                    "X-Step-Up-Token": login.step_up_token()})
    resp = client.http.request(method, path, headers=headers, body=body)
    assert resp.status_code == 400, (path, body, resp.json_body)


# ---------------------------------------------------------------- issue 16 items 5, 13, 14


def _at(clock_file, when, u):
    """Move the clock, open that day's window, log in again."""
    clock_file(when)
    remittance.reset_cache()
    remittance.open_window(clock.now())
    return factories.login(u.user_id)


def test_unsealing_after_22_sealed_months_owes_nothing_for_them(client, aws, clock_file):
    # 500.00 a month, paid through 2024-11, sealed in 2024-12 and unsealed in 2026-10: the sealed months
    # 2024-12..2026-09 (1 + 12 + 9 = 22, by hand) are not owed (seed 000: 封存 = 停缴; 启封 = 愿意继续缴存), so
    # the worker pays October 500.00 and is never told to back-pay 22 x 500.00 = 11,000.00.
    clock_file("2024-12-10T09:00:00+08:00")
    p, a, u, login = factories.depositor(kind="flexible", balance=0, paid_through="202411", monthly_amount=50_000,
                                         opened_on="2020-03-01")
    card = factories.card(p)
    assert _post(client, login, "/v1/flexible/seal", key="s1").json_body["status"] == "sealed"
    login = _at(clock_file, "2026-10-12T09:00:00+08:00", u)
    unsealed = _post(client, login, "/v1/flexible/unseal", key="u1")
    assert unsealed.status_code == 200 and unsealed.json_body["paid_through"] == "202609"
    view = client.http.get("/v1/flexible/remittance", headers=login.headers).json_body
    assert (view["due"], view["period"], view["amount"], view["back_payment"]) == ("remit", "202610", "500.00", None)
    back = client.http.get("/v1/flexible/back-payment?end_period=202609", headers=login.headers)
    assert back.status_code == 409 and back.json_body["error"]["code"] == "ALREADY_DONE"
    paid = _post(client, login, "/v1/flexible/remittances", {"period": "202610", "bank_card_id": card.card_id},
                 key="r1")
    assert paid.status_code == 201, paid.json_body
    assert (paid.json_body["amount"], paid.json_body["balance_after"]) == ("500.00", "500.00")
    assert [e.period for e in _entries(a.account_no)] == ["202610"]
    [unseal] = [r for r in _records(p.id_number) if r.kind == "flexible_unseal"]
    assert unseal.details.as_dict()["paid_through_before"] == "202411"


def test_a_back_payment_across_a_july_change_costs_each_month_its_own_amount(client, aws, clock_file):
    # 500.00 a month, changed to 800.00 in July 2026 (seed 000: 月缴存额调整时间为每年 7 月); paid through 2026-04.
    # In September a back-payment of 2026-05..2026-08 costs, by hand, 500 + 500 + 800 + 800 = 2,600.00.
    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="flexible", balance=0, paid_through="202604", monthly_amount=50_000,
                                         opened_on="2020-03-01")
    card = factories.card(p)
    assert _adjust(client, login, "800.00", "a1").status_code == 200
    login = _at(clock_file, "2026-09-10T09:00:00+08:00", u)
    quote = client.http.get("/v1/flexible/back-payment?end_period=202608", headers=login.headers)
    assert quote.status_code == 200, quote.json_body
    assert (quote.json_body["amount"], quote.json_body["months"], quote.json_body["monthly_amount"]) == (
        "2600.00", 4, "800.00")
    assert quote.json_body["lines"] == [{"period": "202605", "amount": "500.00"},
                                        {"period": "202606", "amount": "500.00"},
                                        {"period": "202607", "amount": "800.00"},
                                        {"period": "202608", "amount": "800.00"}]
    paid = _post(client, login, "/v1/flexible/back-payments", {"end_period": "202608", "bank_card_id": card.card_id})
    assert paid.status_code == 201, paid.json_body
    assert (paid.json_body["amount"], paid.json_body["balance_after"]) == ("2600.00", "2600.00")
    assert sorted((e.period, int(e.amount)) for e in _entries(a.account_no)) == [
        ("202605", 50_000), ("202606", 50_000), ("202607", 80_000), ("202608", 80_000)]
    assert [x["amount"] for x in bank.gateway().read() if x["op"] == "debit"] == [260_000]
    remit = _post(client, login, "/v1/flexible/remittances", {"period": "202609", "bank_card_id": card.card_id},
                  key="r9")
    assert remit.status_code == 201 and remit.json_body["amount"] == "800.00"


def test_the_remittance_quote_is_what_post_accepts(client, aws, clock_file):
    # paid through 2026-03, in July: April..June (3 x 500.00 = 1,500.00, by hand) must be back-paid before July
    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="flexible", balance=0, paid_through="202603", monthly_amount=50_000,
                                         opened_on="2020-03-01")
    card = factories.card(p)
    remittance.open_window(clock.now())
    view = client.http.get("/v1/flexible/remittance", headers=login.headers).json_body
    assert (view["due"], view["period"], view["from_period"]) == ("back_payment_first", "202607", "202604")
    assert {k: view["back_payment"][k] for k in ("from_period", "end_period", "months", "amount")} == {
        "from_period": "202604", "end_period": "202606", "months": 3, "amount": "1500.00"}
    refused = _post(client, login, "/v1/flexible/remittances", {"period": "202607", "bank_card_id": card.card_id})
    assert refused.status_code == 422                                   # as the quote said
    back = _post(client, login, "/v1/flexible/back-payments",
                 {"end_period": view["back_payment"]["end_period"], "bank_card_id": card.card_id}, key="b1")
    assert back.status_code == 201 and back.json_body["amount"] == view["back_payment"]["amount"]
    view = client.http.get("/v1/flexible/remittance", headers=login.headers).json_body
    assert (view["due"], view["period"], view["amount"], view["back_payment"]) == ("remit", "202607", "500.00", None)
    ok = _post(client, login, "/v1/flexible/remittances", {"period": view["period"], "bank_card_id": card.card_id},
               key="r2")
    assert ok.status_code == 201
    assert client.http.get("/v1/flexible/remittance", headers=login.headers).json_body["due"] == "paid"
    _post(client, login, "/v1/flexible/seal", key="s1")
    assert client.http.get("/v1/flexible/remittance", headers=login.headers).json_body["due"] == "sealed"


def test_the_reminder_says_what_the_quote_says(aws, clock_file):
    from chalicelib import jobs

    clock_file("2026-07-20T09:00:00+08:00")
    on_time, a, _, _ = factories.depositor(kind="flexible", paid_through="202606", monthly_amount=50_000,
                                           opened_on="2020-03-01")
    behind, b, _, _ = factories.depositor(kind="flexible", paid_through="202603", monthly_amount=50_000,
                                          opened_on="2020-03-01")
    assert jobs.run("send-remittance-reminders", clock.now())["reminded"] == 2
    [m1] = [m for m in Message.query(on_time.id_number) if m.title == "汇缴提醒"]
    assert "202607" in m1.body and "500.00" in m1.body and "补缴" not in m1.body
    [m2] = [m for m in Message.query(behind.id_number) if m.title == "汇缴提醒"]
    # by hand: 2026-04..2026-06, 3 x 500.00 = 1,500.00 first, then July
    assert "先办理补缴 202604-202606 共 3 个月 1500.00 元，再汇缴 202607" in m2.body


def test_an_adjustment_appends_to_the_history_on_both_backends(backend, clock_file):
    # the history is appended with list_append(if_not_exists(...)): the account's first change also records
    # the amount it had before (in force from its opening month), so earlier months keep 500.00
    from chalicelib.services import flexible as flex_service

    clock_file(NOW)
    p, a, u, login = factories.depositor(kind="flexible", paid_through="202606", monthly_amount=50_000,
                                         opened_on="2020-03-01")
    flex_service.adjust_monthly_amount(id_number=p.id_number, amount=80_000, serial="AMT1", now=clock.now())
    history = Account.get(a.account_no, consistent_read=True).terms_history
    assert [(t.from_period, int(t.amount)) for t in history] == [("202003", 50_000), ("202607", 80_000)]
    flex_service.adjust_monthly_amount(id_number=p.id_number, amount=60_000, serial="AMT2",
                                       now=dt.datetime(2027, 7, 2, 10, tzinfo=clock.CHINA))
    history = Account.get(a.account_no, consistent_read=True).terms_history
    assert [(t.from_period, int(t.amount)) for t in history] == [("202003", 50_000), ("202607", 80_000),
                                                                 ("202707", 60_000)]
