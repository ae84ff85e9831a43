"""Scheduled functions (CONTRACT section 9): name → schedule and body.

Each body is ``fn(now: datetime) -> dict`` (a summary for the log) and must be safe to run twice for
the same moment. app.py wires every job to a Chalice schedule; ``gjj jobs run NAME`` runs one once
with the stage clock. Bodies are imported lazily so the API's cold start does not pay for them.

A Lambda may run 15 minutes at most. The jobs with work per item (reminders, offset deduction, interest,
repricing) run under a deadline a little before their Lambda's end (:func:`run` with ``budget_ms``); when it passes
they stop between items and answer ``{"done": false}``, and their schedule fires again a quarter of an hour later
within the same hour, each firing going on where the last stopped (a firing with nothing left to do changes
nothing).

A job in :data:`chalicelib.jobs_fanout.REGISTRY` (``settle-annual-interest``, ``loan-offset-deduction``,
``reprice-loans``, ``send-appointment-reminders``, ``send-remittance-reminders``) fans out instead: its body is a
coordinator that queues one message per shard for the ``job_worker`` Lambda (app.py), which sends its own
continuation before its time is up; its later firings only send shards no worker is on
(``loan-offset-deduction``'s also deduct again the loans whose bank did not answer).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import fanout, log, policy


@dataclass(frozen=True)
class Job:
    name: str
    schedule: tuple[str, str, str, str, str, str] | str   # cron fields (UTC), or a policy date: see `cron`
    target: str                                  # "module:function"
    description: str

    @property
    def cron(self) -> tuple[str, str, str, str, str, str]:
        """minutes hours day-of-month month day-of-week year (UTC). A ``schedule`` naming a policy date
        (``"loans.repricing"``) fires at 00:00 China time that day, read from the policy on first use, so
        importing the jobs (every cold start) does not load the policy."""
        return _china_midnight(self.schedule) if isinstance(self.schedule, str) else self.schedule

    def load(self) -> Callable[[datetime], dict[str, Any]]:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)

    @property
    def function_name(self) -> str:
        return self.name.replace("-", "_")


# Cron fields are UTC (EventBridge); China time is UTC+8.
JOBS: dict[str, Job] = {}


def register(job: Job) -> None:
    JOBS[job.name] = job


def get(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS)) or 'none'}") from None


def run(name: str, now: datetime, budget_ms: int | None = None) -> dict[str, Any]:
    """Run job ``name`` once for ``now``; with ``budget_ms``, stop starting items when they have passed."""

    body = get(name).load()
    with fanout.deadline(budget_ms):
        try:
            return body(now)
        except fanout.OutOfTime:
            log.get("jobs").warning("job stopped for time; its next firing goes on",
                                    extra={"fields": {"job": name, "budget_ms": budget_ms}})
            return {"job": name, "done": False, "note": "time was up; the next firing goes on"}


def budget_ms(remaining_ms: int) -> int:
    """The time a Lambda run with ``remaining_ms`` left may start items in: a tenth of it (at most a minute, at
    least one second) is kept to finish the items running, log and answer."""
    return remaining_ms - max(1_000, min(60_000, remaining_ms // 10))


def _china_midnight(where: str) -> tuple[str, str, str, str, str, str]:
    """UTC cron fields for 00:00 China time on the policy's ``month``/``day`` at ``where`` (again at :15-:45)."""
    import datetime as dt


    node: Any = policy.get()
    for part in where.split("."):
        node = getattr(node, part)
    utc = dt.datetime(2001, node.month, node.day) - dt.timedelta(hours=8)
    return ("0/15", str(utc.hour), str(utc.day), str(utc.month), "?", "*")


# The jobs of CONTRACT section 9. Cron fields are UTC: 00:00 UTC is 08:00 China time.
for _job in (
    Job("open-remittance-window", ("0", "0", "1-25", "*", "?", "*"),
        "chalicelib.services.remittance:open_window", "Open the flexible remittance window (08:00, days 1-25)"),
    Job("close-remittance-window", ("0", "9", "*", "*", "?", "*"),
        "chalicelib.services.remittance:close_window", "Close the flexible remittance window (17:00)"),
    Job("send-appointment-reminders", ("0/15", "10", "*", "*", "?", "*"),
        "chalicelib.services.appointments:send_reminders", "Remind tomorrow's appointments (18:00; goes on :15-:45)"),
    Job("send-remittance-reminders", ("0/15", "1", "20", "*", "?", "*"),
        "chalicelib.services.remittance:send_reminders",
        "Remind flexible depositors unpaid this period (20th, 09:00; goes on :15-:45)"),
    Job("loan-offset-deduction", ("0/15", "22", "*", "*", "?", "*"),
        "chalicelib.services.loan_offset:run_deduction", "Pay due installments from HPF balances (月对冲, 06:00)"),
    Job("settle-annual-interest", ("0/15", "15", "30", "6", "?", "*"),
        "chalicelib.services.interest:settle_annual_interest", "Settle the year's interest (30 June 23:00, 结息)"),
    Job("dispatch-sms", ("*", "*", "*", "*", "?", "*"),
        "chalicelib.services.sms_dispatch:dispatch", "Send queued notification SMS with retries"),
    Job("reprice-loans", "loans.repricing",
        "chalicelib.services.loan_repricing:reprice_all",
        "Move existing loans over a year to the rate in force (1 January 00:00, 重定价; goes on :15-:45)"),
):
    register(_job)
