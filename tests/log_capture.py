"""Every log line the service writes during a test session, and every secret the tests
sent or were handed: ``tests/http/test_log_secrets.py`` checks none is in any line.

- Lines: records of the service's loggers in this process (the in-process apps),
  rendered by both production formatters (JSON and text), and the whole output
  of every real ``klantroef serve`` process (``tests/live_server.py`` hands it over
  when the server stops).
- Secrets: harvested from every request an httpx client sends (Litestar's test
  clients are httpx clients): bearer tokens, ``?token=`` values, JSON ``password``
  fields; and from every JSON response read: ``token`` fields, and the token in a
  stream ``url``. The auth helpers of the tests all go through these clients.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from klantroef_app.logs import JsonFormatter, TextFormatter

SERVICE_LOGGERS = ("klantroef", "litestar", "_granian", "granian", "uvicorn")
MIN_SECRET_LENGTH = 8  # shorter strings (a test's "x") could turn up in any line
MIN_DISTINCT_CHARACTERS = 6  # "x" * 40 is a test's stand-in, not a secret: a long path holds it


@dataclass
class Capture:
    lines: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def add_secret(self, value: object) -> None:
        if (
            isinstance(value, str)
            and len(value) >= MIN_SECRET_LENGTH
            and len(set(value)) >= MIN_DISTINCT_CHARACTERS
        ):
            self.secrets.add(value)

    def add_lines(self, lines: Iterable[str]) -> None:
        self.lines.extend(lines)


CAPTURE = Capture()


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._formatters = (JsonFormatter(), TextFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        CAPTURE.add_lines(f.format(record) for f in self._formatters)


def _harvest_request(request: httpx.Request) -> None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        CAPTURE.add_secret(token.strip())
    for token in parse_qs(request.url.query.decode()).get("token", []):
        CAPTURE.add_secret(token)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(request.content)
        except (httpx.RequestNotRead, ValueError, RecursionError):  # hostile bodies too
            return
        if isinstance(body, dict):
            CAPTURE.add_secret(body.get("password"))


def _harvest_response(response: httpx.Response) -> None:
    if not response.is_closed or "json" not in response.headers.get("content-type", ""):
        return
    try:
        body: Any = response.json()
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    CAPTURE.add_secret(body.get("token"))
    url = body.get("url")
    if isinstance(url, str):
        for token in parse_qs(urlsplit(url).query).get("token", []):
            CAPTURE.add_secret(token)


def start() -> None:
    """Record the service's log records and wrap httpx's clients; for the whole session."""
    recorder = _Recorder()
    for name in SERVICE_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(recorder)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)

    sync_send = httpx.Client.send
    async_send = httpx.AsyncClient.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        _harvest_request(request)
        response = sync_send(self, request, **kwargs)
        _harvest_response(response)
        return response

    async def asend(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        _harvest_request(request)
        response = await async_send(self, request, **kwargs)
        _harvest_response(response)
        return response

    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = asend  # type: ignore[method-assign]
