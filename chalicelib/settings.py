"""Stage settings, read from the environment (set per stage in `.chalice/config.json`).

Local-only behaviour (the `.local/` clock file, the SMS outbox, the bank and identity simulators)
exists only when ``GJJ_STAGE`` is ``local``; no other variable can switch it on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STAGES = ("local", "dev", "prod")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    ddb_endpoint: str | None
    region: str
    local_dir: Path
    policy_file: str
    token_secret: str | None
    uploads_bucket: str
    center_name: str
    job_workers: int
    job_shards: int
    page_threads: int          # threads for one worker's items (fanout.each); defaults to job_workers
    jobs_queue: str

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


def load() -> Settings:
    stage = os.environ.get("GJJ_STAGE", "local")
    if stage not in STAGES:
        raise RuntimeError(f"GJJ_STAGE must be one of {STAGES}, not {stage!r}")
    return Settings(
        stage=stage,
        table_prefix=os.environ.get("GJJ_TABLE_PREFIX", f"gjj-{stage}-"),
        ddb_endpoint=os.environ.get("GJJ_DDB_ENDPOINT") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "cn-north-1",
        local_dir=Path(os.environ.get("GJJ_LOCAL_DIR", str(PROJECT_ROOT / ".local"))),
        policy_file=os.environ.get("GJJ_POLICY", "taiyuan"),
        token_secret=os.environ.get("GJJ_TOKEN_SECRET") or None,
        uploads_bucket=os.environ.get("GJJ_UPLOADS_BUCKET", f"gjj-{stage}-uploads"),
        center_name=os.environ.get("GJJ_CENTER_NAME", "太原住房公积金管理中心"),
        job_workers=_positive_int("GJJ_JOB_WORKERS", 8),
        job_shards=_positive_int("GJJ_JOB_SHARDS", 1),
        page_threads=_positive_int("GJJ_PAGE_THREADS", _positive_int("GJJ_JOB_WORKERS", 8)),
        jobs_queue=os.environ.get("GJJ_JOBS_QUEUE", f"gjj-{stage}-jobs"),
    )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise RuntimeError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return value


_current: Settings | None = None


def get() -> Settings:
    """The settings of this process (cached; `reset()` re-reads the environment)."""
    global _current
    if _current is None:
        _current = load()
    return _current


def reset() -> None:
    global _current
    _current = None
