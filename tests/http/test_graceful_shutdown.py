"""SIGTERM to a real ``klantroef serve``, as ``docker stop`` sends it, with an upload in flight.

An upload still running when the grace period ends is cancelled and leaves nothing
behind: no file (final or partial) in the media folder or the temporary folder, no
object or unfinished multipart upload in the bucket, no row; its client is told 503
``shutting_down``; the process closes its pools and exits. An upload that finishes
within the grace period is stored as usual. On SQLite and MariaDB, granian and uvicorn.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from klantroef_app.cli import KILL_MARGIN
from tests.live_server import LiveServer, live_server
from tests.media_samples import media_file, multipart_body
from tests.real_servers import CREDENTIALS, PREFIX, SECRETS, fresh_bucket, s3_env
from tests.seaweedfs import SeaweedS3, list_bucket
from tests.sql_engines import fresh_database

MIB = 1024 * 1024
POOLS_CLOSED = "closed the database, Redis and S3 connections"


@dataclass
class Served:
    server: LiveServer
    database_url: str
    media_dir: Path
    temp_dir: Path
    token: str

    def leftovers(self) -> list[str]:
        found = [p.name for p in self.media_dir.iterdir()] if self.media_dir.exists() else []
        return sorted(found + [p.name for p in self.temp_dir.iterdir()])

    def log(self) -> str:
        return self.server.log.read_text(errors="replace")


@contextmanager
def served(tmp_path: Path, server: str, env: dict[str, str], grace: int) -> Iterator[Served]:
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    env = {**SECRETS, **env, "KLANTROEF_SHUTDOWN_GRACE": str(grace), "TMPDIR": str(temp_dir)}
    data = tmp_path / "var"
    with live_server(data, env, args=("--server", server)) as live:
        with httpx.Client(base_url=live.base_url, timeout=30) as client:
            assert client.post("/auth/signup", json=CREDENTIALS).status_code == 201
            token = client.post("/auth/login", json=CREDENTIALS).json()["token"]
        database_url = env.get("KLANTROEF_DATABASE_URL", f"sqlite:///{data / 'klantroef.db'}")
        yield Served(live, database_url, data / "media", temp_dir, token)


class SlowUpload:
    """A chunked form upload sent by hand, a piece at a time, over one connection."""

    def __init__(self, served: Served, size: int) -> None:
        self.body, content_type = multipart_body([("title", "Cut short")], media_file(size))
        self.sent = 0
        host, port = served.server.base_url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.settimeout(10)
        self.sock.sendall(
            f"POST /media HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {served.token}\r\n"
            f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )

    def send(self, size: int) -> None:
        piece = self.body[self.sent : self.sent + size]
        self.sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.sent += len(piece)

    def finish(self) -> None:
        while self.sent < len(self.body):
            self.send(256 * 1024)
        self.sock.sendall(b"0\r\n\r\n")

    def answered(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def response(self) -> tuple[int, dict[str, object]]:
        reply = http.client.HTTPResponse(self.sock)
        reply.begin()
        return reply.status, json.loads(reply.read())


def media_rows(database_url: str) -> int:
    url = make_url(database_url)
    if url.drivername.startswith("mysql"):
        url = url.set(drivername="mysql+pymysql")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM media")).scalar_one())
    finally:
        engine.dispose()


def sigterm(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM to the server's main process only, as ``docker stop`` sends it."""
    os.kill(process.pid, signal.SIGTERM)
    return time.monotonic()


BACKENDS = ["granian-sqlite", "uvicorn-sqlite", "granian-mariadb", "granian-mariadb-s3"]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, str], str | None]:
    """(server, environment, bucket or None) of one backend."""
    name: str = request.param
    server, _, storage = name.partition("-")
    env: dict[str, str] = {}
    bucket = None
    if storage.startswith("mariadb"):
        mariadb_url: str = request.getfixturevalue("mariadb_url")
        env["KLANTROEF_DATABASE_URL"] = await fresh_database(mariadb_url, suffix="shutdown")
    if storage.endswith("s3"):
        seaweedfs: SeaweedS3 = request.getfixturevalue("seaweedfs")
        bucket = fresh_bucket()
        env.update(s3_env(seaweedfs, bucket))
    return server, env, bucket


async def test_an_upload_still_running_after_the_grace_period_is_cut_off_and_leaves_nothing(
    tmp_path: Path, backend: tuple[str, dict[str, str], str | None], request: pytest.FixtureRequest
) -> None:
    server, env, bucket = backend
    grace = 2
    with served(tmp_path, server, env, grace) as running:
        upload = SlowUpload(running, 64 * MIB)
        upload.send(10 * MIB)  # past one 8 MiB part on S3: a multipart upload is under way
        time.sleep(0.5)
        seaweedfs: SeaweedS3 | None = request.getfixturevalue("seaweedfs") if bucket else None
        if seaweedfs is None or bucket is None:
            assert [n for n in running.leftovers() if n.endswith(".part")], running.leftovers()
        else:
            assert len((await list_bucket(seaweedfs, bucket, PREFIX)).uploads) == 1

        sent_at = sigterm(running.server.process)
        while running.server.process.poll() is None and not upload.answered():
            if time.monotonic() - sent_at > grace + KILL_MARGIN:
                break
            try:  # a slow client that keeps sending must not hold the shutdown up
                upload.send(64 * 1024)
            except OSError:
                break
            time.sleep(0.2)
        status, problem = upload.response()
        exit_code = running.server.process.wait(grace + KILL_MARGIN)
        stopped_after = time.monotonic() - sent_at

        assert status == 503
        assert problem["code"] == "shutting_down"
        assert exit_code == 0
        assert grace * 0.9 <= stopped_after < grace + KILL_MARGIN
        assert upload.sent < len(upload.body)
        assert running.leftovers() == []
        assert media_rows(running.database_url) == 0
        if seaweedfs is not None and bucket is not None:
            listing = await list_bucket(seaweedfs, bucket, PREFIX)
            assert listing.objects == []
            assert listing.uploads == []
        assert POOLS_CLOSED in running.log()


@pytest.mark.parametrize("storage", ["sqlite", "mariadb"])
async def test_an_upload_that_ends_within_the_grace_period_is_stored(
    tmp_path: Path, storage: str, request: pytest.FixtureRequest
) -> None:
    env: dict[str, str] = {}
    if storage == "mariadb":
        mariadb_url: str = request.getfixturevalue("mariadb_url")
        env["KLANTROEF_DATABASE_URL"] = await fresh_database(mariadb_url, suffix="shutdown")
    grace = 20  # far more than the rest of the upload needs, even on a busy machine
    with served(tmp_path, "granian", env, grace) as running:
        upload = SlowUpload(running, 8 * MIB)
        upload.send(2 * MIB)
        time.sleep(0.5)

        sent_at = sigterm(running.server.process)
        time.sleep(0.5)  # the signal has arrived: the upload is now one in flight
        upload.finish()
        status, media = upload.response()
        assert running.server.process.wait(grace + KILL_MARGIN) == 0
        stopped_after = time.monotonic() - sent_at

        assert status == 201, media
        assert media["size_bytes"] == 8 * MIB
        assert stopped_after < grace  # it stopped once the upload was done, not at the deadline
        assert media_rows(running.database_url) == 1
        stored = [p for p in running.media_dir.iterdir() if not p.name.startswith(".")]
        assert [p.stat().st_size for p in stored] == [8 * MIB]
        assert POOLS_CLOSED in running.log()
