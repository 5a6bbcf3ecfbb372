"""GracefulShutdown in process: what each request gets once the grace period has begun.

The real servers and signals are in test_graceful_shutdown.py; here ``begin()`` is called
directly, with a grace period of a tenth of a second.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from klantroef_app.shutdown import GracefulShutdown

GRACE = 0.1


class Exchange:
    """One request's messages, and whether the app saw its cancellation."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.cleaned_up = False

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(3600)  # a client that never sends the rest of its body
        return {"type": "http.disconnect"}

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and self.started:
            raise RuntimeError("a response has begun already")
        self.sent.append(dict(message))

    @property
    def started(self) -> bool:
        return any(m["type"] == "http.response.start" for m in self.sent)

    def status(self) -> int:
        return int(self.sent[0]["status"])

    def problem(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.sent[1]["body"])
        return loaded


def app_taking(seconds: float, *, start_first: bool = False) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        exchange: Exchange = scope["exchange"]
        if start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            exchange.cleaned_up = True
            raise
        if not start_first:
            await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    return app


@pytest.fixture(autouse=True)
def keep_signal_handlers() -> Iterator[None]:
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


async def started(app: Any) -> GracefulShutdown:
    wrapped = GracefulShutdown(app, GRACE)
    lifespan: Any = {"type": "lifespan"}
    idle = Exchange()
    await wrapped(lifespan, idle.receive, idle.send)  # type: ignore[arg-type]
    return wrapped


async def request(wrapped: GracefulShutdown, exchange: Exchange) -> None:
    scope: Any = {"type": "http", "exchange": exchange}
    await wrapped(scope, exchange.receive, exchange.send)  # type: ignore[arg-type]


async def test_a_request_that_ends_within_the_grace_period_is_answered_as_usual() -> None:
    wrapped = await started(app_taking(GRACE / 4))
    exchange = Exchange()
    running = asyncio.create_task(request(wrapped, exchange))
    await asyncio.sleep(0)
    wrapped.begin()
    await running
    assert exchange.status() == 201
    assert not exchange.cleaned_up


async def test_a_request_still_running_at_the_deadline_is_cancelled_then_answered_503() -> None:
    wrapped = await started(app_taking(3600))
    exchange = Exchange()
    running = asyncio.create_task(request(wrapped, exchange))
    await asyncio.sleep(0)
    wrapped.begin()
    await asyncio.wait_for(running, 10)  # ends normally: the wrapper answered
    assert exchange.cleaned_up
    assert exchange.status() == 503
    assert exchange.problem()["code"] == "shutting_down"
    headers = dict(exchange.sent[0]["headers"])
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/problem+json"


async def test_a_response_already_begun_is_cut_off_for_the_server_to_close() -> None:
    wrapped = await started(app_taking(3600, start_first=True))
    exchange = Exchange()
    running = asyncio.create_task(request(wrapped, exchange))
    await asyncio.sleep(0)
    wrapped.begin()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, 10)
    assert exchange.cleaned_up
    assert [m["type"] for m in exchange.sent] == ["http.response.start"]


async def test_a_request_after_the_deadline_is_refused_without_reaching_the_app() -> None:
    wrapped = await started(app_taking(0))
    wrapped.begin()
    await asyncio.sleep(GRACE * 3)
    exchange = Exchange()
    await request(wrapped, exchange)
    assert exchange.status() == 503
    assert b"done" not in [m.get("body") for m in exchange.sent]


async def test_a_cancellation_that_is_not_the_deadline_passes_through() -> None:
    wrapped = await started(app_taking(3600))
    exchange = Exchange()
    running = asyncio.create_task(request(wrapped, exchange))
    await asyncio.sleep(0)
    running.cancel()  # the server's own (a client gone): not ours to answer
    with pytest.raises(asyncio.CancelledError):
        await running
    assert exchange.sent == []
