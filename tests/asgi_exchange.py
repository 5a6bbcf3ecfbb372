"""Speaking ASGI to the app directly, as a server does: for what the in-process test
client cannot show (the pathsend extension, a client that goes away)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar

PATHSEND = "http.response.pathsend"


class Exchange:
    """One ASGI request: what the app sent, and a switch to make the client go away."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()
        self._requested = False

    async def receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await asyncio.sleep(0)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "http.response.body"]


def scope_for(
    method: str, url: str, headers: dict[str, str] | None = None, *, pathsend: bool = True
) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {PATHSEND: {}} if pathsend else {},
        "state": {},
    }


async def call(app: Litestar, scope: dict[str, Any], exchange: Exchange) -> None:
    await app(scope, exchange.receive, exchange.send)  # type: ignore[arg-type]
