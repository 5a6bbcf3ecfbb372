"""``python -m benchmarks.view_cost VIEWS``: views through the whole app in process, for counting
the instructions a view costs (run it under callgrind with 0 and with N views: the
difference over N is one view's cost, without network, server or client noise).

The app is built as ``klantroef serve`` builds it in a worker (``build_app`` over
SQLite in a private temp folder, logging configured from ``KLANTROEF_LOG_FORMAT``
when this version of Klantroef has it, lines to a file), and each view is one ASGI
call from its own client address with a stream token, as the benchmark's view case.
Run it from another checkout (``PYTHONPATH=<checkout>/src``) to compare versions.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from tests.app_support import settings_for

from benchmarks.playable import playable_head
from klantroef_adapters.migrate import upgrade
from klantroef_app.asgi import build_app
from klantroef_app.container import bootstrap

CREDENTIALS = {"email": "bench@example.com", "password": "correct horse battery"}
_HEAD = playable_head(4120)
MP4 = _HEAD + bytes(4120 - len(_HEAD))  # a real MP4 (uploads are probed), 4,120 bytes as before


def _configure_logging(folder: Path) -> None:
    """As ``klantroef serve`` does, with stdout a file in ``folder``."""
    if importlib.util.find_spec("klantroef_app.logs") is None:
        return  # a version without its own access log
    from klantroef_app import logs

    sys.stdout = (folder / "stdout.log").open("w")
    logs.configure_logging("json")


async def _view(app: Any, path: str, query: bytes, n: int) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-length", b"0")],
        "client": (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 40000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
        "state": {},
    }
    await app(scope, receive, send)
    return status


async def signed_in_with_media(client: httpx.AsyncClient) -> tuple[str, str, bytes]:
    """An admin signed up and logged in, and a small clip uploaded: the access token, the
    clip's id and the query string of a fresh stream link for it."""
    await client.post("/auth/signup", json=CREDENTIALS)
    token = (await client.post("/auth/login", json=CREDENTIALS)).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    files = {"file": ("clip.mp4", MP4, "video/mp4")}
    media = (await client.post("/media", headers=auth, files=files)).json()["id"]
    link = (await client.get(f"/media/{media}/stream-url", headers=auth)).json()
    return token, media, link["url"].split("?", 1)[1].encode()


async def main(views: int, folder: Path) -> None:
    settings = settings_for(folder)
    app = build_app(bootstrap(settings))
    async with AsyncTestClient(app=app) as client:
        _, media, query = await signed_in_with_media(client)
        path = f"/media/{media}/view"
        for n in range(20):  # warm: first-call caches, the routing cache
            await _view(app, path, query, 1_000_000 + n)
        statuses = [await _view(app, path, query, n) for n in range(views)]
    assert statuses == [201] * views, set(statuses)
    print(f"{views} views, all 201", file=sys.stderr)


if __name__ == "__main__":
    data = Path(tempfile.mkdtemp(prefix="klantroef-view-cost-"))
    upgrade(f"sqlite:///{data / 'klantroef.db'}")  # Alembic runs its own event loop
    _configure_logging(data)
    asyncio.run(main(int(sys.argv[1]), data))
