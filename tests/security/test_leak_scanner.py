"""The leak scanner itself (tests/support/leaks.py): what it must catch, in headers and log lines as in bodies.

Each case plants a full ID number (correct GB 11643 check character, computed here by the test factory's own
implementation of the standard), a phone or a Luhn-valid card where the scanner must find it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from stdnum import luhn

from chalicelib import log
from tests.support import factories, leaks

ID = factories.make_id_number("140105", dt.date(1985, 6, 15), 123)
PHONE = "13912345678"
CARD = "622202020011223344" + luhn.calc_check_digit("622202020011223344")


@pytest.mark.parametrize("value", [ID, PHONE, CARD])
def test_a_header_carrying_a_number_is_a_leak(value):
    assert leaks.header_leaks({"X-Request-Id": value})
    assert leaks.header_leaks({"Location": f"/v1/x?id={value}"})
    assert leaks.header_leaks({"X-Request-Id": "trace-ABC-123"}) == []


@pytest.mark.parametrize("value", [ID, PHONE, CARD])
def test_a_log_line_carrying_a_number_is_a_leak(value):
    assert leaks.log_leaks(json.dumps({"message": "x", "who": value}))
    assert leaks.log_leaks(json.dumps({"message": f"paid by {value}"}, ensure_ascii=False))
    assert leaks.log_leaks(f"plain text {value} line")


def test_an_escaped_number_in_a_json_log_line_is_still_found():
    escaped = json.dumps({"who": ID}).replace(ID[0], "\\u00" + format(ord(ID[0]), "x"))
    assert ID not in escaped and leaks.log_leaks(escaped)


def test_the_emf_timestamp_alone_is_not_a_number_of_anyone():
    line = json.dumps({"_aws": {"Timestamp": 1784080800000, "CloudWatchMetrics": []}, "Refusals": 1,
                       "route": "login"})
    assert leaks.log_leaks(line) == []
    assert leaks.log_leaks(json.dumps({"_aws": {"Timestamp": 1}, "route": PHONE}))


def test_the_suite_hook_sees_what_the_server_logs_after_masking():
    seen: list[str] = []
    log.observers.append(seen.append)
    try:
        log.get("test").info("id in a message " + ID, extra={"fields": {"phone": PHONE}})
    finally:
        log.observers.remove(seen.append)
    assert seen and all(leaks.log_leaks(line) == [] for line in seen)      # masked before it is written
    assert ID[:6] + "********" + ID[-4:] in seen[-1]
