"""A media row whose bytes are gone answers one clear problem before any header goes out.

A file removed behind the service's back, or an object the store lost: GET (whole,
zero-copy or chunked), ranges, HEAD and conditional GETs are all 404
``media_bytes_missing`` in the problem envelope, never a 200 that breaks off, a
500 or a plain-text error. Spoken in ASGI, so the first message sent is what is checked.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.storage.s3 import S3MediaStorage
from klantroef_app.asgi import build_app
from klantroef_app.container import close
from klantroef_core.ports import MediaStorage
from klantroef_core.use_cases.file_upload import FileUpload
from tests.app_support import ADMIN_EMAIL, ADMIN_PASSWORD, migrated_container
from tests.asgi_exchange import PATHSEND, Exchange, call, scope_for
from tests.contract.conftest import S3_TEST_BUCKET
from tests.media_samples import media_file
from tests.seaweedfs import SeaweedS3

DATA = media_file(300_000)


async def make_storage(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> MediaStorage:
    if kind == "local":
        return LocalMediaStorage(tmp_path / "media", read_chunk=64 * 1024)
    if kind == "memory":
        return InMemoryMediaStorage()
    server: SeaweedS3 = request.getfixturevalue("seaweedfs")
    storage = S3MediaStorage(
        S3_TEST_BUCKET,
        endpoint=server.endpoint,
        region=server.region,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        prefix=f"missing-{secrets.token_hex(6)}/",
    )
    await storage.ensure_bucket()
    return storage


class Served:
    def __init__(self, app: Litestar, url: str, storage: MediaStorage, key: str) -> None:
        self.app, self.url, self.storage, self.key = app, url, storage, key

    async def answer(self, method: str, headers: dict[str, str], *, pathsend: bool) -> Exchange:
        exchange = Exchange()
        await call(self.app, scope_for(method, self.url, headers, pathsend=pathsend), exchange)
        return exchange


@pytest.fixture(params=["local", "memory", "s3"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    """An item uploaded through the use cases (all in this test's event loop, which the
    S3 client is bound to), and the app that streams it."""
    storage = await make_storage(request.param, request, tmp_path)
    container = migrated_container(tmp_path, {"media_storage": storage})
    admin = await container.signup()(ADMIN_EMAIL, ADMIN_PASSWORD, None)
    media = await container.upload_media()(FileUpload.from_chunks([DATA], title="clip"), admin.id)
    link = await container.issue_stream_link()(media.id)
    url = f"http://127.0.0.1:8000/media/{media.id}/stream?token={link.token}"
    yield Served(build_app(container), url, storage, media.storage_key)
    if isinstance(storage, S3MediaStorage):
        await storage.close()
    await close(container)


REQUESTS = [
    ("GET", {}, True),
    ("GET", {}, False),
    ("GET", {"range": "bytes=100-199"}, True),
    ("GET", {"range": "bytes=-10"}, False),
    ("HEAD", {}, True),
    ("HEAD", {"range": "bytes=0-0"}, False),
]
IDS = ["whole-pathsend", "whole-chunked", "range", "suffix-range", "head", "head-range"]


@pytest.mark.parametrize(("method", "headers", "pathsend"), REQUESTS, ids=IDS)
async def test_present_bytes_are_served(
    served: Served, method: str, headers: dict[str, str], pathsend: bool
) -> None:
    exchange = await served.answer(method, headers, pathsend=pathsend)

    assert exchange.sent[0]["status"] in (200, 206)


@pytest.mark.parametrize(("method", "headers", "pathsend"), REQUESTS, ids=IDS)
async def test_missing_bytes_are_a_404_problem_before_any_header(
    served: Served, method: str, headers: dict[str, str], pathsend: bool
) -> None:
    await served.storage.delete(served.key)  # behind the service's back: the row stays

    exchange = await served.answer(method, headers, pathsend=pathsend)

    start = exchange.sent[0]
    assert start["type"] == "http.response.start"
    assert start["status"] == 404
    response_headers = dict(start["headers"])
    assert response_headers[b"content-type"].startswith(b"application/problem+json")
    assert all(m["type"] != PATHSEND for m in exchange.sent)
    assert b"etag" not in response_headers
    assert b"content-range" not in response_headers
    body = b"".join(m.get("body", b"") for m in exchange.bodies)
    problem: dict[str, Any] = json.loads(body)  # for HEAD, the server drops it from the wire
    assert (problem["status"], problem["code"]) == (404, "media_bytes_missing")
    assert problem["type"] == "urn:klantroef:problem:media_bytes_missing"


async def test_a_conditional_get_is_not_304_once_the_bytes_are_gone(served: Served) -> None:
    first = await served.answer("GET", {"range": "bytes=0-0"}, pathsend=False)
    etag = dict(first.sent[0]["headers"])[b"etag"].decode()
    assert (await served.answer("GET", {"if-none-match": etag}, pathsend=False)).sent[0][
        "status"
    ] == 304

    await served.storage.delete(served.key)

    assert (await served.answer("GET", {"if-none-match": etag}, pathsend=False)).sent[0][
        "status"
    ] == 404
