"""`gjj import` in parallel (issue 18, chalicelib/importer_fanout.py): the file cut into chunks of lines, one queue
message a chunk, workers importing their chunks with the importer's per-record work.

The oracle for the tables is the one-pass importer (``importer.run``, its own tests in test_import.py) over the same
lines on fresh tables; the expected counts and bad line numbers are counted here from the file the test wrote. The
file is the demo center records (demo/center-records.jsonl) in reverse order, so an account's movements of one HPF
year fall in different chunks and its year openings (the balance before the year's earliest movement) and 积数 can
only come out right if the chunks' partial sums are merged."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from chalicelib import cli, importer, importer_fanout, jobs_fanout
from chalicelib.adapters import queue as work_queue
from chalicelib.store import base
from chalicelib.store.accounts import Account
from chalicelib.store.kv import StateItem

DEMO = Path(__file__).resolve().parents[2] / "demo" / "center-records.jsonl"
BAD_AT = {17: "not json", 151: '{"type": "coffee"}', 290: json.dumps(
    {"type": "person", "id_number": "140105198503120115", "name": "张伟", "phone": "13800000001"})}   # bad check digit


def demo_lines() -> list[str]:
    """The demo records last first, with a bad line put at each line number of ``BAD_AT``."""
    lines = [line for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()][::-1]
    for no in sorted(BAD_AT):
        lines.insert(no - 1, BAD_AT[no])
    return lines


def write(tmp_path: Path, lines: list[str], name: str = "records.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tables() -> dict:
    """Every table but ``state`` (the runs' own items), each item as sorted JSON."""
    return {m.__name__: sorted(json.dumps(i.to_simple_dict(), sort_keys=True, ensure_ascii=False)
                                      for i in m.scan())
            for m in base.all_models() if m is not StateItem}


def fresh_tables(monkeypatch) -> None:
    """New empty tables (moto: a new prefix)."""
    monkeypatch.setenv("GJJ_TABLE_PREFIX", f"p{uuid.uuid4().hex[:6]}-")
    base.configure()
    base.create_tables()


def expected_written(lines: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for no, line in enumerate(lines, start=1):
        if no not in BAD_AT:
            kind = json.loads(line)["type"]
            out[kind] = out.get(kind, 0) + 1
    return out


def run(path: Path, workers: int, tmp_path: Path, **kw) -> importer.Report:
    return importer_fanout.run_file(path, workers=workers, queue=work_queue.LocalQueue(tmp_path / "dlq.jsonl"), **kw)


@pytest.mark.parametrize("workers", [1, 4])
def test_chunks_cover_every_line_once_and_give_what_one_pass_gives(backend, tmp_path, monkeypatch, workers):
    monkeypatch.setattr(importer_fanout, "PAGE", 7)
    lines = demo_lines()
    path = write(tmp_path, lines)
    reference = importer.run(lines)                   # one pass, in this thread
    one_pass = tables()
    fresh_tables(monkeypatch)
    report = run(path, workers, tmp_path)
    assert tables() == one_pass
    assert report.written == reference.written == expected_written(lines)
    assert [(b.line_no, b.reason) for b in report.bad] == [(b.line_no, b.reason) for b in reference.bad]
    assert [b.line_no for b in report.bad] == sorted(BAD_AT)
    assert report.lines == len(lines)
    # the chunks: consecutive line ranges from line 1 to the last, each imported to its end, none twice
    run_pk = f"job#import#{importer_fanout.scan(path)[0]}"
    shards = list(StateItem.query(run_pk, StateItem.sk.startswith("shard#")))
    ranges = [(importer_fanout.unkey(s.data.as_dict()["lo"])[0], importer_fanout.unkey(s.data.as_dict()["hi"])[0])
              for s in shards]
    assert len(ranges) == workers
    assert ranges[0][0] == 0 and ranges[-1][1] == len(lines)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(s.status == "done" and importer_fanout.unkey(s.value)[0] == hi for s, (_lo, hi) in zip(
        shards, ranges, strict=True))
    assert sum(int(s.count) for s in shards) == sum(expected_written(lines).values())


def days_to_june_30(day: str, year_end: int) -> int:
    """30/360 days from ``day`` to 30 June ``year_end``, both counted (rules.interest's docstring; 银发〔2016〕43号
    counts a year as 360 days)."""
    y, m, d = (int(x) for x in day.split("-"))
    return (year_end - y) * 360 + (6 - m) * 30 + (30 - min(d, 30)) + 1


def test_an_account_split_across_chunks_gets_its_year_openings_from_all_of_them(aws, tmp_path, monkeypatch):
    """GR00000001 (demo): deposits of 1,920.00 on the 8th of every month from 2024-11 and the interest of each year
    dated its settlement day, 30 June. HPF year 2025 (1 July 2025 - 30 June 2026) opens with the balance before its
    earliest movement, D0010009 of 2025-07-08 (17,361.92 after 1,920.00: 15,441.92), and its 积数 is that balance ×
    360 plus each remittance × its days to 30 June 2026; the 2026-06-30 interest record marks the year settled.
    In the reversed file cut into chunks of at most ten lines, these lines are in different chunks."""
    monkeypatch.setattr(importer_fanout, "PAGE", 5)
    lines = demo_lines()
    mine = {no: json.loads(line) for no, line in enumerate(lines, start=1) if '"GR00000001"' in line}
    assert max(mine) - min(mine) + 1 > 2 * 10             # the account's lines reach over more than two chunks
    run(write(tmp_path, lines), 4, tmp_path, chunk_lines=10)
    account = Account.get("GR00000001")
    assert {year: int(v["fen"]) for year, v in account.year_openings.as_dict().items()} == {
        "2024": 0, "2025": 1_544_192, "2026": 3_889_403}
    remits = [r for r in mine.values() if r.get("kind") == "remit" and "2025-07-01" <= r["date"] <= "2026-06-30"]
    assert len(remits) == 12
    jishu = 1_544_192 * 360 + sum(192_000 * days_to_june_30(r["date"], 2026) for r in remits)
    accrual = account.interest_accruals.as_dict()["2025"]
    assert int(accrual["jishu"]) == jishu and accrual["settled"] == "I0012026"


def test_a_reimport_changes_nothing_and_reports_the_same(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(importer_fanout, "PAGE", 9)
    path = write(tmp_path, demo_lines())
    first = run(path, 4, tmp_path)
    before = tables()
    second = run(path, 4, tmp_path)          # the done run is forgotten: the file is imported again from line 1
    assert tables() == before
    assert second.written == first.written and second.bad == first.bad and second.lines == first.lines


def test_a_bad_line_in_a_middle_chunk_is_reported_with_its_line_number(aws, tmp_path, capsys):
    good = [json.dumps({"type": "notice", "notice_id": f"N{i:03d}", "category": "news", "title": "通知",
                        "body": "正文", "published_on": "2026-10-08"}, ensure_ascii=False) for i in range(40)]
    good[22] = "{broken"                      # line 23: the third of four chunks of ten lines
    path = write(tmp_path, good)
    code = cli.main(["import", str(path), "--quiet", "--workers", "4"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [out.splitlines()[0]] and out.startswith("imported 39 of 40 lines (notice 39) in ")
    assert out.rstrip().endswith("; 1 bad line(s)")
    assert [line for line in err.splitlines() if not line.startswith("{")] == [f"{path}:23: 不是有效的 JSON"]


def test_an_id_number_in_a_bad_line_is_not_repeated_in_the_report(aws, tmp_path, capsys):
    bad_id = "140105198503120115"
    path = write(tmp_path, [json.dumps({"type": "person", "id_number": bad_id, "name": "张伟",
                                        "phone": "13800000001"}, ensure_ascii=False)])
    assert cli.main(["import", str(path), "--quiet", "--workers", "2"]) == 1
    out, err = capsys.readouterr()
    assert f"{path}:1: id_number:" in err and bad_id not in out + err


def test_a_chunk_interrupted_part_way_resumes_after_its_last_finished_page(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(importer_fanout, "PAGE", 3)
    lines = demo_lines()[:40]                 # four chunks of ten lines: 1-10, 11-20, 21-30, 31-40
    path = write(tmp_path, lines)
    real = importer.Batch.line
    handled: list[int] = []

    def dies_at_25(self, line_no, text):
        if line_no == 25:
            raise ConnectionError("the worker lost DynamoDB")
        handled.append(line_no)
        return real(self, line_no, text)

    monkeypatch.setattr(importer.Batch, "line", dies_at_25)
    with pytest.raises(ConnectionError):
        run(path, 4, tmp_path)
    run_pk = f"job#import#{importer_fanout.scan(path)[0]}"
    third = StateItem.get(run_pk, jobs_fanout.shard_sk(
        StateItem.get(run_pk, "-").data.as_dict()["gen"], 2))
    assert third.status == "failed" and importer_fanout.unkey(third.value)[0] == 23   # page 21-23 done, 24-26 not
    handled.clear()

    def counts(self, line_no, text):
        handled.append(line_no)
        return real(self, line_no, text)

    monkeypatch.setattr(importer.Batch, "line", counts)
    report = run(path, 4, tmp_path)
    assert sorted(handled) == list(range(24, 31))      # only the rest of the third chunk, from its checkpoint
    assert report.lines == 40 and report.written == expected_written(lines)
    assert [b.line_no for b in report.bad] == [17]
    resumed = tables()
    fresh_tables(monkeypatch)
    importer.run(lines)
    assert resumed == tables()


def test_in_aws_the_file_goes_to_the_uploads_bucket_and_lambda_workers_import_its_chunks(aws, tmp_path, monkeypatch):
    """The SQS path on moto: the command puts the file in S3 and sends one message a chunk; the job worker (here a
    loop doing what the ``job_worker`` Lambda does, one message at a time) reads its chunk's byte range from S3.
    Every worker here is out of time after one page, so each chunk goes on in its continuations."""
    import boto3

    from chalicelib import fanout, settings

    monkeypatch.setattr(importer_fanout, "PAGE", 11)
    monkeypatch.setattr(importer_fanout, "CHUNK_LINES", 50)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=settings.get().uploads_bucket)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="gjj-test-import")["QueueUrl"]
    q = work_queue.SqsQueue("gjj-test-import", client=sqs)
    handled: list[tuple[int, int]] = []

    def lambda_workers() -> None:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            body = work_queue.parse(m["Body"])
            handled.append((body["shard"], body["hop"]))
            with fanout.deadline(0):                    # the Lambda's time is up after its first page
                jobs_fanout.work(body, queue=q)

    lines = demo_lines()
    path = write(tmp_path, lines)
    report = importer_fanout.run_file(path, workers=1, queue=q, wait=lambda_workers)
    chunks = -(-len(lines) // 50)                                        # at most 50 lines a chunk
    assert sorted({shard for shard, hop in handled if hop == 0}) == list(range(chunks))   # one message a chunk
    for shard in range(chunks):      # then a continuation a page: a chunk of 43 or 44 lines is 4 pages of 11
        assert sorted(hop for s, hop in handled if s == shard) == [0, 1, 2, 3]
    assert report.written == expected_written(lines) and [b.line_no for b in report.bad] == sorted(BAD_AT)
    in_aws = tables()
    fresh_tables(monkeypatch)
    importer.run(lines)
    assert in_aws == tables()


def test_the_import_workers_touch_only_the_tables_their_role_grants(aws, tmp_path):
    """deploy/template.py: the job worker's role is the union of its jobs' JOB_TABLES; "import" names the import's."""
    from chalicelib import settings
    from deploy import template

    touched: set[str] = set()

    def record(params, **_):
        touched.add(params.get("TableName", ""))
        touched.update(params.get("RequestItems", {}))
        touched.update(op["TableName"] for item in params.get("TransactItems", []) for op in item.values())

    client = base.connection().client
    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        run(write(tmp_path, demo_lines()), 3, tmp_path)
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)
    prefix = settings.get().table_prefix
    logical = {t[len(prefix):] for t in touched if t}
    assert "import" in template.fanout_jobs() and {"people", "accounts", "ledger", "state"} <= logical
    assert logical <= set(template.JOB_TABLES["import"]) <= set(template.worker_tables())


def test_blank_lines_crlf_and_a_last_line_without_newline_are_numbered_as_reading_the_file_does(aws, tmp_path,
                                                                                                 monkeypatch):
    monkeypatch.setattr(importer_fanout, "PAGE", 2)
    notice = {"type": "notice", "category": "news", "title": "通知", "body": "正文", "published_on": "2026-10-08"}
    rows = [json.dumps({**notice, "notice_id": f"N{i}"}, ensure_ascii=False) for i in range(6)]
    text = f"{rows[0]}\r\n\r\n{rows[1]}\r\n{{bad\r\n\n{rows[2]}\n   \n{rows[3]}\r\n{rows[4]}\n[]\n{rows[5]}"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(text.encode("utf-8"))
    # lines as a clerk's editor numbers them: 1 N0, 2 blank, 3 N1, 4 "{bad", 5 blank, 6 N2, 7 spaces, 8 N3, 9 N4,
    # 10 "[]", 11 N5 (no newline after it)
    report = run(path, 3, tmp_path)
    assert report.lines == 11 and report.written == {"notice": 6}
    assert [b.line_no for b in report.bad] == [4, 10]


def test_an_empty_file_imports_nothing(aws, tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert cli.main(["import", str(path), "--workers", "4"]) == 0
    assert "imported 0 of 0 lines (nothing)" in capsys.readouterr().out
