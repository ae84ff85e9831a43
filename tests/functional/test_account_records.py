"""The depositor's own information: me, account, deposit and withdrawal records (缴存支取信息), business history."""

from __future__ import annotations

import json

import pytest

from chalicelib import clock, importer
from chalicelib.services import business
from chalicelib.store.accounts import Account
from chalicelib.store.people import Unit
from tests.support import factories

NOW = "2026-07-15T09:00:00+08:00"


@pytest.fixture
def depositor(aws, clock_file):
    clock_file(NOW)
    p = factories.person(name="段德梅")
    a = factories.account(p, balance=0, opened_on="2010-03-01")
    u = factories.user(p)
    return p, a, u, factories.login(u.user_id)


def _get(client, login, path):
    response = client.http.get(path, headers=login.headers)
    return response.status_code, json.loads(response.body)


def _all(client, login, path):
    """Every item of a list, following the cursor."""
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        status, body = _get(client, login, path + (f"{sep}cursor={cursor}" if cursor else ""))
        assert status == 200, body
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


# ---------------------------------------------------------------- who I am, my account


def test_me_shows_name_and_masked_id_and_phone(client, depositor):
    p, a, u, login = depositor
    status, body = _get(client, login, "/v1/me")
    assert status == 200
    assert body == {"name": "段德梅", "id_number": p.id_number[:6] + "********" + p.id_number[-4:],
                    "phone": p.phone[:3] + "****" + p.phone[-4:], "user_id": u.user_id, "sms_subscribed": False}


def test_account_shows_basic_deposit_and_loan_information(client, depositor):
    p, a, u, login = depositor
    Unit("U0001", name="太原示例科技有限公司", credit_code="91140100MA0K000001", ratio_unit="12", ratio_person="12",
         status="normal", agent_name="王经办", agent_phone="13900000001").save()
    factories.deposit(a.account_no, 212600, at="2026-07-08T10:00:00+08:00")
    Account.get(a.account_no).update(actions=[Account.last_withdrawal_on.set("2025-10-23")])
    factories.loan(p, contract_no="HT0099", paid_periods=20)
    status, body = _get(client, login, "/v1/me/account")
    assert status == 200
    assert {k: body[k] for k in ("account_no", "kind", "status", "unit", "base", "ratio_person", "ratio_unit",
                                 "monthly_amount", "balance", "paid_through", "opened_on",
                                 "last_withdrawal_on")} == {
        "account_no": a.account_no, "kind": "employee", "status": "normal",
        "unit": {"unit_no": "U0001", "name": "太原示例科技有限公司"}, "base": "5000.00", "ratio_person": "12",
        "ratio_unit": "12", "monthly_amount": "1000.00", "balance": "2126.00", "paid_through": "202606",
        "opened_on": "2010-03-01", "last_withdrawal_on": "2025-10-23"}
    assert body["holder"]["name"] == "段德梅" and "*" in body["holder"]["id_number"] and "*" in body["holder"]["phone"]
    assert [(x["contract_no"], x["paid_periods"]) for x in body["loans"]] == [("HT0099", 20)]


def test_with_several_accounts_the_open_one_is_current_and_the_closed_one_can_be_named(client, depositor):
    p, a, u, login = depositor
    old = factories.account(p, status="closed", balance=0, opened_on="2001-01-01", account_no="GR0000OLD")
    factories.deposit(old.account_no, 5000, at="2005-03-01T10:00:00+08:00", serial_no="OLD-DEPOSIT")
    factories.deposit(a.account_no, 7000, at="2026-07-01T10:00:00+08:00", serial_no="NEW-DEPOSIT")
    assert _get(client, login, "/v1/me/account")[1]["account_no"] == a.account_no
    assert sorted(x["account_no"] for x in _get(client, login, "/v1/me/account")[1]["accounts"]) == sorted(
        [a.account_no, "GR0000OLD"])
    status, body = _get(client, login, "/v1/me/deposits")
    assert (body["account_no"], [i["serial_no"] for i in body["items"]]) == (a.account_no, ["NEW-DEPOSIT"])
    status, body = _get(client, login, "/v1/me/deposits?account_no=GR0000OLD")
    assert (body["account_no"], [i["serial_no"] for i in body["items"]]) == ("GR0000OLD", ["OLD-DEPOSIT"])
    assert _get(client, login, "/v1/me/account?account_no=GR0000OLD")[1]["status"] == "closed"


