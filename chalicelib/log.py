"""Structured JSON logs (Powertools Logger) with a correlation id and masked identifiers, and
business metrics as CloudWatch Embedded Metric Format (EMF) lines.

Every log line goes through :func:`chalicelib.masking.scrub`, so an ID number, phone or card number
that slips into a message or a field is masked before it is written.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any

from chalicelib import masking

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
SERVICE = "gjj"
NAMESPACE = "gjj"

_root: Any = None
_init = threading.Lock()

observers: list[Callable[[str], None]] = []
"""Called with every line this module writes (log lines after masking, metric lines), before it is written: the
test suite's leak scan (``tests/support/leaks.py``) hooks in here. Empty in production."""


def _observe(line: str) -> str:
    for observer in list(observers):
        observer(line)
    return line


def _powertools_logger():
    if _root is not None:
        return _root
    with _init:     # the first lines may come from several worker threads at once
        return _root if _root is not None else _make_root()


def _make_root():
    global _root
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class MaskingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: dict[str, Any]) -> str:
            cid = correlation_id.get()
            if cid:
                log["correlation_id"] = cid
            return _observe(masking.scrub(super().serialize(log)))

    class CurrentStdout(logging.StreamHandler):
        """Writes to whatever ``sys.stdout`` is at the time (Lambda's, or a test's capture)."""

        @property
        def stream(self):
            import sys

            return sys.stdout

        @stream.setter
        def stream(self, value):
            pass

    root = Logger(service=SERVICE, logger_formatter=MaskingFormatter(json_default=str),
                   logger_handler=CurrentStdout(), json_default=str, use_rfc3339=True)
    # masked lines only: never hand the raw record to the root logger's handlers, nor to a handler some
    # framework put on the same logger name before us (Chalice's plain "gjj - INFO - ..." one)
    named = logging.getLogger(root.name)
    named.propagate = False
    for handler in list(named.handlers):
        if not isinstance(handler.formatter, MaskingFormatter):
            named.removeHandler(handler)
    _root = root       # published only once it is ready
    return root


class _Adapter:
    """A small facade so modules log ``log.get(name).info(msg, extra={"fields": {...}})``."""

    def __init__(self, name: str):
        self.name = name

    def _emit(self, level: int, message: str, *, exc_info: bool = False, extra: dict | None = None) -> None:
        fields = dict((extra or {}).get("fields", {}))
        _powertools_logger().log(level, message, exc_info=exc_info, stacklevel=4,
                                 extra={"component": self.name, **fields})

    def info(self, message: str, extra: dict | None = None) -> None:
        self._emit(logging.INFO, message, extra=extra)

    def warning(self, message: str, extra: dict | None = None) -> None:
        self._emit(logging.WARNING, message, extra=extra)

    def error(self, message: str, extra: dict | None = None) -> None:
        self._emit(logging.ERROR, message, extra=extra)

    def exception(self, message: str, extra: dict | None = None) -> None:
        self._emit(logging.ERROR, message, exc_info=True, extra=extra)


def get(name: str) -> _Adapter:
    return _Adapter(name)


def event(logger: _Adapter, message: str, **fields: Any) -> None:
    logger.info(message, extra={"fields": fields})


def metric(name: str, value: int = 1, unit: str = "Count", **dimensions: str) -> None:
    """Emit one business metric as an EMF line (payments, withdrawals, logins, refusals, ...).

    Powertools' ``single_metric`` prints the line and its newline in two writes, which threads (the jobs' workers)
    interleave into lines CloudWatch cannot parse; the same metric set is written here in one write.
    """
    import json
    import sys

    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.base import SingleMetric

    m = SingleMetric(namespace=NAMESPACE)
    m.add_metric(name=name, unit=getattr(MetricUnit, unit), value=value)
    m.add_dimension(name="service", value=SERVICE)
    for key, dim in dimensions.items():
        m.add_dimension(name=key, value=str(dim))
    sys.stdout.write(_observe(json.dumps(m.serialize_metric_set(), separators=(",", ":"))) + "\n")
