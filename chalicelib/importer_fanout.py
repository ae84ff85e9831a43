"""`gjj import` in parallel (issue 18): the file cut into chunks of lines, one jobs-queue message per chunk.

The import is a :class:`chalicelib.jobs_fanout.FanoutJob` whose shards are line ranges of the file instead of key
ranges of an index: :func:`run_file` is the coordinator. It reads the file once to count its lines and find where
each chunk starts (a byte offset, so no worker reads the lines before its own), and plans the run: its ``pk`` names
the file (``job#import#<sha-256 of its path and content>``), its bounds are the chunks, ``lo`` the line before the
chunk (exclusive) and ``hi`` its last line (inclusive), each written ``<line:012d>:<byte offset after it:015d>`` so
that the fan-out's string order (the checkpoint only moves forward) is the lines' order. Locally the workers are
``--workers`` threads draining the in-process queue and read the file by its path; in AWS (the SQS queue) the file
is put in the stage's uploads bucket first (``imports/<digest>.jsonl``) and the ``job_worker`` Lambdas read their
byte ranges from there.

A worker imports its chunk page by page (:data:`PAGE` lines) with the importer's own per-record work
(:class:`chalicelib.importer.Batch`: validation, the upsert by key that makes a re-import change nothing, what the
ledger lines say about each account's HPF years); a page's outcome (counts by type, bad lines with their numbers and
reasons, the partial year sums) is written as a ``res#<gen>#<last line>`` state item before the chunk's checkpoint
moves past it, so a chunk interrupted part-way resumes after its last finished page and a page done twice writes the
same items again. When every chunk is done the run's outcomes are merged in line order, which gives each account's
year openings and 积数 exactly as one pass over the file does (:func:`chalicelib.importer.record_year_openings`,
once, marked by an ``openings#<gen>`` item), and the report the command prints.

Running ``gjj import`` again on a file whose run is unfinished resumes it; on a file whose run is done it forgets
that run and imports the file again from the start (a re-import, which changes nothing).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import math
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib import clock, importer, jobs_fanout, log
from chalicelib.adapters import queue as work_queue
from chalicelib.store.kv import StateItem

logger = log.get("import")
JOB = "import"
PAGE = 500                 # lines a worker imports between checkpoints
CHUNK_LINES = 50_000       # at most this many lines a chunk (more chunks than workers when the file is large)
BAD_PER_ITEM = 100         # bad lines a result item holds (a reason is at most REASON_MAX characters)
REASON_MAX = 1000
KEEP = dt.timedelta(days=30)     # the run's result items expire (DynamoDB TTL) after this
READ_BYTES = 1 << 18
OPENINGS_THREADS = 8       # accounts whose year openings are written at once when the run is done

# (lines, written, bad) a page adds: the command's progress lines (set by run_file, seen by the worker threads)
PROGRESS: contextvars.ContextVar[Callable[[int, int, int], None] | None] = contextvars.ContextVar(
    "gjj_import_progress", default=None)


def key(line: int, offset: int) -> str:
    return f"{line:012d}:{offset:015d}"


def unkey(text: str) -> tuple[int, int]:
    line, _, offset = text.partition(":")
    return int(line), int(offset)


# ----------------------------------------------------------------------------------------------- reading the file

def _chunks(source: dict[str, Any], start: int, end: int) -> Iterator[bytes]:
    """The bytes [start, end) of the file, a piece at a time."""
    if start >= end:
        return
    if "path" in source:
        with open(source["path"], "rb") as fh:
            fh.seek(start)
            left = end - start
            while left > 0:
                data = fh.read(min(READ_BYTES, left))
                if not data:
                    return
                left -= len(data)
                yield data
        return
    from chalicelib.adapters import files

    yield from files.S3Files(bucket=source["bucket"]).read(source["key"], start, end)


def lines_of(source: dict[str, Any], start: int, end: int) -> Iterator[tuple[bytes, int]]:
    """Each line of the bytes [start, end) (its newline kept) with the offset just after it."""
    pending = b""
    pos = start
    for data in _chunks(source, start, end):
        buf = pending + data
        at = 0
        while (nl := buf.find(b"\n", at)) >= 0:
            line = buf[at:nl + 1]
            at = nl + 1
            pos += len(line)
            yield line, pos
        pending = buf[at:]
    if pending:
        yield pending, pos + len(pending)


def _size(source: dict[str, Any]) -> int:
    if "path" in source:
        return Path(source["path"]).stat().st_size
    from chalicelib.adapters import files

    return files.S3Files(bucket=source["bucket"]).size(source["key"])


def scan(path: Path) -> tuple[str, int]:
    """The file's digest (of its path and content) and its number of lines (a last line without a newline counts,
    as reading the file line by line counts it)."""
    digest = hashlib.sha256(str(path.resolve()).encode() + b"\0")
    count = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while data := fh.read(1 << 20):
            digest.update(data)
            count += data.count(b"\n")
            last = data[-1:]
    return digest.hexdigest()[:32], count + (0 if last == b"\n" else 1)


def cut(source: dict[str, Any], lines: int, chunks: int) -> tuple[tuple[str, str], ...]:
    """``chunks`` consecutive line ranges with as even a number of lines as may be: chunk i is the lines after
    ``lines * i // chunks`` up to ``lines * (i + 1) // chunks``, each edge with the byte offset after that line."""
    edges = sorted({lines * i // chunks for i in range(chunks + 1)})
    wanted = set(edges)
    offsets = {0: 0}
    if len(wanted - {0}) > 0:
        line_no = 0
        for _text, pos in lines_of(source, 0, _size(source)):
            line_no += 1
            if line_no in wanted:
                offsets[line_no] = pos
    bounds = [(key(lo, offsets[lo]), key(hi, offsets[hi])) for lo, hi in zip(edges, edges[1:], strict=False)]
    return tuple(bounds) or ((key(0, 0), key(0, 0)),)


def chunk_count(lines: int, workers: int, chunk_lines: int) -> int:
    """As many chunks as workers, more when the file is large (so a chunk stays a few minutes of work), never more
    than lines."""
    return max(1, min(max(lines, 1), max(workers, math.ceil(lines / chunk_lines))))


# ----------------------------------------------------------------------------------------------- the worker's page

class FileChanged(RuntimeError):
    pass


def _page(context: dict[str, Any], shard: jobs_fanout.Shard, now: dt.datetime) -> jobs_fanout.Page:
    """The next :data:`PAGE` lines of the chunk, imported, their outcome recorded, the chunk checkpointed."""
    done, offset = unkey(shard.after)
    last, end = unkey(shard.hi)
    if done >= last:
        return jobs_fanout.Page(None, more=False)
    stop = min(done + PAGE, last)
    batch = importer.Batch()
    line_no, pos = done, offset
    try:
        for raw, after in lines_of(context["source"], offset, end):
            line_no, pos = line_no + 1, after
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                batch.report.lines = line_no
                batch.report.bad.append(importer.BadLine(line_no, "不是有效的 UTF-8 文本"))
            else:
                batch.line(line_no, text)
            if line_no == stop:
                break
    finally:
        batch.close()
    if line_no != stop:
        raise FileChanged(f"the file changed while it was imported: line {stop} is not where it was")
    _save_result(shard, stop, batch)
    cursor = key(stop, pos)
    jobs_fanout.checkpoint(shard, cursor, batch.report.ok, 0, now)
    report = PROGRESS.get()
    if report is not None:
        report(stop - done, batch.report.ok, len(batch.report.bad))
    return jobs_fanout.Page(cursor, batch.report.ok, 0, more=stop < last)


def _result_sk(gen: str, line: int, part: int) -> str:
    return f"res#{gen}#{line:012d}#{part:03d}"


def _save_result(shard: jobs_fanout.Shard, line: int, batch: importer.Batch) -> None:
    """The page's outcome, as items a redo of the page writes again the same."""
    bad = [[b.line_no, b.reason[:REASON_MAX]] for b in batch.report.bad]
    years = batch.years
    first = {"written": batch.report.written,
             "firsts": [[a, y, fk, fen] for (a, y), (fk, fen) in batch.firsts.items()],
             "moved": [[a, y, n] for (a, y), n in years.moved.items()],
             "settled": [[a, y, s] for (a, y), s in years.settled.items()],
             "explicit": [[a, y] for a, y in sorted(years.explicit)],
             "bad": bad[:BAD_PER_ITEM]}
    parts = [first] + [{"bad": bad[i:i + BAD_PER_ITEM]} for i in range(BAD_PER_ITEM, len(bad), BAD_PER_ITEM)]
    with StateItem.batch_write() as writer:
        for n, part in enumerate(parts):
            writer.save(StateItem(shard.run, _result_sk(shard.gen, line, n), status="page", ttl=KEEP,
                                  value=json.dumps(part, ensure_ascii=False, separators=(",", ":"))))


# ----------------------------------------------------------------------------------------------- the run's outcome

def gather(run: str, gen: str) -> tuple[importer.Report, dict[tuple[str, int], tuple[str, int]], importer.YearSums]:
    """The run's pages merged in line order: the report (counts, bad lines) and the year sums, as one pass over the
    file would have made them (the earliest movement of a year is the first in line order on a tie; a year's
    settlement-day interest record is the last)."""
    report = importer.Report()
    firsts: dict[tuple[str, int], tuple[str, int]] = {}
    years = importer.YearSums()
    for item in StateItem.query(run, StateItem.sk.startswith(f"res#{gen}#"), consistent_read=True):
        part = json.loads(item.value)
        report.bad += [importer.BadLine(int(n), reason) for n, reason in part.get("bad", [])]
        for kind, n in part.get("written", {}).items():
            report.written[kind] = report.written.get(kind, 0) + int(n)
        for a, y, fk, fen in part.get("firsts", []):
            if (a, y) not in firsts or fk < firsts[(a, y)][0]:
                firsts[(a, y)] = (fk, int(fen))
        for a, y, n in part.get("moved", []):
            years.moved[(a, y)] = years.moved.get((a, y), 0) + int(n)
        for a, y, s in part.get("settled", []):
            years.settled[(a, y)] = s
        years.explicit.update((a, y) for a, y in part.get("explicit", []))
    return report, firsts, years


def record_openings(run: str, gen: str) -> None:
    """Once for the run: each account's year openings and 积数 from every chunk's ledger lines."""
    marker = f"openings#{gen}"
    try:
        StateItem.get(run, marker, consistent_read=True)
        return
    except StateItem.DoesNotExist:
        pass
    _report, firsts, years = gather(run, gen)
    parts: list[dict[tuple[str, int], tuple[str, int]]] = [{} for _ in range(OPENINGS_THREADS)]
    for (account_no, year), first in firsts.items():      # an account's years stay together (one update each)
        parts[zlib.crc32(account_no.encode()) % OPENINGS_THREADS][(account_no, year)] = first
    with ThreadPoolExecutor(max_workers=OPENINGS_THREADS, thread_name_prefix="gjj-openings") as pool:
        for done in [pool.submit(contextvars.copy_context().run, importer.record_year_openings, part, years)
                     for part in parts if part]:
            done.result()
    StateItem(run, marker, status="done", ttl=KEEP, updated_at=clock.iso(clock.now())).save()


def _finished(context: dict[str, Any], totals: dict[str, int], now: dt.datetime) -> None:
    run = StateItem.get(context["run"], jobs_fanout.RUN_SK, consistent_read=True)
    record_openings(context["run"], run.data.as_dict()["gen"])
    log.event(logger, "import done", run=context["run"], lines=context["lines"], written=totals["posted"])


def _summary(context: dict[str, Any], totals: dict[str, int] | None) -> dict[str, Any]:
    return {"run": context["run"], "lines": context["lines"]}


def _no_plan(now: dt.datetime) -> jobs_fanout.Plan:
    raise RuntimeError("an import is planned from its file: chalicelib.importer_fanout.run_file")


def _no_keys(context: dict[str, Any]) -> list[str]:
    raise RuntimeError("an import's chunks are cut by chalicelib.importer_fanout.cut")


FANOUT = jobs_fanout.FanoutJob(JOB, plan=_no_plan, keys=_no_keys, page=_page, finished=_finished, summary=_summary)


# ----------------------------------------------------------------------------------------------- the coordinator

def _forget(run: str) -> None:
    """Delete a finished run's items (a new import of the same file starts from the beginning)."""
    with StateItem.batch_write() as writer:
        for item in StateItem.query(run, consistent_read=True):
            writer.delete(item)


def run_file(path: Path, *, workers: int | None = None, chunk_lines: int | None = None,
             queue: work_queue.WorkQueue | None = None, progress: Callable[[int, int, int], None] | None = None,
             wait: Callable[[], None] = lambda: time.sleep(5)) -> importer.Report:
    """Import the file at ``path`` in chunks worked in parallel; the report of the whole file. Locally the chunks
    are worked here, ``workers`` at a time; in AWS by the job worker Lambdas, and this waits (``wait``) until the
    last of them is done."""
    from chalicelib import settings

    started = time.perf_counter()
    q = queue if queue is not None else work_queue.get()
    local = isinstance(q, work_queue.LocalQueue)
    workers = workers or settings.get().job_workers
    digest, lines = scan(path)
    run = f"job#{JOB}#{digest}"
    try:
        if StateItem.get(run, jobs_fanout.RUN_SK, consistent_read=True).status == "done":
            _forget(run)
    except StateItem.DoesNotExist:
        pass
    if local:
        source: dict[str, Any] = {"path": str(path.resolve())}
    else:
        from chalicelib.adapters import files

        s3 = files.S3Files()
        s3.put_file(f"imports/{digest}.jsonl", path)
        source = {"bucket": s3.bucket, "key": f"imports/{digest}.jsonl"}
    chunks = chunk_count(lines, workers, chunk_lines or CHUNK_LINES)
    plan = jobs_fanout.Plan(run, {"run": run, "source": source, "lines": lines, "file": path.name},
                            bounds=cut(source, lines, chunks))
    token = PROGRESS.set(progress)
    try:
        jobs_fanout.start(FANOUT, clock.now(), queue=q, shards=chunks, plan=plan, workers=workers)
    finally:
        PROGRESS.reset(token)
    item = StateItem.get(run, jobs_fanout.RUN_SK, consistent_read=True)
    while item.status != "done":        # the workers are Lambdas (AWS): wait for the last chunk
        wait()
        item = StateItem.get(run, jobs_fanout.RUN_SK, consistent_read=True)
    gen = item.data.as_dict()["gen"]
    record_openings(run, gen)           # done by the last worker; again here if it died after marking the run done
    report, _firsts, _years = gather(run, gen)
    report.lines = lines
    report.seconds = time.perf_counter() - started
    return report

