"""The stream response at the ASGI level: zero-copy pathsend, and a client that goes away.

The in-process test client offers no ``http.response.pathsend`` extension and never
disconnects, so these tests speak ASGI to the app directly, as granian does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar

from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_app.asgi import build_app
from klantroef_app.container import close
from tests.app_support import migrated_container, signed_in
from tests.asgi_exchange import PATHSEND, Exchange, call, scope_for
from tests.media_samples import media_file, multipart_body

DATA = media_file(3 * 1024 * 1024)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Litestar, str, Path]]:
    """The app, a stream URL of a 3 MiB item, and that item's file."""
    storage = LocalMediaStorage(tmp_path / "media", read_chunk=64 * 1024)
    container = migrated_container(tmp_path, {"media_storage": storage})
    app = build_app(container)
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as client:
        auth = await signed_in(client)
        body, content_type = multipart_body([], DATA)
        item = (
            await client.post(
                "/media", content=body, headers={**auth, "content-type": content_type}
            )
        ).json()
        url = (await client.get(f"/media/{item['id']}/stream-url", headers=auth)).json()["url"]
        yield app, url, tmp_path / "media" / item["id"]
    await close(container)


async def test_a_whole_file_get_is_handed_to_the_server_by_path(
    served: tuple[Litestar, str, Path],
) -> None:
    app, url, file = served
    exchange = Exchange()

    await call(app, scope_for("GET", url), exchange)

    start, send_file = exchange.sent
    assert start["status"] == 200
    assert (b"content-length", str(len(DATA)).encode()) in start["headers"]
    assert send_file == {"type": PATHSEND, "path": str(file.absolute())}


@pytest.mark.parametrize(
    ("headers", "pathsend"),
    [({"range": "bytes=100-2000099"}, True), ({}, False)],
    ids=["a range longer than 1 MiB", "a server without pathsend"],
)
async def test_otherwise_the_bytes_are_streamed_in_chunks(
    served: tuple[Litestar, str, Path], headers: dict[str, str], pathsend: bool
) -> None:
    app, url, _ = served
    exchange = Exchange()

    await call(app, scope_for("GET", url, headers, pathsend=pathsend), exchange)

    assert all(m["type"] != PATHSEND for m in exchange.sent)
    chunks = [m["body"] for m in exchange.bodies]
    assert len(chunks) > 2
    assert max(len(chunk) for chunk in chunks) <= 64 * 1024
    expected = DATA[100:2_000_100] if headers else DATA
    assert b"".join(chunks) == expected
    assert exchange.bodies[-1]["more_body"] is False


async def test_a_range_up_to_1_mib_goes_out_as_one_message(
    served: tuple[Litestar, str, Path],
) -> None:
    app, url, _ = served
    exchange = Exchange()

    await call(app, scope_for("GET", url, {"range": "bytes=100-199999"}, pathsend=True), exchange)

    assert exchange.bodies == [
        {"type": "http.response.body", "body": DATA[100:200_000], "more_body": False}
    ]


async def test_head_sends_no_file_even_with_pathsend(served: tuple[Litestar, str, Path]) -> None:
    app, url, _ = served
    exchange = Exchange()

    await call(app, scope_for("HEAD", url), exchange)

    start, end = exchange.sent
    assert start["status"] == 200
    assert end == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_client_that_goes_away_stops_the_stream(served: tuple[Litestar, str, Path]) -> None:
    app, url, _ = served
    exchange = Exchange()

    async def leave_after_the_first_chunk() -> None:
        while len(exchange.bodies) < 1:
            await asyncio.sleep(0)
        exchange.gone.set()

    leaving = asyncio.create_task(leave_after_the_first_chunk())
    await asyncio.wait_for(call(app, scope_for("GET", url, pathsend=False), exchange), 5)
    await leaving

    sent = sum(len(m["body"]) for m in exchange.bodies)
    assert sent < len(DATA) // 2
    assert all(m.get("more_body") for m in exchange.bodies)  # never finished