def test_a_person_without_an_account_gets_404(client, aws, clock_file):
    p = factories.person()
    login = factories.login(factories.user(p).user_id)
    status, body = _get(client, login, "/v1/me/deposits")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"


# ---------------------------------------------------------------- deposit records (缴存明细)


def test_deposits_show_carried_over_and_year_to_date_as_the_app_does(client, depositor):
    """The city app's example: 上期余额 26043.43 stays, 本期余额 grows by 2126.00 a month, 合计 = balance."""
    p, a, u, login = depositor
    factories.deposit(a.account_no, 2604343, at="2018-06-20T10:00:00+08:00", kind="transfer_in", period="201806")
    for day in ("2018-07-14", "2018-08-19", "2018-09-08"):
        factories.deposit(a.account_no, 212600, at=f"{day}T10:00:00+08:00")
    status, body = _get(client, login, "/v1/me/deposits?from=2018-07-01&to=2018-12-31")
    assert status == 200
    assert [(i["date"], i["title"], i["amount"], i["carried_over"], i["year_to_date"], i["balance_after"])
            for i in body["items"]] == [
        ("2018-09-08", "汇缴201809公积金", "2126.00", "26043.43", "6378.00", "32421.43"),
        ("2018-08-19", "汇缴201808公积金", "2126.00", "26043.43", "4252.00", "30295.43"),
        ("2018-07-14", "汇缴201807公积金", "2126.00", "26043.43", "2126.00", "28169.43"),
    ]
    first = body["items"][-1]
    assert (first["balance_before"], first["period"], first["kind"]) == ("26043.43", "201807", "remit")


def test_the_hpf_year_turns_on_the_first_of_july(client, depositor):
    p, a, u, login = depositor
    factories.deposit(a.account_no, 100000, at="2025-07-10T10:00:00+08:00")   # HPF year 2025 opens at 0
    factories.deposit(a.account_no, 100000, at="2026-06-30T16:00:00+08:00")   # still 2025
    factories.deposit(a.account_no, 100000, at="2026-07-01T08:00:00+08:00")   # 2026 opens at 2000.00
    items = _get(client, login, "/v1/me/deposits")[1]["items"]
    assert [(i["date"], i["carried_over"], i["year_to_date"]) for i in items] == [
        ("2026-07-01", "2000.00", "1000.00"), ("2026-06-30", "0.00", "2000.00"), ("2025-07-10", "0.00", "1000.00")]
    assert Account.get(a.account_no).year_openings.as_dict()["2026"]["fen"] == 200000


def test_a_withdrawal_in_the_year_lowers_year_to_date_not_carried_over(client, depositor):
    p, a, u, login = depositor
    factories.deposit(a.account_no, 500000, at="2026-06-01T10:00:00+08:00")
    factories.withdrawal(a.account_no, 200000, at="2026-07-02T10:00:00+08:00")
    factories.deposit(a.account_no, 100000, at="2026-07-08T10:00:00+08:00")
    [item] = _get(client, login, "/v1/me/deposits?from=2026-07-01")[1]["items"]
    assert (item["carried_over"], item["year_to_date"], item["balance_after"]) == ("5000.00", "-1000.00", "4000.00")


