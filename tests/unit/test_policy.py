"""The city policy file is validated on first use; a bad file fails loudly (packaging, first use) and says what is wrong."""

from pathlib import Path

import pytest
import yaml

from chalicelib import policy

DEFAULT = Path(policy.POLICY_DIR) / "taiyuan.yaml"


def write(tmp_path, change) -> Path:
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_default_policy_carries_the_taiyuan_window_and_2025_rates():
    p = policy.load_file(DEFAULT)
    window = p.flexible.remittance_window
    assert (window.first_day, window.last_day, str(window.opens_at), str(window.closes_at)) == (1, 25, "08:00:00", "17:00:00")
    assert p.flexible.adjustment_month == 7 and p.flexible.adjustments_per_year == 1
    import datetime as dt
    from decimal import Decimal

    current = p.rates.loan_rate_on(dt.date(2025, 5, 8))
    assert current.first_home.up_to_5_years == Decimal("2.10") and current.first_home.over_5_years == Decimal("2.60")
    assert p.rates.loan_rate_on(dt.date(2025, 5, 7)).first_home.over_5_years == Decimal("2.85")


@pytest.mark.parametrize("change, word", [
    (lambda d: d["flexible"].__setitem__("monthly_amount_min", 200.0), "monthly_amount_min"),       # float money
    (lambda d: d["flexible"]["remittance_window"].__setitem__("opens_at", "18:00"), "remittance_window"),
    (lambda d: d["deposit"].__setitem__("ratio_min", "13"), "deposit"),
    (lambda d: d["withdrawals"]["types"].pop("rent"), "rent"),
    (lambda d: d.__setitem__("surprise", 1), "surprise"),
    (lambda d: d["rates"]["loan"].reverse(), "rates"),
    (lambda d: d["security"].__setitem__("sms_code_ttl_seconds", 3600), "sms_code_ttl_seconds"),
])
def test_a_bad_policy_fails_fast_naming_the_problem(tmp_path, change, word):
    with pytest.raises(policy.PolicyError) as excinfo:
        policy.load_file(write(tmp_path, change))
    assert word in str(excinfo.value)


def test_unreadable_yaml_is_a_policy_error(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("deposit: [unclosed", encoding="utf-8")
    with pytest.raises(policy.PolicyError):
        policy.load_file(path)


def test_unknown_policy_name_is_a_policy_error():
    with pytest.raises(policy.PolicyError):
        policy.resolve_path("atlantis")


def _with_policy(path: Path, code: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                          env={"GJJ_POLICY": str(path), "GJJ_STAGE": "local", "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)


def test_a_bad_policy_fails_packaging_and_first_use_with_the_problem_named(tmp_path):
    """The policy is validated on first use, not at import (issue 18: every cold start paid for it). A bad file
    still fails loudly before a request: `chalice package` writes each schedule's cron (`to_string`), and
    reprice-loans' comes from the policy. It was `import app` that failed before; that is the behaviour changed."""
    path = write(tmp_path, lambda d: d["flexible"].__setitem__("adjustment_month", 13))
    package = _with_policy(path, "import app\nfor e in app.app.event_sources: e.schedule_expression.to_string()")
    assert package.returncode != 0
    assert "PolicyError" in package.stderr and "adjustment_month" in package.stderr
    first_use = _with_policy(path, "import app\nfrom chalicelib import policy\npolicy.get()")
    assert first_use.returncode != 0
    assert "PolicyError" in first_use.stderr and "adjustment_month" in first_use.stderr


def test_the_good_policy_packages_the_repricing_schedule_at_china_midnight():
    """reprice-loans fires at 00:00 China time (UTC+8) on the policy's repricing date: 16:00 UTC the day before."""
    result = _with_policy(DEFAULT, "import app\nprint([e.schedule_expression.to_string() for e in "
                                   "app.app.event_sources if e.name == 'reprice_loans'])")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))["loans"]["repricing"]
    import datetime as dt

    utc = dt.datetime(2001, data["month"], data["day"]) - dt.timedelta(hours=8)
    assert f"cron(0/15 {utc.hour} {utc.day} {utc.month} ? *)" in result.stdout
