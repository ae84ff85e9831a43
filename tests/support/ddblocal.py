"""Start and stop AWS's DynamoDB Local (the jar unpacked under `.local/dynamodb` by `make`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def install_dir() -> Path:
    return Path(os.environ.get("GJJ_DYNAMODB_LOCAL_DIR", ROOT / ".local" / "dynamodb"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    endpoint: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(workdir: Path) -> Server | None:
    home = install_dir()
    jar = home / "DynamoDBLocal.jar"
    if not jar.exists() or shutil.which("java") is None:
        return None
    port = free_port()
    process = subprocess.Popen(
        ["java", "-Xmx1g", f"-Djava.library.path={home / 'DynamoDBLocal_lib'}", "-jar", str(jar),
         "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(port)],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with {process.returncode}")
        try:
            urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310 - loopback only
        except urllib.error.HTTPError:
            return Server(process, endpoint)  # it answers (400 for a bare GET): ready
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("DynamoDB Local did not start within 60 s")


def no_ttl_sweeps() -> None:
    """Switch TTL off on every table of the current prefix on DynamoDB Local. Tests and benchmarks pin "now" in the
    past (2026-07-15 …), so their TTL stamps are already behind the real clock, and DynamoDB Local's background sweep
    (moto has none) would delete items such as lock-out counters, idempotency records or seeded state in the middle
    of a slow run, or between a benchmark's two fingerprints. Expiry that matters is enforced in code against the
    pinned clock; TTL is only physical cleanup."""
    from pynamodb.attributes import TTLAttribute

    from chalicelib.store import base

    client = base.connection().client
    for model in base.all_models():
        names = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        if names:
            client.update_time_to_live(TableName=model.Meta.table_name,
                                       TimeToLiveSpecification={"AttributeName": names[0], "Enabled": False})
