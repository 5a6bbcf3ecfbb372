"""tus against real ``klantroef serve`` processes, with clients nobody here wrote.

tuspy (the tus project's Python client) and the curl binary upload a real MP4
(H.264 and AAC, a few MB) in small pieces, are cut off halfway, the server is
restarted, and a new client resumes from the server's offset; the stored file
must be byte-identical. Bad input gets a clear 4xx and leaves no partial file and
no row behind. Each on the embedded default (SQLite), on MariaDB + Redis, and
with the media in an S3 bucket (SeaweedFS).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.tables import media, upload_sessions
from tests.live_server import LiveServer, live_server
from tests.media_samples import media_file
from tests.real_servers import CREDENTIALS, PREFIX, SECRETS, fresh_bucket, s3_env
from tests.seaweedfs import BucketListing, SeaweedS3, list_bucket, object_sizes
from tests.services import services_required
from tests.sql_engines import fresh_database
from tests.tus_support import (
    check_probed_metadata,
    encode_av_mp4,
    leftover_partials,
    partials_dir,
    sha256_of,
)

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 256 * 1024
MAX_BYTES = 20_000_000


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tus") / "Holiday clip.mp4"
    encode_av_mp4(path)
    assert path.stat().st_size > 2_000_000
    return path


@dataclass
class Backend:
    """Where a server keeps its records, and how to start one there again and again."""

    data_dir: Path
    database_url: str
    env: dict[str, str]
    s3: SeaweedS3 | None = None

    async def partial_sizes(self) -> list[int]:
        """How many bytes each unfinished upload holds: its file, or on S3 its tail in
        the bucket (the uploads here are smaller than a part)."""
        if self.s3 is None:
            return [p.stat().st_size for p in leftover_partials(self.data_dir)]
        bucket = self.env["KLANTROEF_S3_BUCKET"]
        sizes = await object_sizes(self.s3, bucket, PREFIX + "uploads/")
        return [size for name, size in sorted(sizes.items()) if "/tail-" in name]

    async def bucket_left(self) -> BucketListing:
        """What the bucket holds of unfinished uploads (nothing once they end)."""
        if self.s3 is None:
            return BucketListing([], [])
        return await list_bucket(self.s3, self.env["KLANTROEF_S3_BUCKET"], PREFIX + "uploads/")

    def serve(self) -> AbstractContextManager[LiveServer]:
        return live_server(self.data_dir, self.env)

    async def count(self, table: Any) -> int:
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                return int(
                    (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                )
        finally:
            await engine.dispose()

    async def expire_all_uploads(self) -> None:
        engine = create_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(upload_sessions).values(expires_at=datetime_past()))
        finally:
            await engine.dispose()

    async def nothing_left(self) -> None:
        assert leftover_partials(self.data_dir) == []
        assert await self.bucket_left() == BucketListing([], [])
        assert await self.count(upload_sessions) == 0

    async def only_the_finished_record(self) -> None:
        """After a success: no bytes aside, one row (it answers HEADs until it expires)."""
        assert leftover_partials(self.data_dir) == []
        assert await self.bucket_left() == BucketListing([], [])
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(upload_sessions))).all()
        finally:
            await engine.dispose()
        assert [(row.received == row.length, row.media_id is not None) for row in rows] == [
            (True, True)
        ]


def datetime_past() -> Any:
    from datetime import datetime

    return datetime(2000, 1, 1)


@pytest.fixture(
    params=["embedded", "mariadb+redis", pytest.param("mariadb+s3", marks=pytest.mark.seaweedfs)]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    env = {**SECRETS, "KLANTROEF_SIGNUP": "open", "KLANTROEF_MAX_UPLOAD_BYTES": str(MAX_BYTES)}
    data_dir = tmp_path / "server"
    if request.param == "embedded":
        return Backend(data_dir, f"sqlite:///{data_dir / 'klantroef.db'}", env)
    mariadb_url: str = request.getfixturevalue("mariadb_url")
    redis_url: str = request.getfixturevalue("redis_url")
    database_url = asyncio.run(fresh_database(mariadb_url, "tus"))
    env |= {"KLANTROEF_DATABASE_URL": database_url, "KLANTROEF_REDIS_URL": redis_url}
    if request.param == "mariadb+s3":
        seaweed: SeaweedS3 = request.getfixturevalue("seaweedfs")
        env |= s3_env(seaweed, fresh_bucket())
        return Backend(data_dir, database_url, env, seaweed)
    return Backend(data_dir, database_url, env)


def bearer(server: LiveServer) -> dict[str, str]:
    httpx.post(f"{server.base_url}/auth/signup", json=CREDENTIALS, timeout=30)
    login = httpx.post(f"{server.base_url}/auth/login", json=CREDENTIALS, timeout=30)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def media_of(server: LiveServer, auth: dict[str, str], upload_url: str) -> dict[str, Any]:
    """The media item a finished upload points at (its HEAD's Content-Location)."""
    head = httpx.head(upload_url, headers={**auth, **TUS}, timeout=30)
    assert head.status_code == 200, head.text
    assert head.headers["upload-offset"] == head.headers["upload-length"]
    item = httpx.get(server.base_url + head.headers["content-location"], headers=auth, timeout=30)
    assert item.status_code == 200, item.text
    result: dict[str, Any] = item.json()
    return result


def streamed_sha256(server: LiveServer, auth: dict[str, str], media_id: str) -> str:
    link = httpx.get(f"{server.base_url}/media/{media_id}/stream-url", headers=auth, timeout=30)
    digest = hashlib.sha256()
    with httpx.stream("GET", link.json()["url"], timeout=60) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


def check_item(server: LiveServer, auth: dict[str, str], item: dict[str, Any], mp4: Path) -> None:
    assert item["title"] == "Holiday clip"
    assert item["type"] == "video"
    assert item["size_bytes"] == mp4.stat().st_size
    assert streamed_sha256(server, auth, item["id"]) == sha256_of(mp4)
    check_probed_metadata(item)


async def test_tuspy_resumes_after_a_restart_and_the_file_is_identical(
    backend: Backend, mp4: Path
) -> None:
    from tusclient import client as tus

    size = mp4.stat().st_size
    metadata = {"filename": mp4.name, "type": "video"}
    with backend.serve() as first:
        auth = bearer(first)
        uploader = tus.TusClient(f"{first.base_url}/uploads", headers=auth).uploader(
            str(mp4), chunk_size=CHUNK, metadata=metadata
        )
        uploader.upload(stop_at=size // 2)  # then the client stops, and the server too
        reached = uploader.offset
        assert size // 2 <= reached < size
        path = str(uploader.url).removeprefix(first.base_url)
    assert await backend.partial_sizes() == [reached]

    with backend.serve() as second:
        auth = bearer(second)
        resumed = tus.TusClient(f"{second.base_url}/uploads", headers=auth).uploader(
            str(mp4), chunk_size=CHUNK, url=second.base_url + path
        )
        assert resumed.offset == reached  # asked the server (HEAD)
        resumed.upload()

        check_item(second, auth, media_of(second, auth, second.base_url + path), mp4)
    await backend.only_the_finished_record()


@pytest.fixture
def curl() -> str:
    found = shutil.which("curl")
    if found is None:
        if services_required():
            pytest.fail("curl is not installed and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip("curl is not installed")
    return found


def run_curl(curl: str, *args: str) -> tuple[int, dict[str, str]]:
    """One curl request; its status and response headers (lower-case names)."""
    done = subprocess.run(
        [curl, "-sS", "-o", "/dev/null", "-D", "-", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = [line.rstrip("\r") for line in done.stdout.splitlines() if line.strip()]
    statuses = [i for i, line in enumerate(lines) if line.startswith("HTTP/")]
    last = statuses[-1]  # after any 100 Continue
    headers = dict(line.split(": ", 1) for line in lines[last + 1 :] if ": " in line)
    return int(lines[last].split()[1]), {k.lower(): v for k, v in headers.items()}


async def test_a_curl_sequence_post_patch_head_patch(
    backend: Backend, mp4: Path, curl: str, tmp_path: Path
) -> None:
    data = mp4.read_bytes()
    half = len(data) // 2
    (tmp_path / "one").write_bytes(data[:half])
    (tmp_path / "two").write_bytes(data[half:])
    encoded = base64.b64encode(mp4.name.encode()).decode()
    with backend.serve() as server:
        auth = bearer(server)
        common = ["-H", f"Authorization: {auth['Authorization']}", "-H", "Tus-Resumable: 1.0.0"]
        patch = [*common, "-X", "PATCH", "-H", "Content-Type: application/offset+octet-stream"]

        status, created = run_curl(
            curl,
            *common,
            "-X",
            "POST",
            "-H",
            f"Upload-Length: {len(data)}",
            "-H",
            f"Upload-Metadata: filename {encoded}",
            f"{server.base_url}/uploads",
        )
        assert status == 201
        assert created["upload-offset"] == "0"
        url = created["location"]
        status, first = run_curl(
            curl, *patch, "-H", "Upload-Offset: 0", "--data-binary", f"@{tmp_path / 'one'}", url
        )
        assert (status, first["upload-offset"]) == (204, str(half))
        status, head = run_curl(curl, *common, "-I", url)
        assert (status, head["upload-offset"], head["upload-length"]) == (
            200,
            str(half),
            str(len(data)),
        )
        status, last = run_curl(
            curl,
            *patch,
            "-H",
            f"Upload-Offset: {half}",
            "--data-binary",
            f"@{tmp_path / 'two'}",
            url,
        )
        assert (status, last["upload-offset"]) == (204, str(len(data)))

        item = httpx.get(
            server.base_url + last["content-location"], headers=auth, timeout=30
        ).json()
        check_item(server, auth, item, mp4)
    await backend.only_the_finished_record()


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.json()["code"] == code


def create(
    http: httpx.Client, length: int, metadata: str | None = "filename Y2xpcC5tcDQ="
) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(length)}
    if metadata is not None:
        headers["Upload-Metadata"] = metadata
    return http.post("/uploads", headers=headers)


def send(http: httpx.Client, url: str, offset: int, body: bytes, **extra: str) -> httpx.Response:
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **extra,
    }
    return http.patch(url, headers=headers, content=body)


async def test_bad_input_gets_a_clear_4xx_and_leaves_nothing(backend: Backend) -> None:
    head = media_file(100_000)  # a whole (small) real MP4: uploads now read what they keep
    with backend.serve() as server:
        auth = bearer(server)
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
            options = http.options("/uploads")
            assert options.headers["tus-version"] == "1.0.0"
            assert options.headers["tus-max-size"] == str(MAX_BYTES)
            assert set(options.headers["tus-extension"].split(",")) >= {
                "creation",
                "creation-with-upload",
                "termination",
                "expiration",
            }

            # Refused at creation: nothing is made.
            problem(create(http, MAX_BYTES + 1), 413, "file_too_large")
            problem(create(http, 10, "filename " + "QUFB" * 1100), 400, "metadata_too_long")
            long_name = base64.b64encode(b"n" * 300).decode()
            problem(create(http, 10, f"filename {long_name}"), 400, "metadata_too_long")
            problem(create(http, 10, "filename not*base64"), 400, "bad_metadata")
            problem(create(http, 10, None), 422, "title_required")
            missing = http.post("/uploads", headers={"Upload-Length": "10"})
            problem(missing, 400, "tus_resumable_missing")
            old = http.post("/uploads", headers={"Tus-Resumable": "0.2.2", "Upload-Length": "10"})
            problem(old, 412, "precondition_failed")
            assert old.headers["tus-version"] == "1.0.0"
            huge = {**TUS, "Upload-Length": str(2**63)}
            problem(http.post("/uploads", headers=huge), 400, "bad_upload_length")
            problem(
                http.post("/uploads", headers={**TUS, "Upload-Length": "-1"}),
                400,
                "bad_upload_length",
            )
            await backend.nothing_left()

            # Creation with upload: the bytes in the POST; the wrong content type is 415.
            with_bytes = {
                **TUS,
                "Upload-Length": str(len(head)),
                "Upload-Metadata": "filename YS5tcDQ=",
            }
            wrong = http.post(
                "/uploads",
                headers={**with_bytes, "Content-Type": "application/octet-stream"},
                content=head,
            )
            problem(wrong, 415, "bad_content_type")
            await backend.nothing_left()
            whole = http.post(
                "/uploads",
                headers={**with_bytes, "Content-Type": "application/offset+octet-stream"},
                content=head,
            )
            assert whole.status_code == 201, whole.text
            assert whole.headers["upload-offset"] == str(len(head))
            created_item = http.get(whole.headers["content-location"])
            assert created_item.json()["size_bytes"] == len(head)
            assert http.delete(whole.headers["content-location"]).status_code == 204
            assert http.delete(whole.headers["location"], headers=TUS).status_code == 204
            await backend.nothing_left()

            # Refused on the way: the upload stays where it was.
            url = create(http, len(head)).headers["location"]
            assert send(http, url, 0, head[:40_000]).status_code == 204
            problem(send(http, url, 0, head[:10]), 409, "offset_mismatch")
            problem(send(http, url, 50_000, head[:10]), 409, "offset_mismatch")
            problem(send(http, url, 40_000, head[40_000:] + b"more"), 413, "upload_length_exceeded")
            problem(
                send(
                    http, url, 40_000, head[40_000:], **{"Content-Type": "application/octet-stream"}
                ),
                415,
                "bad_content_type",
            )
            problem(
                send(http, url, 40_000, b"x", **{"Tus-Resumable": "0.2.2"}),
                412,
                "precondition_failed",
            )
            status = http.head(url, headers=TUS)
            assert status.headers["upload-offset"] == "40000"
            assert await backend.partial_sizes() == [40_000]

            # Expired: 410 once, then unknown; bytes and row gone.
            await backend.expire_all_uploads()
            problem(send(http, url, 40_000, head[40_000:]), 410, "upload_expired")
            await backend.nothing_left()
            problem(send(http, url, 40_000, head[40_000:]), 404, "upload_not_found")

            # Complete but no media: 415 and nothing at all.
            text = b"plain words, not a video " * 100
            url = create(http, len(text)).headers["location"]
            problem(send(http, url, 0, text), 415, "not_media")
            await backend.nothing_left()

            # Terminated: 204, then gone.
            url = create(http, len(head)).headers["location"]
            assert send(http, url, 0, head[:1000]).status_code == 204
            assert http.delete(url, headers=TUS).status_code == 204
            assert http.head(url, headers=TUS).status_code == 404
            await backend.nothing_left()

            # Anonymous requests are refused before anything.
            anonymous = httpx.post(
                f"{server.base_url}/uploads", headers={**TUS, "Upload-Length": "1"}
            )
            problem(anonymous, 401, "token_missing")
    assert await backend.count(media) == 0
    await backend.nothing_left()


async def test_serve_sweeps_expired_uploads_and_idle_files_at_start(backend: Backend) -> None:
    with backend.serve() as server:
        auth = bearer(server)
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
            url = create(http, 1000).headers["location"]
            assert send(http, url, 0, b"x" * 100).status_code == 204
    s3 = backend.s3 is not None
    # On S3 the bytes wait in the bucket; files an older version staged on disk still go.
    orphan = partials_dir(backend.data_dir, s3=s3) / "left-by-a-crash.part"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"old")
    os.utime(orphan, (0, 0))
    assert len(leftover_partials(backend.data_dir)) == (1 if s3 else 2)
    if s3:
        assert await backend.partial_sizes() == [100]
    await backend.expire_all_uploads()

    with backend.serve():
        await backend.nothing_left()


async def test_a_second_patch_while_one_is_writing_is_409_busy(tmp_path: Path, mp4: Path) -> None:
    data = mp4.read_bytes()[:400_000]
    backend = Backend(tmp_path / "server", "", {**SECRETS, "KLANTROEF_SIGNUP": "open"})
    with backend.serve() as server:
        auth = bearer(server)
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
            url = create(http, len(data)).headers["location"]
        sent_first_half = asyncio.Event()
        go_on = asyncio.Event()

        async def slow_body() -> AsyncIterator[bytes]:
            yield data[:200_000]
            sent_first_half.set()
            await go_on.wait()
            yield data[200_000:]

        headers = {
            **auth,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        }
        async with httpx.AsyncClient(timeout=30) as client:
            first = asyncio.create_task(client.patch(url, headers=headers, content=slow_body()))
            await sent_first_half.wait()
            for _ in range(50):  # until the server holds the upload for the first
                await asyncio.sleep(0.1)
                # Empty: harmless (204, nothing changes) while the first is not yet writing.
                second = await client.patch(url, headers=headers, content=b"")
                if second.status_code != 204:
                    break
            problem(second, 409, "upload_busy")
            go_on.set()
            done = await first
        assert done.status_code == 204, done.text
        assert "content-location" in done.headers
