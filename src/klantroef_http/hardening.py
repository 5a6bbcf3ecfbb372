"""What every response and request gets, whatever route answers.

- JSON nested too deeply for the decoder is a 400 problem, not a crash.
- Every response says ``X-Content-Type-Options: nosniff``; one that carries a
  token (login, stream links) says ``Cache-Control: no-store`` and
  ``Referrer-Policy: no-referrer`` through its route.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import Message, Scope

from klantroef_core.errors import BadRequest

NOSNIFF = (b"x-content-type-options", b"nosniff")
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
