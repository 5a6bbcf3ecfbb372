"""How log records become lines on stdout: one JSON object a line, or text for a person.

``KLANTROEF_LOG_FORMAT``: ``json``, ``text``, or ``auto`` (text when stdout is a
terminal, JSON otherwise). Every record of the process goes through the same
formatter: the access log (``klantroef.access``, one record per request, whose
fields the HTTP layer puts in ``record.access``), the application's warnings and
errors, and the server's own lines (granian, uvicorn), so a log pipeline reads
one format. A line written while a request is served carries its request id.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

from klantroef_http.observability import REQUEST_ID

_encode = msgspec.json.Encoder().encode


def resolve_format(setting: str, stream: TextIO | None = None) -> str:
    """``json`` or ``text``: ``auto`` is text exactly when ``stream`` (stdout) is a terminal."""
    if setting != "auto":
        return setting
    stream = sys.stdout if stream is None else stream
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # a closed or unusual stream
        return "json"


_second: list[Any] = [None, ""]


def _time(record: logging.LogRecord) -> str:
    """``2026-11-30T17:40:00.123Z``; the part up to the second is formatted once a second."""
    created = record.created
    second = int(created)
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, process, message, then the request's."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)
        if access is not None:
            line.update(access)
        else:
            request_id = REQUEST_ID.get()
            if request_id is not None:
                line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line).decode()


class TextFormatter(logging.Formatter):
    """A line a person reads: time, level, then the request in a few columns or the message."""

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        if access is not None:
            text = (
                f"{_time(record)} {record.levelname:<7} {access['method']} {access['path']} "
                f"{access['status']} {access['duration_ms']:.1f}ms {access['bytes']}B "
                f"client={access['client']} route={access['route']} id={access['request_id']}"
            )
        else:
            text = f"{_time(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
            request_id = REQUEST_ID.get()
            if request_id is not None:
                text += f" id={request_id}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def log_config(log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``json`` or ``text`` lines on stdout at INFO.

    The servers' loggers (granian's, uvicorn's) hand their records to the root
    logger, so they come out in the same format; granian applies this in each
    worker it starts too.
    """
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    forward = {"handlers": [], "level": "INFO", "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"klantroef": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "klantroef",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "_granian": forward,
            "granian.access": forward,
            "uvicorn": forward,
            "uvicorn.error": {"level": "INFO", "propagate": True},
            "uvicorn.access": forward,
        },
        "root": {"handlers": ["stdout"], "level": "INFO"},
    }


def configure_logging(setting: str) -> dict[str, Any]:
    """Configure this process's logging from ``KLANTROEF_LOG_FORMAT``; return the config."""
    config = log_config(resolve_format(setting))
    logging.config.dictConfig(config)
    return config