def test_imported_records_get_their_carried_over_balance_from_the_importer(client, depositor):
    p, a, u, login = depositor
    lines = [json.dumps(r, ensure_ascii=False) for r in (
        {"type": "account", "account_no": "GR0000IMP", "id_number": p.id_number, "kind": "employee", "unit_no": "U1",
         "status": "normal", "base": "5000.00", "ratio_person": "12", "ratio_unit": "12",
         "monthly_amount": "1200.00", "balance": "3600.00", "paid_through": "202608", "opened_on": "2026-05-01"},
        # out of order on purpose: the importer finds each year's first movement itself
        {"type": "deposit", "serial_no": "IMP3", "account_no": "GR0000IMP", "date": "2026-08-08", "period": "202608",
         "kind": "remit", "amount": "1200.00", "balance_after": "3600.00"},
        {"type": "deposit", "serial_no": "IMP1", "account_no": "GR0000IMP", "date": "2026-06-08", "period": "202606",
         "kind": "remit", "amount": "1200.00", "balance_after": "1200.00"},
        {"type": "deposit", "serial_no": "IMP2", "account_no": "GR0000IMP", "date": "2026-07-08", "period": "202607",
         "kind": "remit", "amount": "1200.00", "balance_after": "2400.00"},
    )]
    Account.get(a.account_no).update(actions=[Account.status.set("closed")])
    report = importer.run(lines)
    assert not report.bad
    importer.run(lines)       # re-importing changes nothing
    items = _get(client, login, "/v1/me/deposits")[1]["items"]
    assert [(i["serial_no"], i["carried_over"], i["year_to_date"]) for i in items] == [
        ("IMP3", "1200.00", "2400.00"), ("IMP2", "1200.00", "1200.00"), ("IMP1", "0.00", "1200.00")]
    # the next live posting of the year keeps the imported opening
    factories.deposit("GR0000IMP", 120000, at="2026-09-08T10:00:00+08:00")
    assert _get(client, login, "/v1/me/deposits")[1]["items"][0]["carried_over"] == "1200.00"


def test_deposits_by_date_range_include_both_ends(client, depositor):
    p, a, u, login = depositor
    for day in ("2026-03-31", "2026-04-01", "2026-04-15", "2026-04-30", "2026-05-01"):
        factories.deposit(a.account_no, 10000, at=f"{day}T23:30:00+08:00")
    items = _get(client, login, "/v1/me/deposits?from=2026-04-01&to=2026-04-30")[1]["items"]
    assert [i["date"] for i in items] == ["2026-04-30", "2026-04-15", "2026-04-01"]
    assert [i["date"] for i in _get(client, login, "/v1/me/deposits?to=2026-04-01")[1]["items"]] == [
        "2026-04-01", "2026-03-31"]
    assert [i["date"] for i in _get(client, login, "/v1/me/deposits?from=2026-04-30")[1]["items"]] == [
        "2026-05-01", "2026-04-30"]


def test_deposits_page_newest_first_without_gaps_or_repeats(client, depositor):
    p, a, u, login = depositor
    serials = [factories.deposit(a.account_no, 10000, at=f"2026-0{m}-{d:02d}T10:00:00+08:00").serial_no
               for m in (1, 2, 3) for d in (5, 15, 25)]
    items = _all(client, login, "/v1/me/deposits?limit=4")
    assert [i["serial_no"] for i in items] == list(reversed(serials))


BAD_QUERIES = [
    ("from=2026-05-01&to=2026-04-01", "body"), ("from=2026-13-01", "from"), ("limit=0", "limit"),
    ("limit=101", "limit"), ("cursor=garbage", "cursor"), ("account_no=bad%20no", "account_no"),
    ("surprise=1", "surprise"),
]


def test_bad_list_queries_are_400_naming_the_field(client, depositor):
    p, a, u, login = depositor
    for path in ("/v1/me/deposits", "/v1/me/withdrawals", "/v1/me/transactions"):
        for query, field in BAD_QUERIES:
            status, body = _get(client, login, f"{path}?{query}")
            assert status == 400 and body["error"]["code"] == "VALIDATION_FAILED", (path, query, body)
            assert field in body["error"]["details"]["fields"], (path, query, body)


