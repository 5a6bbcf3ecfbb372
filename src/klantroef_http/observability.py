"""Every request observed: one access-log record and the HTTP metrics, from one pure ASGI wrapper.

:class:`ObservedRequests` wraps Litestar's ASGI handler (outside routing, so
404s and 405s are seen too) and, once the response is sent, logs one record on
``klantroef.access`` and counts it in :class:`HttpMetrics`. What a record holds:
method, route template (``/media/{media_id}/stream``; ``unmatched`` when no
route matched), the path without its query string (stream links carry their
token there), status, duration, bytes sent, the request id and the client as
the privacy setting allows (``HttpConfig.client_label``). Bodies and headers are
never logged, so neither passwords nor bearer tokens can reach a line.

``X-Request-ID`` is taken from the request when it is a sane id (1 to 128 of
``A-Za-z0-9._:-``), else generated; it is echoed on the response and held in
:data:`REQUEST_ID` while the request runs, so other log lines can carry it.

How records become lines (JSON or text) is the composition root's business.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from time import perf_counter
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram

from klantroef_core.domain.client_ip import TrustedProxies

ACCESS_LOGGER = "klantroef.access"
REQUEST_ID: ContextVar[str | None] = ContextVar("klantroef_request_id", default=None)
"""The id of the request being served, for log lines written on its behalf."""

MEDIA_BYTES = "klantroef_media_bytes"
"""Route ``opt`` key: the body bytes this route sends are media bytes (``klantroef_stream_bytes_total``)."""

UNMATCHED = "unmatched"
NO_RESPONSE = 499
"""The status logged and counted for a request that got no response (its client left,
or the server was stopping): nginx's convention, so it is not mistaken for a 500."""
"""The route label of a request no route matched (404, 405): paths are not labels."""

_REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PATHSEND = "http.response.pathsend"
_DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class HttpMetrics:
    """The HTTP metrics: requests by method, route and status; durations; media bytes sent.

    ``registry`` None leaves them unregistered (prometheus-client's multiprocess
    mode: each process writes its own file and a scrape merges them all).
    Label children are kept in dictionaries: a request costs two lookups, not
    two ``labels()`` calls.
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "klantroef_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "klantroef_http_request_duration_seconds",
            "Time from the request's arrival to its last byte handed to the server",
            ["method", "route"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.stream_bytes = Counter(
            "klantroef_stream_bytes",
            "Media bytes sent to players by the stream route",
            registry=registry,
        )
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def observe(
        self, method: str, route: str, status: int, seconds: float, media_bytes: int
    ) -> None:
        key = (method, route, status)
        counted = self._counted.get(key)
        if counted is None:
            counted = self._counted[key] = self.requests.labels(method, route, str(status))
        counted.inc()
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[method, route] = self.duration.labels(method, route)
        timed.observe(seconds)
        if media_bytes:
            self.stream_bytes.inc(media_bytes)


CLIENT_IP = "klantroef.client_ip"
"""Where the request's resolved client address waits in ``scope["state"]`` for the handlers."""


class Clients:
    """Who the client of a request is: resolved once per request behind trusted proxies
    (and kept in the scope's state, so handlers do not resolve it again), then shown in
    logs through ``label`` (the address, or its keyed hash in privacy mode)."""

    def __init__(self, proxies: TrustedProxies, label: Callable[[str], str]) -> None:
        self._proxies = proxies
        self.label = lru_cache(maxsize=4096)(label)

    def resolve(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else None
        forwarded: tuple[str, ...] = ()
        if self._proxies.networks:
            forwarded = tuple(
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
            )
        address = self._proxies.client_ip(peer, forwarded)
        scope["state"][CLIENT_IP] = address
        return address


def _given_request_id(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER:
            return bytes(value) if _VALID_ID.fullmatch(value) else None
    return None


def _content_length(headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value)
    return 0


AccessWriter = Callable[[float, dict[str, Any]], None]
"""Writes one request's access line straight out, past the logging machinery:
``(time, fields)``. Without one, each request is a record on ``klantroef.access``."""


class AccessRecord(logging.LogRecord):
    """The access log's record, made without :class:`logging.LogRecord`'s general ``__init__``
    (caller lookup, thread and process names): every attribute a formatter or handler
    reads is set, in a fraction of the time. ``access`` holds the request's fields."""

    def __init__(self, name: str, message: str, access: dict[str, object], created: float) -> None:
        self.name = name
        self.msg = message
        self.args = None
        self.levelname = "INFO"
        self.levelno = logging.INFO
        self.pathname = __file__
        self.filename = "observability.py"
        self.module = "observability"
        self.exc_info = None
        self.exc_text = None
        self.stack_info = None
        self.lineno = 0
        self.funcName = "ObservedRequests"
        self.created = created
        self.msecs = (created - int(created)) * 1000
        self.relativeCreated = (created - _STARTED) * 1000
        self.thread = None
        self.threadName = None
        self.processName = None
        self.process = PID[0]
        self.taskName = None
        self.access = access


PID = [os.getpid()]
_STARTED = time.time()


def _forked() -> None:
    PID[0] = os.getpid()


os.register_at_fork(after_in_child=_forked)


class ObservedRequests:
    """Pure ASGI middleware: logs and counts each HTTP request once its response is sent."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: HttpMetrics | None,
        clients: Clients,
        write_access: AccessWriter | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.clients = clients
        self.write_access = write_access
        self.logger = logging.getLogger(ACCESS_LOGGER)
        # Generated ids: a random prefix for this worker, then a counter (no syscall a request).
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id = _given_request_id(scope) or f"{self._id_prefix}{next(self._ids):016x}".encode()
        client = self.clients.resolve(scope)
        token = REQUEST_ID.set(request_id.decode())
        status = 0
        sent = 0
        headers: list[tuple[bytes, bytes]] = []

        async def observed_send(message: Any) -> None:
            nonlocal status, sent, headers
            kind = message["type"]
            if kind == "http.response.body":
                sent += len(message.get("body", b""))
            elif kind == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if not isinstance(headers, list):
                    headers = message["headers"] = list(headers)
                headers.append((_REQUEST_ID_HEADER, request_id))
            elif kind == _PATHSEND:  # the server sends the whole file: its length was declared
                sent += _content_length(headers)
            await send(message)

        try:
            await self.app(scope, receive, cast(Send, observed_send))
        finally:
            REQUEST_ID.reset(token)
            seconds = perf_counter() - started
            self._done(
                scope, status or NO_RESPONSE, seconds, sent, request_id=request_id, client=client
            )

    def _done(
        self,
        scope: Scope,
        status: int,
        seconds: float,
        sent: int,
        *,
        request_id: bytes,
        client: str,
    ) -> None:
        route = scope.get("path_template") or UNMATCHED
        method: str = cast(Any, scope)["method"]
        if self.metrics is not None:
            handler = scope.get("route_handler")
            media = sent if handler is not None and handler.opt.get(MEDIA_BYTES) else 0
            self.metrics.observe(
                method if method in _METHODS else "OTHER", route, status, seconds, media
            )
        if self.logger.isEnabledFor(logging.INFO):
            path = scope["path"]
            access = {
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "bytes": sent,
                "client": self.clients.label(client),
                "request_id": request_id.decode(),
            }
            if self.write_access is not None:
                self.write_access(time.time(), access)
            else:
                message = f"{method} {path} {status}"
                self.logger.handle(AccessRecord(ACCESS_LOGGER, message, access, time.time()))
