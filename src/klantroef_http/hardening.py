"""What every response and request gets, whatever route answers.

- JSON nested too deeply for the decoder is a 400 problem, not a crash.
- Every response says ``X-Content-Type-Options: nosniff``; one that carries a
  token (login, stream links) says ``Cache-Control: no-store`` and
  ``Referrer-Policy: no-referrer`` through its route.
- An upload refused before its body is read (415, 413, 400) still reaches a
  client that sends the whole body before reading: :class:`LingeringClose`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from klantroef_core.errors import BadRequest

NOSNIFF = (b"x-content-type-options", b"nosniff")
LINGER_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 10.0
TOKEN_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""The headers of a response whose body carries a token."""


class KlantroefRequest(Request[Any, Any, Any]):
    """Litestar's request, with a JSON body too deep to decode answered as a client error."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise BadRequest("the JSON body is nested too deeply", code="json_too_deep") from None


async def nosniff(message: Message, _: Scope) -> None:
    """``before_send``: add ``X-Content-Type-Options: nosniff`` to every response's headers.

    A coroutine on purpose: Litestar runs a plain function hook in a worker thread,
    which cost a thread hop for every message of every response.
    """
    if message["type"] == "http.response.start":
        headers = list(message.get("headers") or ())
        if not any(name.lower() == NOSNIFF[0] for name, _ in headers):
            headers.append(NOSNIFF)
        message["headers"] = headers


class LingeringClose:
    """ASGI middleware: once the answer is out, read and drop what is left of the body.

    An upload is refused as soon as its first bytes say so (not media, too large),
    without waiting for the rest. A client that sends its whole body before reading
    (most do) is still sending then; closing the connection with its bytes unread
    makes the kernel reset it, and the client sees a broken connection instead of
    the 4xx. granian also kept such connections alive without saying
    ``Connection: close``, then dropped them, so the client's next request on it
    failed. Reading the rest, at most ``LINGER_BYTES`` for ``LINGER_SECONDS`` (and
    not at all when the declared length is beyond that), lets the answer arrive and
    the connection be reused: nginx's lingering close, for the routes that take
    large bodies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body_read = answered = False

        async def reading() -> ReceiveMessage:
            nonlocal body_read
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        await self.app(scope, reading, sending)
        if answered and not body_read and _declared_length(scope) <= LINGER_BYTES:
            await _drain(receive)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else LINGER_BYTES + 1
    return 0  # chunked: as much as arrives within the bounds


async def _drain(receive: Receive) -> None:
    dropped = 0
    try:
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped <= LINGER_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return