def test_a_cursor_of_another_depositor_is_refused(client, depositor):
    p, a, u, login = depositor
    for d in range(1, 4):
        factories.deposit(a.account_no, 10000, at=f"2026-06-0{d}T10:00:00+08:00")
    cursor = _get(client, login, "/v1/me/deposits?limit=1")[1]["next_cursor"]
    other_p, other_a, other_u, other_login = factories.depositor()
    status, body = _get(client, other_login, f"/v1/me/deposits?limit=1&cursor={cursor}")
    assert status == 400 and "cursor" in body["error"]["details"]["fields"]


# ---------------------------------------------------------------- withdrawals and both merged


def test_withdrawals_show_type_status_and_balance(client, depositor):
    p, a, u, login = depositor
    factories.deposit(a.account_no, 500000, at="2026-06-01T10:00:00+08:00")
    w = factories.withdrawal(a.account_no, 144000, at="2026-07-02T10:00:00+08:00", type="rent")
    status, body = _get(client, login, "/v1/me/withdrawals")
    assert body["items"] == [{"serial_no": w.serial_no, "date": "2026-07-02", "type": "rent", "title": "租房提取",
                              "amount": "1440.00", "balance_after": "3560.00", "status": "posted"}]
    factories.withdrawal(a.account_no, 356000, at="2026-07-03T10:00:00+08:00", type="exit")
    assert [i["title"] for i in _get(client, login, "/v1/me/withdrawals")[1]["items"]] == ["退出缴存提取", "租房提取"]


def test_transactions_merge_deposits_and_withdrawals_newest_first(client, depositor):
    p, a, u, login = depositor
    d1 = factories.deposit(a.account_no, 500000, at="2026-06-01T10:00:00+08:00")
    w1 = factories.withdrawal(a.account_no, 100000, at="2026-06-15T10:00:00+08:00", type="property_fee")
    d2 = factories.deposit(a.account_no, 100000, at="2026-07-01T10:00:00+08:00")
    items = _all(client, login, "/v1/me/transactions?limit=2")
    assert [(i["serial_no"], i["direction"], i["balance_after"]) for i in items] == [
        (d2.serial_no, "in", "5000.00"), (w1.serial_no, "out", "4000.00"), (d1.serial_no, "in", "5000.00")]
    assert items[1]["title"] == "物业费提取"
    assert [i["serial_no"] for i in _get(client, login, "/v1/me/transactions?from=2026-06-10&to=2026-06-30")[1][
        "items"]] == [w1.serial_no]


# ---------------------------------------------------------------- business history (业务明细/我发起的)


def test_business_history_shows_status_opinion_and_decision_time_newest_first(client, depositor):
    p, a, u, login = depositor
    import datetime as dt

    first = business.submit(business.new_record(serial_no="BIZ1", owner=p.id_number, kind="withdrawal", type="rent",
                                                title="租房提取", now=dt.datetime.fromisoformat(
                                                    "2026-07-01T10:00:00+08:00"), review=False, amount=144000))
    business.submit(business.new_record(serial_no="BIZ2", owner=p.id_number, kind="flexible_seal",
                                        title="封存", now=clock.now(), review=False))
    business.set_status(first.serial_no, "rejected", now=clock.now(), opinion="租房合同不完整")
    items = _get(client, login, "/v1/me/business")[1]["items"]
    assert [(i["serial_no"], i["status"]) for i in items] == [("BIZ2", "submitted"), ("BIZ1", "rejected")]
    assert items[1] | {} == {"serial_no": "BIZ1", "type": "withdrawal", "subtype": "rent", "title": "租房提取",
                             "status": "rejected", "submitted_at": "2026-07-01T10:00:00+08:00",
                             "decided_at": NOW, "opinion": "租房合同不完整", "amount": "1440.00"}
