"""The product as shipped: ``scripts/run-local.sh`` (what `make run` runs) on free loopback ports with a data
directory of its own, for the end-to-end tier, the load test and `make load`.

    running = shipped.start(tmp_path)        # DynamoDB Local, tables, demo records, the API; waits for /v1/health
    requests.get(running.url + "/v1/branches")
    running.gjj("jobs", "run", "open-remittance-window")     # the command line, against the same stage settings
    running.stop()                           # the whole process group, always

The script runs in a process group of its own; :meth:`Running.stop` signals the group (TERM, then KILL), so
DynamoDB Local and the API never outlive the test, whatever failed. The script's output goes to
``<workdir>/run-local.log`` and DynamoDB Local's to ``<workdir>/local/dynamodb.log``; :meth:`Running.logs`
returns both (the e2e tier attaches them to a failing test's report).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "run-local.sh"
PYTHON = ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def installed() -> bool:
    from tests.support import ddblocal

    return (ddblocal.install_dir() / "DynamoDBLocal.jar").exists()


@dataclass
class Running:
    process: subprocess.Popen
    port: int
    ddb_port: int
    workdir: Path
    env: dict[str, str] = field(repr=False)
    log_name: str = "run-local.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ddb_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ddb_port}"

    @property
    def local_dir(self) -> Path:
        return Path(self.env["GJJ_LOCAL_DIR"])

    @property
    def log_path(self) -> Path:
        return self.workdir / self.log_name

    def api_pid(self) -> int | None:
        """The pid of the process serving HTTP (scripts/serve_local.py under run-local.sh)."""
        for pid in _group_members(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.endswith(b"serve_local.py") for part in cmdline):
                return pid
        return None

    def gjj(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """``python -m chalicelib.cli ARGS`` with the server's stage settings, as an operator would run ``gjj``."""
        result = subprocess.run([str(PYTHON), "-m", "chalicelib.cli", *args], cwd=ROOT, env=self.env, input=input,
                                capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"gjj {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def set_clock(self, value: str | None) -> None:
        """Write (or remove) ``.local/clock`` of the running server, as a user of `make run` does (whole: written
        aside and renamed into place, so no request reads it half-written)."""
        path = self.local_dir / "clock"
        if value is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, value)

    def environment(self) -> dict[str, str]:
        """The variables that point this process (its table models, clock, token secret) at the server's data."""
        keys = ("GJJ_STAGE", "GJJ_TABLE_PREFIX", "GJJ_DDB_ENDPOINT", "GJJ_LOCAL_DIR", "AWS_DEFAULT_REGION",
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GJJ_TOKEN_SECRET")
        return {k: self.env[k] for k in keys if k in self.env}

    def sms(self) -> list[dict]:
        """Every line of the local SMS file so far."""
        path = self.local_dir / "sms.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def logs(self) -> str:
        parts = []
        for path in (self.log_path, self.local_dir / "dynamodb.log", self.local_dir / "sms.jsonl",
                     self.local_dir / "clock"):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = "(none)"
            parts.append(f"==> {path} <==\n{text[-20000:]}")
        return "\n".join(parts)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, first: signal.Signals = signal.SIGTERM) -> None:
        """``first`` (TERM; INT is Ctrl-C) to the script's process group (the script cleans up), KILL to whatever
        is left."""
        # up to a minute for the clean stop: on a loaded 2-core machine DynamoDB Local's JVM took over 20 s to exit
        for sig, wait in ((first, 60), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(self.process.pid):
                self.process.poll()
                time.sleep(0.1)
            if not _group_alive(self.process.pid):
                break
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _as_from_a_terminal() -> None:
    """In the script's process, before exec: Ctrl-C and TERM as a terminal's shell delivers them. A signal ignored
    when bash starts cannot be trapped, and a test process (an xdist worker, after some tests) may be ignoring
    SIGINT: then run-local.sh's Ctrl-C trap never ran and the test saw it killed instead of "stopped."."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Churn:
    """While in its ``with`` block, a thread does to the running server's files what a user of `make run` does:
    rewrites the clock file (with the same "now", so the business answers stay put), appends lines to the SMS
    file, and writes and removes a file under the project's own ``.local/`` (where `make run` keeps its data,
    and which the old autoreload watched). ``writes`` counts the rounds."""

    def __init__(self, running: Running, every: float = 0.2):
        self.running, self.every, self.writes = running, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="churn", daemon=True)
        self.canary = ROOT / ".local" / f"churn-canary-{os.getpid()}-{time.monotonic_ns()}"

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.canary.unlink(missing_ok=True)

    def _loop(self) -> None:
        clock = self.running.local_dir / "clock"
        sms = self.running.local_dir / "sms.jsonl"
        self.canary.parent.mkdir(exist_ok=True)
        while not self._stop.is_set():
            self.writes += 1
            if clock.exists():
                atomic_write(clock, clock.read_text())
            with sms.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"phone": "13900000000", "text": f"测试短信 {self.writes}",
                                     "sent_at": "2026-11-16T10:00:00+08:00"}, ensure_ascii=False) + "\n")
            if self.writes % 5 == 0:
                self.canary.unlink(missing_ok=True)
            else:
                self.canary.write_text(str(self.writes))
            self._stop.wait(self.every)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":       # fields: state, ppid, pgrp, ...
            members.append(int(entry.name))
    return members


def _group_alive(pgid: int) -> bool:
    return bool(_group_members(pgid))


def environment(workdir: Path, port: int, ddb_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the script (and ``gjj``) runs with: this process's, minus its AWS and gjj settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GJJ_", "AWS_", "PYTEST_", "CHALICE_")) or k == "GJJ_DYNAMODB_LOCAL_DIR"}
    env.update({"PORT": str(port), "DDB_PORT": str(ddb_port), "GJJ_LOCAL_DIR": str(workdir / "local"),
                "GJJ_STAGE": "local", "GJJ_TABLE_PREFIX": "gjj-local-",
                "GJJ_DDB_ENDPOINT": f"http://127.0.0.1:{ddb_port}", "AWS_DEFAULT_REGION": "cn-north-1",
                "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def start(workdir: Path, *, extra_env: dict[str, str] | None = None, timeout: float = 180,
          port: int | None = None, log_name: str = "run-local.log") -> Running:
    """Start ``scripts/run-local.sh`` on free ports (the API on ``port`` when given) with ``workdir/local`` as its
    data directory; wait until the API answers. Raises (after stopping everything) when it does not."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, ddb_port = port or free_port(), free_port()
    while ddb_port == port:
        ddb_port = free_port()
    env = environment(workdir, port, ddb_port, extra_env)
    log = open(workdir / log_name, "wb")  # noqa: SIM115  (the child holds it; closed below)
    process = subprocess.Popen(["bash", str(SCRIPT)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_as_from_a_terminal)
    log.close()
    running = Running(process, port, ddb_port, workdir, env, log_name)
    try:
        _wait_healthy(running, timeout)
    except BaseException:
        running.stop()
        raise
    return running


def _wait_healthy(running: Running, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not running.alive():
            raise RuntimeError(f"run-local.sh exited with {running.process.returncode}\n{running.logs()}")
        try:
            with urllib.request.urlopen(running.url + "/v1/health", timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.status == 200 and running.api_pid() is not None:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"run-local.sh did not serve within {timeout:.0f} s\n{running.logs()}")


if __name__ == "__main__":        # python -m tests.support.shipped DIR: start, print the URL, stop on Enter
    r = start(Path(sys.argv[1]))
    print(r.url, r.ddb_endpoint, flush=True)
    try:
        input()
    finally:
        r.stop()


def luhn(body: str) -> str:
    """A bank card number: ``body`` plus its Luhn check digit (ISO/IEC 7812-1), written here, apart from the code
    under test, for the end-to-end and browser tiers."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)
