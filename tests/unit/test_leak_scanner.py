"""The suite-wide masking check finds full ID numbers, phones and card numbers, and nothing else."""

import json

import pytest
from chalice import Chalice
from chalice.test import Client
from stdnum import luhn

from tests.support.factories import make_id_number
from tests.support.leaks import LeakCheckingClient, json_leaks, leaks

ID = make_id_number("140105", __import__("datetime").date(1985, 3, 12), 11)
CARD = "622202020011223" + luhn.calc_check_digit("622202020011223")
# 18 digits whose last is not the ID check character; of those, one that is not a Luhn-valid card number either
# (an 18-digit run passing Luhn could be a card, and the scanner rightly reports it as one)
_WRONG_CHECK = next(ID[:17] + d for d in "0123456789" if d != ID[17] and not luhn.is_valid(ID[:17] + d))


@pytest.mark.parametrize("text, kind", [
    (json.dumps({"id_number": ID}), "ID number"),
    (json.dumps({"note": f"证件号码{ID}已核对"}), "ID number"),
    (json.dumps({"phone": "13812345678"}), "phone"),
    (json.dumps({"card_no": CARD}), "card number"),
    (json.dumps({"n": int(CARD)}), "card number"),
])
def test_a_full_value_is_found(text, kind):
    [found] = json_leaks(text.encode())
    assert found.startswith(kind)


@pytest.mark.parametrize("value", [
    ID[:6] + "********" + ID[-4:], "138****5678", CARD[:6] + "*" * 6 + CARD[-4:],
    "HJ2026071509000012345678",            # a business serial: letters before the digits
    "20260715090000123456-ab12cd34",        # a message id: 20 digits
    _WRONG_CHECK,                          # an ID number's digits with a wrong check character (and no card)
    "12345678901", "2026-07-15T09:00:00+08:00", "1752541200",
])
def test_masked_values_serials_and_timestamps_are_not_leaks(value):
    assert leaks(json.dumps({"v": value})) == []


def test_the_client_fails_a_test_that_receives_a_leak(tmp_path):
    app = Chalice("leaky")

    @app.route("/leak")
    def leak():
        return {"phone": "13812345678"}

    @app.route("/fine")
    def fine():
        return {"phone": "138****5678"}

    with Client(app, project_dir=str(tmp_path)) as inner:
        checked = LeakCheckingClient(inner)
        assert checked.http.get("/fine").status_code == 200
        with pytest.raises(AssertionError, match=r"GET /leak .*phone 138…5678"):
            checked.http.get("/leak")
