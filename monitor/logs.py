"""Logging for the daemon: lines for people by default, JSON lines for log shippers."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from monitor.terminal import JSON_ESCAPES, printable

# Attributes every LogRecord has; anything else was passed with extra= and is data.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any extra= fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        # json escapes C0 controls; to_json's table escapes C1 and bidi ones too.
        return json.dumps(entry, ensure_ascii=False, default=str).translate(JSON_ESCAPES)


class PrintableFormatter(logging.Formatter):
    """Log lines for people, with control characters shown rather than obeyed.

    A message may quote a feed or a server (an error, a URL), and the log is often a
    terminal: an ESC sequence in it must not reach the terminal.
    """

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send wirewatch's logs to stderr in *log_format* (text or json)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            PrintableFormatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job it runs at INFO; its warnings still come through.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
