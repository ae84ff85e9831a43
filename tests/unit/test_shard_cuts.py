"""The coordinator cuts a key-range job's shards from an evenly spaced sample of its keys (issue 18: 10 M account
numbers do not fit in a coordinator Lambda's memory). What matters to a run: every key falls in exactly one shard,
the shards' shares are close to even, and the coordinator never holds more than its sample."""

from __future__ import annotations

import pytest

from chalicelib import jobs_fanout


def _in(key: str, lo: str | None, hi: str | None) -> bool:
    """lo exclusive, hi inclusive, None open (as jobs_fanout.Shard documents its ranges), written out here."""
    return (lo is None or key > lo) and (hi is None or key <= hi)


class _Counted:
    """An iterator of keys that remembers how many it has handed out (the sample must not need a second pass)."""

    def __init__(self, keys):
        self.keys, self.read = keys, 0

    def __iter__(self):
        for k in self.keys:
            self.read += 1
            yield k


@pytest.mark.parametrize(("n", "shards", "limit"), [(10_000, 4, 100), (10_007, 16, 256), (999, 3, 50),
                                                    (5, 8, 100), (0, 4, 100)])
def test_shards_cut_from_a_sample_cover_every_key_once_and_share_them_evenly(n, shards, limit):
    keys = [f"GR{i:08d}" for i in range(n)]
    source = _Counted(keys)
    sample = jobs_fanout._evenly(source, limit)
    assert source.read == n                     # one pass
    assert len(sample) <= limit + 1 and sample == sorted(sample) and set(sample) <= set(keys)
    bounds = jobs_fanout._split(sample, shards)
    assert len(bounds) == shards and bounds[0][0] is None and bounds[-1][1] is None
    for k in keys:                               # every key in exactly one shard
        assert sum(_in(k, lo, hi) for lo, hi in bounds) == 1, k
    assert sum(_in("GR99999999", lo, hi) for lo, hi in bounds) == 1   # one written after the cut: the last shard
    if n >= shards * 10:
        # the sample keeps every `stride`-th key; each shard is off its even share by at most two strides
        stride = 1
        while n / stride > limit:
            stride *= 2
        share = n / shards
        for lo, hi in bounds:
            got = sum(_in(k, lo, hi) for k in keys)
            assert abs(got - share) <= 2 * stride + 1, (got, share, stride)


def test_a_sample_of_a_city_holds_a_bounded_number_of_keys():
    # 2,000,000 keys streamed (a generator: never a list) keep at most SAMPLE_KEYS + 1
    sample = jobs_fanout._evenly((f"GR{i:09d}" for i in range(2_000_000)), jobs_fanout.SAMPLE_KEYS)
    assert jobs_fanout.SAMPLE_KEYS // 2 <= len(sample) <= jobs_fanout.SAMPLE_KEYS + 1
    gaps = {int(b[2:]) - int(a[2:]) for a, b in zip(sample, sample[1:], strict=False)}
    assert len(gaps) == 1                        # evenly spaced


def test_every_key_range_job_streams_its_keys_to_the_coordinator(aws):
    # a list would hold every key (the memory the sample saves); a stream hands them one at a time
    from datetime import datetime

    now = datetime.fromisoformat("2026-06-30T23:00:00+08:00")
    checked = []
    for name in jobs_fanout.REGISTRY:
        job = jobs_fanout.get(name)
        if job.scan or name == "import":          # scan segments read no keys; the import cuts its file's lines
            continue
        keys = job.keys(job.plan(now).context)
        assert iter(keys) is keys, f"{name}: its keys come as a {type(keys).__name__}, not a stream"
        assert list(keys) == []                    # and, on empty tables, there are none
        checked.append(name)
    assert {"settle-annual-interest", "loan-offset-deduction", "send-appointment-reminders"} <= set(checked)
