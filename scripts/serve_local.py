"""`chalice local` as `make run` and `make dev` start it (scripts/run-local.sh calls this).

It is Chalice's own local server (``chalice local --no-autoreload``), with three differences:

* **No restarts while data changes.** ``chalice local`` reloads by default, and its stat watcher walks the whole
  project (``.venv/`` and ``.local/`` included) every second, restarting the server on every DynamoDB Local
  write, every ``.local/sms.jsonl`` line and every ``.local/clock`` edit; a request in flight then gets a reset
  connection. Here the server never reloads, unless ``--reload`` (``make dev``) asks for it, and then only for
  code: a parent process polls ``app.py``, ``chalicelib/`` and ``.chalice/config.json`` once a second and
  restarts the server process when one of them changes. Data, the clock file and the SMS file are never watched.
* **The environment wins over .chalice/config.json**, as for the ``gjj`` command: the ``local`` stage's variables
  fill in only what the environment does not set. ``chalice local`` alone does the opposite (the config's
  ``GJJ_DDB_ENDPOINT`` of port 8001 would replace the one run-local.sh exports), which made the DynamoDB port
  impossible to move.
* **A listen backlog of 128** instead of socketserver's 5: fifty users opening connections at once otherwise
  overflow the accept queue.

    python scripts/serve_local.py [--host 127.0.0.1] [--port 8000] [--reload]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".json", ".txt")


def _environment_wins() -> None:
    from chalice.cli.factory import CLIFactory

    original = CLIFactory.load_chalice_app
    if getattr(original, "_gjj_env_wins", False):
        return

    def load_chalice_app(self, environment_variables=None, validate_feature_flags=True):
        if environment_variables is not None:
            environment_variables = {k: v for k, v in environment_variables.items() if k not in os.environ}
        return original(self, environment_variables, validate_feature_flags)

    load_chalice_app._gjj_env_wins = True
    CLIFactory.load_chalice_app = load_chalice_app


def serve(host: str, port: int) -> int:
    """``chalice local --no-autoreload --stage local`` in this process."""
    from chalice import cli, local

    _environment_wins()
    local.ThreadedHTTPServer.request_queue_size = 128
    args = ["--project-dir", str(ROOT), "local", "--no-autoreload", "--stage", "local", "--host", host,
            "--port", str(port)]
    import click

    try:
        return cli.cli.main(args=args, prog_name="chalice", obj={}, standalone_mode=False) or 0
    except (KeyboardInterrupt, click.exceptions.Abort):      # Ctrl-C: click turns it into Abort
        return 0


def code_files() -> dict[str, float]:
    """What ``--reload`` watches: app.py, chalicelib/ and the stage config; nothing under .local/ or .venv/."""
    paths = [ROOT / "app.py", ROOT / ".chalice" / "config.json"]
    paths += [p for p in (ROOT / "chalicelib").rglob("*") if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts]
    out = {}
    for path in paths:
        try:
            out[str(path)] = path.stat().st_mtime
        except OSError:
            pass
    return out


def reload_loop(host: str, port: int, poll: float = 1.0) -> int:
    """Run the server as a child process; restart it when code changes (and only then)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--host", host, "--port", str(port)]
    child: subprocess.Popen | None = None
    stopping = False

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    seen = code_files()
    try:
        child = subprocess.Popen(command)
        while not stopping:
            time.sleep(poll)
            now = code_files()
            if now == seen:
                continue          # a server that crashed (a syntax error) waits here for the next code change
            changed = sorted(set(now.items()) ^ set(seen.items()))
            seen = now
            print(f"code changed ({Path(changed[0][0]).relative_to(ROOT)}); restarting the server", flush=True)
            _stop(child)
            child = subprocess.Popen(command)
    finally:
        if child is not None:
            _stop(child)
    return 0


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve the gjj API like `chalice local` (stage local)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-autoreload", dest="reload", action="store_false",
                      help="never restart (the default; `make run`): chalice local --no-autoreload")
    mode.add_argument("--reload", action="store_true", help="restart on changes to app.py, chalicelib/, config")
    parser.set_defaults(reload=False)
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        parser.error("the local server listens on loopback only")
    os.chdir(ROOT)
    if args.reload:
        return reload_loop(args.host, args.port)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
