"""Log formatting (DJANGO_LOG_FORMAT) and the per-socket log context.

Key events are logged with structured fields in ``extra`` (``event``, ``room``, ``seq``,
``user_id``, ``code``, ``close_code``, ...): JSON lines carry them as keys, text lines
append them as ``key=value``. Never log message text or tokens.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

__all__ = ["TextFormatter", "connection_id", "install_log_context"]

# Set by the websocket consumer for its socket; every record logged while serving that
# socket (its operations included) carries it, so one socket's lines can be grepped.
connection_id: ContextVar[str | None] = ContextVar("chat_connection_id", default=None)

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


def install_log_context() -> None:
    """Make every log record carry ``connection_id`` when one is set (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "chat_log_context", False):
        return

    def record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        value = connection_id.get()
        if value is not None:
            record.connection_id = value
        return record

    record_factory.chat_log_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_factory)


class TextFormatter(logging.Formatter):
    """The plain format, with the record's structured fields appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD]
        if not fields:
            return line
        head, newline, tail = line.partition("\n")
        return f"{head} {' '.join(fields)}{newline}{tail}"
