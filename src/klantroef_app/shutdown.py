"""Graceful shutdown: after SIGTERM, requests in flight get a grace period, then are cut off.

On SIGTERM (or SIGINT) granian and uvicorn stop accepting connections and then wait,
without a limit, for the requests in flight: one slow upload keeps the process alive
until the orchestrator kills it, and a killed process leaves its partial file (or S3
multipart upload) behind and its pools unclosed. :class:`GracefulShutdown` wraps the
ASGI app in each worker. It notes each request's task; once the signal arrives, they
have ``grace`` seconds to finish. Those still running then are cancelled, so each
cleans up as for a client that went away (the partial file removed, the multipart
upload aborted, no row written), and is answered 503 ``shutting_down`` if nothing was
sent yet. Their connections close, the server runs the lifespan shutdown (the
container's pools close) and the worker exits.

The signal is observed by chaining onto the handler the server installed (its own
handler still runs, unchanged), so nothing here depends on either server's internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from klantroef_http.hardening import NOSNIFF, SERVER
from klantroef_http.problems import PROBLEM_JSON, Problem

logger = logging.getLogger("klantroef.shutdown")
SIGNALS = (signal.SIGTERM, signal.SIGINT)
SHUTTING_DOWN = msgspec.json.encode(
    Problem(
        type="urn:klantroef:problem:shutting_down",
        title="Service Unavailable",
        status=503,
        detail="the server is shutting down; try again",
        code="shutting_down",
    )
)
_HEADERS = [
    (b"content-type", PROBLEM_JSON.encode()),
    (b"content-length", str(len(SHUTTING_DOWN)).encode()),
    (b"retry-after", b"1"),
    (b"connection", b"close"),
    NOSNIFF,
    SERVER,
]
_Handler = Callable[[int, FrameType | None], Any]


class GracefulShutdown:
    """``app`` with a grace period for its requests once the process is told to stop."""

    def __init__(self, app: ASGIApp, grace: float) -> None:
        self.app = app
        self.grace = grace
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._cut: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = False
        self._past_deadline = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind: str = scope["type"]  # Litestar's Scope type leaves "lifespan" out
        if kind == "lifespan":
            self._watch_signals()
            await self.app(scope, receive, send)
            return
        task = asyncio.current_task(self._loop)  # the loop known: no lookup per request
        if task is None or kind != "http":
            await self.app(scope, receive, send)
            return
        if self._past_deadline:  # a keep-alive connection's request after the deadline
            await _refuse(send)
            return
        self._in_flight.add(task)
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if task not in self._cut:
                raise
            task.uncancel()  # ours, and the app has cleaned up: say why the request ended
            if not await _refuse(send):
                raise  # the response had begun: the server ends the connection
        finally:
            self._in_flight.discard(task)
            self._cut.discard(task)

    def begin(self) -> None:
        """Start the grace period (once); at its end, cancel what still runs."""
        if self._draining or self._loop is None:
            return
        self._draining = True
        logger.info(
            "shutting down: %d request(s) in flight have up to %s s to finish",
            len(self._in_flight),
            self.grace,
        )
        self._loop.call_later(self.grace, self._cut_off)

    def _cut_off(self) -> None:
        self._past_deadline = True
        if self._in_flight:
            logger.warning(
                "cancelling %d request(s) still running after the %s s grace period",
                len(self._in_flight),
                self.grace,
            )
        for task in list(self._in_flight):
            self._cut.add(task)
            task.cancel("the server is shutting down")

    def _watch_signals(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        for number in SIGNALS:
            previous = signal.getsignal(number)
            if not callable(previous):  # the server leaves it alone: so do we
                continue
            try:
                signal.signal(number, self._chained(previous))
            except ValueError:  # not the main thread (an in-process test client)
                return

    def _chained(self, previous: _Handler) -> _Handler:
        loop = self._loop
        assert loop is not None

        def handler(number: int, frame: FrameType | None) -> Any:
            loop.call_soon_threadsafe(self.begin)
            return previous(number, frame)

        return handler


async def _refuse(send: Send) -> bool:
    """503 ``shutting_down``; False if it could not begin (a response had begun already)."""
    try:
        await send({"type": "http.response.start", "status": 503, "headers": _HEADERS})
    except Exception:  # the server refuses a second start, or the client is gone
        return False
    with contextlib.suppress(Exception):  # a client gone meanwhile is no error
        await send({"type": "http.response.body", "body": SHUTTING_DOWN, "more_body": False})
    return True
