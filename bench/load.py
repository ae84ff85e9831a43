"""Load run (`make load`): 50 concurrent users on mixed operations against `make run` itself.

The server is ``scripts/run-local.sh``, the script `make run` runs (DynamoDB Local with its data on disk, the
tables, the demo records, ``chalice local`` without autoreload), started with a fresh data directory, the API
on ``LOAD_PORT`` (default 8040; never 8000/8001, which your own `make run` uses) and DynamoDB Local on a free
port. While the users run, the local clock file is rewritten and lines are appended to the SMS file (what a
user of `make run` does), and the API process must stay the same one. Every user is a depositor of its own
(flexible account, bound card, session) and loops over a weighted mix of reads and writes for ``--seconds``:

    remittance view, notices, branches, slots, rates, my appointments, loan calculator (reads and CPU),
    password login (argon2), seal/unseal in turn (writes), one remittance each (a payment: bank + ledger).

Plain threads, one ``requests.Session`` each. Any 5xx, any unexpected status and any connection error is an
error, and so is a ledger that disagrees afterwards (a paying user's month credited other than once) and a
restarted API; the run prints throughput and latency percentiles per operation and exits 1 on any error.

    python -m bench.load [--users 50] [--seconds 30] [--port 8040]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class User:
    token: str
    card_id: str
    account_no: str
    sealed: bool = False
    paid: bool = False


@dataclass
class Op:
    name: str
    weight: int
    method: str
    path: str
    body: object = None
    expect: tuple[int, ...] = (200,)
    auth: bool = True


def mix(world_values: dict, login_phone: str) -> list[Op]:
    """The weighted operations; ``login_phone`` is a depositor of the load's own (``seed_login``), whose
    password nobody else gets wrong (a fuzzer's wrong passwords would put a captcha in front of it)."""
    from tests.support.world import PASSWORD

    return [
        Op("remittance view", 6, "GET", "/v1/flexible/remittance"),
        Op("notices", 5, "GET", "/v1/notices?category=news", auth=False),
        Op("branches", 3, "GET", "/v1/branches", auth=False),
        Op("slots", 3, "GET", f"/v1/branches/B01/slots?date={world_values['date']}", auth=False),
        Op("rates", 3, "GET", "/v1/rates", auth=False),
        Op("my appointments", 3, "GET", "/v1/me/appointments"),
        Op("loan calculator", 2, "POST", "/v1/tools/loan-calculator",
           {"principal": "600000.00", "annual_rate": "3.10", "term_months": 240, "method": "equal_installment"},
           auth=False),
        Op("password login", 1, "POST", "/v1/auth/login", {"principal": login_phone, "password": PASSWORD},
           auth=False),
        Op("seal/unseal", 2, "POST", "/v1/flexible/{seal}"),
        Op("remittance", 1, "POST", "/v1/flexible/remittances", expect=(201,)),
    ]


@dataclass
class Result:
    seconds: float
    users: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0

        every = [x for v in self.latencies.values() for x in v]
        return {
            "users": self.users, "seconds": round(self.seconds, 1), "requests": self.requests,
            "errors": len(self.errors), "throughput_rps": round(self.requests / self.seconds, 1),
            "p50_ms": pct(every, 0.50), "p95_ms": pct(every, 0.95), "p99_ms": pct(every, 0.99),
            "per_operation": {name: {"n": len(v), "p50_ms": round(statistics.median(v), 1), "p99_ms": pct(v, 0.99)}
                              for name, v in sorted(self.latencies.items()) if v},
            "first_errors": self.errors[:10],
        }


def seed_users(n: int) -> list[User]:
    """``n`` depositors of their own: flexible account paid through 202610, a bound card, a session."""
    from tests.support import factories

    users = []
    for i in range(n):
        p, a, u, login = factories.depositor(kind="flexible", balance=1_000_000, paid_through="202610",
                                             monthly_amount=80_000, opened_on="2020-03-01")
        card = factories.card(p, card_no=f"6222020{i:011d}1")   # never ...0000: the local bank declines those
        users.append(User(token=login.token, card_id=card.card_id, account_no=a.account_no))
    return users


def seed_login() -> str:
    """A depositor with a password for the load's logins; returns the phone to log in with."""
    from chalicelib.services import passwords
    from tests.support import factories
    from tests.support.world import PASSWORD

    p, a, u, login = factories.depositor()
    u.update(actions=[type(u).password_hash.set(passwords.hash_password(PASSWORD))])
    return p.phone


def run_load(url: str, users: list[User], ops: list[Op], seconds: float, *, seed: int = 7) -> Result:
    """Each user a thread looping over the weighted mix until ``seconds`` have passed (bounded, loopback)."""
    import requests

    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError("the load run targets loopback only")
    result = Result(seconds=seconds, users=len(users))
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    weights = [op.weight for op in ops]

    def user_loop(index: int, user: User) -> None:
        rng = random.Random(seed + index)
        session = requests.Session()
        while time.monotonic() < deadline:
            op = rng.choices(ops, weights)[0]
            path, body = op.path, op.body
            headers = {"Content-Type": "application/json"}
            if op.auth:
                headers["Authorization"] = f"Bearer {user.token}"
            if op.name == "seal/unseal":
                path = path.format(seal="unseal" if user.sealed else "seal")
                headers["Idempotency-Key"] = uuid.uuid4().hex
                body = {}
            elif op.name == "remittance":
                if user.paid or user.sealed:
                    continue
                headers["Idempotency-Key"] = uuid.uuid4().hex
                body = {"period": "202611", "bank_card_id": user.card_id}
            started = time.perf_counter()
            try:
                resp = session.request(op.method, url + path, headers=headers,
                                       data=json.dumps(body) if body is not None else None, timeout=30)
                status, text = resp.status_code, resp.text[:200]
            except requests.RequestException as exc:
                status, text = 0, f"{type(exc).__name__}: {exc}"[:200]
            ms = (time.perf_counter() - started) * 1000
            with lock:
                result.latencies[op.name].append(ms)
                if status not in op.expect:
                    result.errors.append(f"{op.name} {op.method} {path}: {status} {text}")
            if status in op.expect:
                if op.name == "seal/unseal":
                    user.sealed = not user.sealed
                elif op.name == "remittance":
                    user.paid = True
        session.close()

    threads = [threading.Thread(target=user_loop, args=(i, u), daemon=True) for i, u in enumerate(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    result.seconds = time.monotonic() - started
    return result


def ledger_mismatches(users: list[User]) -> list[str]:
    """After the run: each user's month credited exactly once if their remittance succeeded, else not at all."""
    from chalicelib.store.ledger import LedgerEntry

    problems = []
    for user in users:
        months = [e.period for e in LedgerEntry.flow_index.query(user.account_no) if e.kind == "remit"]
        if months != (["202611"] if user.paid else []):
            problems.append(f"ledger of {user.account_no}: remittances {months}, paid={user.paid}")
    return problems


def print_summary(s: dict) -> None:
    print(f"load: {s['users']} users, {s['seconds']} s, {s['requests']} requests, {s['throughput_rps']} req/s, "
          f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}")
    for name, row in s["per_operation"].items():
        print(f"  {name:<18} n={row['n']:<6} p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms")
    for line in s["first_errors"]:
        print(f"  ERROR {line}")


@dataclass
class Shipped:
    """The outcome of :func:`against_shipped`: the summary, and whether the API process stayed the same."""

    summary: dict
    pid_before: int | None
    pid_after: int | None
    file_writes: int


def against_shipped(running, users: int, seconds: float) -> Shipped:
    """Seed the served tables (this process must already point at them: ``running.environment()``), then run the
    load against the API that ``scripts/run-local.sh`` started while its clock and SMS files are being written
    (``shipped.Churn``). Errors: any failed request, a ledger that disagrees, and a replaced API process."""
    from chalicelib import settings
    from chalicelib.services import remittance
    from chalicelib.store import base
    from tests.support import shipped
    from tests.support import world as W

    settings.reset()
    base.configure()
    remittance.reset_cache()
    world = W.build()                          # demo records, personas, open window, clock pinned
    seeded = seed_users(users)
    ops = mix(world.values, seed_login())
    pid_before = running.api_pid()
    with shipped.Churn(running) as churn:
        result = run_load(running.url, seeded, ops, seconds)
    result.errors += ledger_mismatches(seeded)
    pid_after = running.api_pid()
    if pid_after != pid_before:
        result.errors.append(f"the API process changed during the run: {pid_before} -> {pid_after}")
    summary = result.summary()
    summary.update(api_pid_unchanged=pid_after == pid_before, file_writes=churn.writes)
    return Shipped(summary, pid_before, pid_after, churn.writes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOAD_USERS", 50)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 30)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOAD_PORT", 8040)))
    parser.add_argument("--json", help="also write the summary here")
    args = parser.parse_args(argv)
    if args.port in (8000, 8001):
        parser.error("ports 8000/8001 belong to `make run`; pick another LOAD_PORT")
    sys.path.insert(0, str(ROOT))
    from tests.support import shipped

    if not shipped.installed():
        print("DynamoDB Local is not installed: run `make dynamodb-local` first")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="gjj-load-"))
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    print(f"load: starting scripts/run-local.sh (API on 127.0.0.1:{args.port}, data in {workdir}) ...", flush=True)
    running = shipped.start(workdir, port=args.port, extra_env={"GJJ_TOKEN_SECRET": secret})
    try:
        os.environ.update(running.environment())
        print(f"load: {args.users} users for {args.seconds} s against {running.url} while its clock and SMS files "
              "are written ...", flush=True)
        summary = against_shipped(running, args.users, args.seconds).summary
    finally:
        running.stop()
    print_summary(summary)
    print(f"  API process unchanged: {summary['api_pid_unchanged']} ({summary['file_writes']} rounds of file writes)")
    if summary["errors"]:
        print(f"  the server's output: {running.log_path}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
