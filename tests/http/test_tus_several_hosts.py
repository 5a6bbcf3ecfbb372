"""tus on several hosts with the media in S3: any host continues any upload.

Two ``klantroef serve`` processes with data folders of their own (no shared disk)
on one MariaDB database and one bucket (SeaweedFS). An upload started on A goes
on through B in small pieces and in pieces larger than a part, is finished on A,
and is the same file (SHA-256) with the right metadata; nothing of it is left in
the bucket after it completes, after a DELETE, and after it expires and is swept.
Two PATCHes to one upload on two hosts at once: one is refused, the bytes stay right.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.tables import upload_sessions
from tests.live_server import LiveServer, live_server
from tests.real_servers import PREFIX, SECRETS, admin_headers, clients, fresh_bucket, s3_env
from tests.seaweedfs import BucketListing, SeaweedS3, list_bucket
from tests.sql_engines import fresh_database
from tests.tus_support import check_probed_metadata, encode_av_mp4

pytestmark = [pytest.mark.seaweedfs, pytest.mark.mariadb]

TUS = {"Tus-Resumable": "1.0.0"}
MIB = 1024 * 1024
PART = 8 * MIB  # the servers' part size for this upload limit
UPLOADS = PREFIX + "uploads/"
NOTHING = BucketListing(objects=[], uploads=[])


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real MP4 of a few MB (H.264 and AAC)."""
    path = tmp_path_factory.mktemp("tus-hosts") / "clip.mp4"
    encode_av_mp4(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def padded_mp4(mp4: bytes) -> bytes:
    """The MP4 followed by a 17 MiB ``free`` box (which demuxers skip): big enough for
    several parts, and quick to make."""
    filler = bytes(range(256)) * (17 * MIB // 256)
    return mp4 + struct.pack(">I", 8 + len(filler)) + b"free" + filler


@contextmanager
def two_hosts(folder: Path, env: dict[str, str]) -> Iterator[list[LiveServer]]:
    with (
        live_server(folder / "host-a", env) as a,
        live_server(folder / "host-b", env, migrate=False) as b,
    ):
        yield [a, b]


async def create(http: httpx.AsyncClient, auth: dict[str, str], length: int) -> str:
    """A new upload's path (``/uploads/<id>``)."""
    metadata = f"filename {base64.b64encode(b'Holiday clip.mp4').decode()}"
    created = await http.post(
        "/uploads",
        headers={**auth, **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
    )
    assert created.status_code == 201, created.text
    return urlsplit(created.headers["location"]).path


async def patch(
    http: httpx.AsyncClient, auth: dict[str, str], path: str, offset: int, body: Any
) -> httpx.Response:
    headers = {
        **auth,
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return await http.patch(path, headers=headers, content=body)


async def send(
    http: httpx.AsyncClient, auth: dict[str, str], path: str, data: bytes, start: int, end: int
) -> int:
    answer = await patch(http, auth, path, start, data[start:end])
    assert answer.status_code == 204, answer.text
    assert answer.headers["upload-offset"] == str(end)
    return end


async def in_bucket(seaweedfs: SeaweedS3, bucket: str, path: str = "") -> BucketListing:
    upload_id = path.rsplit("/", 1)[-1]
    return await list_bucket(seaweedfs, bucket, UPLOADS + (upload_id + "/" if upload_id else ""))


async def test_an_upload_started_on_one_host_goes_on_and_ends_on_others(
    tmp_path: Path, mariadb_url: str, seaweedfs: SeaweedS3, padded_mp4: bytes
) -> None:
    data = padded_mp4
    bucket = fresh_bucket()
    database_url = await fresh_database(mariadb_url, suffix="tus_hosts")
    env = {
        "KLANTROEF_DATABASE_URL": database_url,
        "KLANTROEF_MAX_UPLOAD_BYTES": str(64 * MIB),
        **SECRETS,
        **s3_env(seaweedfs, bucket),
    }
    with two_hosts(tmp_path, env) as hosts:
        async with clients(hosts) as (a, b):
            auth = await admin_headers(a)

            # Started on A, on through B (small pieces, then more than a part at once), ended on A.
            path = await create(a, auth, len(data))
            offset = await send(a, auth, path, data, 0, 300_000)
            for _ in range(2):
                offset = await send(b, auth, path, data, offset, offset + 256 * 1024)
            offset = await send(a, auth, path, data, offset, offset)  # empty: nothing moves
            offset = await send(b, auth, path, data, offset, offset + PART + MIB)
            during = await in_bucket(seaweedfs, bucket, path)
            assert len(during.uploads) == 1  # the parts wait in one multipart upload
            offset = await send(b, auth, path, data, offset, offset + PART + 3)
            head = await a.head(path, headers={**auth, **TUS})
            assert head.headers["upload-offset"] == str(offset)
            last = await patch(a, auth, path, offset, data[offset:])
            assert last.status_code == 204, last.text

            item = (await b.get(last.headers["content-location"], headers=auth)).json()
            assert (item["title"], item["type"], item["size_bytes"]) == (
                "Holiday clip",
                "video",
                len(data),
            )
            check_probed_metadata(item)
            link = (await b.get(f"/media/{item['id']}/stream-url", headers=auth)).json()["url"]
            streamed = await a.get(urlsplit(link).path + "?" + urlsplit(link).query)
            assert hashlib.sha256(streamed.content).hexdigest() == hashlib.sha256(data).hexdigest()
            assert await in_bucket(seaweedfs, bucket) == NOTHING
            for host in ("host-a", "host-b"):  # no host kept the bytes on its own disk
                assert not (tmp_path / host / "uploads").exists()

            # Cancelled through the other host: its parts and tail go.
            path = await create(a, auth, len(data))
            await send(b, auth, path, data, 0, PART + 5)
            assert (await in_bucket(seaweedfs, bucket, path)).uploads != []
            cancelled = await a.delete(path, headers={**auth, **TUS})
            assert cancelled.status_code == 204, cancelled.text
            assert await in_bucket(seaweedfs, bucket) == NOTHING

            # Expired: the next creation sweeps it from the bucket too.
            path = await create(b, auth, len(data))
            await send(a, auth, path, data, 0, PART + 5)
            await expire_uploads(database_url)
            fresh = await create(b, auth, 10)
            assert await in_bucket(seaweedfs, bucket, path) == NOTHING
            assert (await a.delete(fresh, headers={**auth, **TUS})).status_code == 204
            assert await in_bucket(seaweedfs, bucket) == NOTHING


async def test_two_patches_at_once_on_two_hosts_one_is_refused(
    tmp_path: Path, mariadb_url: str, seaweedfs: SeaweedS3, mp4: bytes
) -> None:
    """Without a claim every host sees, B's PATCH would write beside A's (and be 204)."""
    data = mp4
    bucket = fresh_bucket()
    env = {
        "KLANTROEF_DATABASE_URL": await fresh_database(mariadb_url, suffix="tus_race"),
        **SECRETS,
        **s3_env(seaweedfs, bucket),
    }
    with two_hosts(tmp_path, env) as hosts:
        async with clients(hosts) as (a, b):
            auth = await admin_headers(a)
            path = await create(a, auth, len(data))
            sent_first_half = asyncio.Event()
            go_on = asyncio.Event()
            half = len(data) // 2

            async def slow_body() -> AsyncIterator[bytes]:
                yield data[:half]
                sent_first_half.set()
                await go_on.wait()
                yield data[half:]

            first = asyncio.create_task(patch(a, auth, path, 0, slow_body()))
            await sent_first_half.wait()
            for _ in range(50):  # until A holds the upload (an empty PATCH changes nothing)
                await asyncio.sleep(0.1)
                second = await patch(b, auth, path, 0, b"")
                if second.status_code != 204:
                    break
            assert second.status_code == 409, second.text
            assert second.json()["code"] == "upload_busy"
            intruder = await patch(b, auth, path, 0, b"intruder" * 1000)
            assert (intruder.status_code, intruder.json()["code"]) == (409, "upload_busy")
            go_on.set()
            done = await first
            assert done.status_code == 204, done.text

            # The media item is exactly A's bytes.
            item = (await b.get(done.headers["content-location"], headers=auth)).json()
            assert item["size_bytes"] == len(data)
            link = (await b.get(f"/media/{item['id']}/stream-url", headers=auth)).json()["url"]
            streamed = await b.get(urlsplit(link).path + "?" + urlsplit(link).query)
            assert streamed.content == data
            assert await in_bucket(seaweedfs, bucket) == NOTHING


async def expire_uploads(database_url: str) -> None:
    from datetime import datetime

    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(upload_sessions).values(expires_at=datetime(2000, 1, 1)))
    finally:
        await engine.dispose()
