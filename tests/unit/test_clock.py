import datetime as dt

import pytest

from chalicelib import clock, settings


def test_local_clock_file_is_now_and_read_at_every_call(local_dir):
    (local_dir / "clock").write_text("2026-07-15T09:00:00+08:00")
    assert clock.now() == dt.datetime(2026, 7, 15, 9, tzinfo=clock.CHINA)
    (local_dir / "clock").write_text("2026-07-15T01:00:00+00:00")   # any offset, answered in China time
    assert clock.now().hour == 9 and clock.now().utcoffset() == dt.timedelta(hours=8)


def test_clock_file_is_ignored_outside_the_local_stage(local_dir, monkeypatch):
    (local_dir / "clock").write_text("2000-01-01T00:00:00+08:00")
    monkeypatch.setenv("GJJ_STAGE", "prod")
    settings.reset()
    assert clock.now().year > 2000


def test_without_a_clock_file_the_real_clock_in_china_time(local_dir):
    now = clock.now()
    assert now.utcoffset() == dt.timedelta(hours=8)
    assert abs((now - dt.datetime.now(dt.UTC)).total_seconds()) < 5


def test_clock_without_offset_is_refused():
    with pytest.raises(ValueError):
        clock.parse("2026-07-15T09:00:00")


def test_frozen_pins_now():
    with clock.frozen("2026-06-30T23:00:00+08:00") as at:
        assert clock.now() == at


def test_unknown_stage_is_refused(monkeypatch):
    monkeypatch.setenv("GJJ_STAGE", "staging")
    with pytest.raises(RuntimeError):
        settings.load()
