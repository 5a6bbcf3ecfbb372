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

from klantroef_http.observability import ACCESS_LOGGER, PID, REQUEST_ID

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
    return format_time(record.created)


def format_time(created: float) -> str:
    """``2026-11-30T17:40:00.123Z``; the part up to the second is formatted once a second."""
    second = int(created)
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((created - second) * 1000):03d}Z"


def access_json(created: float, pid: int, access: dict[str, Any]) -> str:
    """The JSON line of one request (``access``: the HTTP layer's fields)."""
    line = {
        "time": format_time(created),
        "level": "info",
        "logger": ACCESS_LOGGER,
        "pid": pid,
        "message": f"{access['method']} {access['path']} {access['status']}",
    }
    line.update(access)
    return _encode(line).decode()


def access_text(created: float, access: dict[str, Any]) -> str:
    """The line a person reads for one request."""
    return (
        f"{format_time(created)} INFO    {access['method']} {access['path']} "
        f"{access['status']} {access['duration_ms']:.1f}ms {access['bytes']}B "
        f"client={access['client']} route={access['route']} id={access['request_id']}"
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, process, message, then the request's."""

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        if access is not None:
            return access_json(record.created, record.process or 0, access)
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
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
            text = access_text(record.created, access)
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


class AccessLines:
    """Writes access lines straight to a stream, in the format every other line has.

    A request's line is the one line per request: going through the logging
    machinery (a record, three loggers' handler lists, a lock, a formatter) cost
    more than the rest of observing together, so ``serve`` hands the HTTP layer
    this writer instead. Lines written while an access line is written are not
    interleaved within it: one ``write`` per line, from the event loop's thread.
    """

    def __init__(self, log_format: str, stream: TextIO) -> None:
        self._json = log_format == "json"
        self._stream = stream

    def __call__(self, created: float, access: dict[str, Any]) -> None:
        line = access_json(created, PID[0], access) if self._json else access_text(created, access)
        self._stream.write(line + "\n")
        self._stream.flush()


_access_lines: list[AccessLines] = []


def access_writer() -> AccessLines | None:
    """The writer :func:`configure_logging` set up in this process, if it ran."""
    return _access_lines[0] if _access_lines else None


def configure_logging(setting: str) -> dict[str, Any]:
    """Configure this process's logging from ``KLANTROEF_LOG_FORMAT``; return the config."""
    log_format = resolve_format(setting)
    config = log_config(log_format)
    logging.config.dictConfig(config)
    _access_lines[:] = [AccessLines(log_format, sys.stdout)]
    return config
