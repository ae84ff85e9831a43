"""Scheduled functions (CONTRACT section 9): name → schedule and body.

Each body is ``fn(now: datetime) -> dict`` (a summary for the log) and must be safe to run twice for
the same moment. app.py wires every job to a Chalice schedule; ``gjj jobs run NAME`` runs one once
with the stage clock. Bodies are imported lazily so the API's cold start does not pay for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str
    cron: tuple[str, str, str, str, str, str]   # minutes hours day-of-month month day-of-week year (UTC)
    target: str                                  # "module:function"
    description: str

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


def run(name: str, now: datetime) -> dict[str, Any]:
    return get(name).load()(now)


# The jobs of CONTRACT section 9. Cron fields are UTC: 00:00 UTC is 08:00 China time.
for _job in (
    Job("open-remittance-window", ("0", "0", "1-25", "*", "?", "*"),
        "chalicelib.services.remittance:open_window", "Open the flexible remittance window (08:00, days 1-25)"),
    Job("close-remittance-window", ("0", "9", "*", "*", "?", "*"),
        "chalicelib.services.remittance:close_window", "Close the flexible remittance window (17:00)"),
    Job("send-appointment-reminders", ("0", "10", "*", "*", "?", "*"),
        "chalicelib.services.appointments:send_reminders", "Remind tomorrow's appointments (18:00)"),
    Job("send-remittance-reminders", ("0", "1", "20", "*", "?", "*"),
        "chalicelib.services.remittance:send_reminders", "Remind flexible depositors unpaid this period (20th)"),
    Job("loan-offset-deduction", ("0", "22", "*", "*", "?", "*"),
        "chalicelib.services.loan_offset:run_deduction", "Pay due installments from HPF balances (月对冲)"),
    Job("settle-annual-interest", ("0", "15", "30", "6", "?", "*"),
        "chalicelib.services.interest:settle_annual_interest", "Settle the year's interest (30 June, 结息)"),
    Job("dispatch-sms", ("*", "*", "*", "*", "?", "*"),
        "chalicelib.services.sms_dispatch:dispatch", "Send queued notification SMS with retries"),
):
    register(_job)
