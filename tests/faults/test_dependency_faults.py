"""A real ``klantroef serve`` while its dependencies fail under it.

Each test starts its own ``redis-server`` and ``mariadbd`` (spare ports, temporary
folders; the shared servers are never touched), points a server process at them
with one-second timeouts, and then kills, freezes (SIGSTOP) and restarts them, or
fills or write-protects the media folder. What must hold: every failure is a 503
problem within a few seconds (never a hang, never a 500), the service recovers
without a restart, every acknowledged (201) view is counted exactly once, every
logout stays refused, and a failed upload leaves no file and no row.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.tables import views as view_rows
from tests.live_server import LiveServer, live_server
from tests.media_samples import media_file, multipart_body
from tests.own_services import (
    OwnMariaDB,
    OwnRedis,
    limit_file_size,
    own_mariadb,
    own_redis,
    process_group,
    read_only,
    small_disk,
)
from tests.real_servers import CREDENTIALS, SECRETS

BOUND = 10.0  # seconds: "503 within a few seconds" with one-second timeouts
FAULTY_ENV = {
    "KLANTROEF_DB_TIMEOUT": "1",
    "KLANTROEF_REDIS_TIMEOUT": "1",
    "KLANTROEF_TRUSTED_PROXIES": "127.0.0.1",  # each view names its own client
    **SECRETS,
}


@dataclass
class Session:
    """One server under test and what was answered: every status, every acknowledged view."""

    server: LiveServer
    http: httpx.AsyncClient
    auth: dict[str, str] = field(default_factory=dict)
    media_id: str = ""
    view_path: str = ""
    statuses: list[int] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # clients of 201 views
    _clients: int = 0

    async def timed(self, request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = await request
        self.statuses.append(response.status_code)
        return response, time.monotonic() - started

    async def view(self) -> tuple[httpx.Response, float]:
        """A viewer with the stream link, from a client address never used before."""
        self._clients += 1
        client = f"10.{self._clients // 65536}.{self._clients // 256 % 256}.{self._clients % 256}"
        answer, took = await self.timed(
            self.http.post(self.view_path, headers={"X-Forwarded-For": client})
        )
        if answer.status_code == 201:
            self.acknowledged.append(client)
        return answer, took

    async def analytics(self) -> httpx.Response:
        answer, _ = await self.timed(
            self.http.get(f"/media/{self.media_id}/analytics", headers=self.auth)
        )
        return answer

    async def login(self) -> dict[str, str]:
        answer, _ = await self.timed(self.http.post("/auth/login", json=CREDENTIALS))
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    async def start(self) -> None:
        """Sign up and in, upload an item, take its stream link."""
        signed_up, _ = await self.timed(self.http.post("/auth/signup", json=CREDENTIALS))
        assert signed_up.status_code == 201, signed_up.text
        self.auth = await self.login()
        uploaded, _ = await self.timed(
            self.http.post(
                "/media",
                files={"file": ("clip.mp4", media_file(4096), "video/mp4")},
                data={"title": "Clip"},
                headers=self.auth,
            )
        )
        assert uploaded.status_code == 201, uploaded.text
        self.media_id = uploaded.json()["id"]
        link, _ = await self.timed(
            self.http.get(f"/media/{self.media_id}/stream-url", headers=self.auth)
        )
        token = link.json()["url"].split("token=")[1]
        self.view_path = f"/media/{self.media_id}/view?token={token}"

    def assert_no_server_error(self) -> None:
        """Every answer of the run was a deliberate one: no 500, no 502/504."""
        assert [s for s in self.statuses if s >= 500 and s != 503] == []


def assert_unavailable(answer: httpx.Response, took: float) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 503
    assert took < BOUND, f"answered after {took:.1f} s"


@contextmanager
def serving(folder: Path, env: dict[str, str]) -> Iterator[LiveServer]:
    with live_server(folder, {**FAULTY_ENV, **env}) as server:
        yield server


def upload_until_answered(
    server: LiveServer, auth: dict[str, str], data: bytes
) -> tuple[httpx.Response, float]:
    """POST /media over a raw socket, sending until the server answers (it may refuse
    before the body is all sent, and then stop reading); its response and the time."""
    body, content_type = multipart_body([("title", "Too big for the disk")], data)
    host, port = server.base_url.removeprefix("http://").split(":")
    head = (
        f"POST /media HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((host, int(port))) as sock:
        sock.settimeout(BOUND)
        sock.sendall(head)
        sent = 0
        while sent < len(body) and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(body[sent : sent + 64 * 1024])
            except (BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: it has answered
            sent += 64 * 1024
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    took = time.monotonic() - started
    head_part, _, payload = answer.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return httpx.Response(int(lines[0].split()[1]), headers=headers, content=payload), took


async def until(probe: Callable[[], Awaitable[bool]], timeout: float = BOUND) -> float:
    """Call ``probe`` until it says true; the seconds it took."""
    started = time.monotonic()
    while True:
        if await probe():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not recovered within {timeout} s")
        await asyncio.sleep(0.2)


async def clients_in_database(url: str, media_id: str) -> list[str]:
    """The client of every view row of the item, read straight from the database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(view_rows.c.client).where(view_rows.c.media_id == media_id)
            )
            return sorted(row.client for row in rows)
    finally:
        await engine.dispose()


@pytest.fixture
def mariadb() -> Iterator[OwnMariaDB]:
    with own_mariadb() as server:
        yield server


@pytest.fixture
def redis() -> Iterator[OwnRedis]:
    with own_redis() as server:
        yield server


@contextmanager
def session_on(folder: Path, mariadb: OwnMariaDB, redis: OwnRedis) -> Iterator[LiveServer]:
    env = {"KLANTROEF_DATABASE_URL": mariadb.url, "KLANTROEF_REDIS_URL": redis.url}
    with serving(folder, env) as server:
        yield server


async def test_redis_killed_and_restarted_empty(
    tmp_path: Path, mariadb: OwnMariaDB, redis: OwnRedis
) -> None:
    with session_on(tmp_path, mariadb, redis) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            s = Session(server, http)
            await s.start()
            logged_out = await s.login()
            bye, _ = await s.timed(http.post("/auth/logout", headers=logged_out))
            assert bye.status_code == 204
            for _ in range(5):
                assert (await s.view())[0].status_code == 201
            assert (await s.analytics()).json()["total_views"] == 5  # now cached

            redis.kill()
            me, took = await s.timed(http.get("/auth/me", headers=s.auth))
            assert_unavailable(me, took)  # revocations cannot be checked: fail closed
            for _ in range(3):  # a viewer with a link is still counted (limits fail open)
                viewed, took = await s.view()
                assert viewed.status_code == 201, viewed.text
                assert took < BOUND
            refused, took = await s.timed(http.post("/auth/logout", headers=s.auth))
            assert_unavailable(refused, took)

            redis.start()  # empty: no revocation, no cached report, no marker

            async def me_answers() -> bool:
                answer, _ = await s.timed(http.get("/auth/me", headers=s.auth))
                return answer.status_code == 200

            await until(me_answers)  # the same process recovers
            still_out, _ = await s.timed(http.get("/auth/me", headers=logged_out))
            assert still_out.status_code == 401, still_out.text
            assert still_out.json()["code"] == "token_revoked"
            assert (await s.view())[0].status_code == 201
            report = (await s.analytics()).json()
            assert report["total_views"] == len(s.acknowledged) == 9
            bye, _ = await s.timed(http.post("/auth/logout", headers=s.auth))
            assert bye.status_code == 204
            gone, _ = await s.timed(http.get("/auth/me", headers=s.auth))
            assert gone.status_code == 401

            assert await clients_in_database(mariadb.url, s.media_id) == sorted(s.acknowledged)
            s.assert_no_server_error()


async def test_redis_and_mariadb_frozen_then_resumed(
    tmp_path: Path, mariadb: OwnMariaDB, redis: OwnRedis
) -> None:
    with session_on(tmp_path, mariadb, redis) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            s = Session(server, http)
            await s.start()
            for _ in range(5):
                assert (await s.view())[0].status_code == 201
            assert (await s.analytics()).json()["total_views"] == 5  # now cached

            redis.freeze()  # connections stay open; nothing answers
            try:
                me, took = await s.timed(http.get("/auth/me", headers=s.auth))
                assert_unavailable(me, took)
                for _ in range(2):
                    viewed, took = await s.view()
                    assert viewed.status_code == 201, viewed.text
                    assert took < BOUND
            finally:
                redis.thaw()
            # The cache still holds the report of 5 views, and its invalidations were lost:
            assert (await s.analytics()).json()["total_views"] == 7

            mariadb.freeze()
            try:
                for path in ("/auth/me", "/media", f"/media/{s.media_id}/analytics"):
                    answer, took = await s.timed(http.get(path, headers=s.auth))
                    assert_unavailable(answer, took)
                viewed, took = await s.view()
                assert_unavailable(viewed, took)
                ready, took = await s.timed(http.get("/health/ready"))
                assert (ready.status_code, took < BOUND) == (503, True)
            finally:
                mariadb.thaw()

            async def me_answers() -> bool:
                answer, _ = await s.timed(http.get("/auth/me", headers=s.auth))
                return answer.status_code == 200

            await until(me_answers)
            assert (await s.view())[0].status_code == 201
            assert (await s.analytics()).json()["total_views"] == len(s.acknowledged) == 8
            assert await clients_in_database(mariadb.url, s.media_id) == sorted(s.acknowledged)
            s.assert_no_server_error()


async def test_mariadb_killed_mid_run_then_restarted(
    tmp_path: Path, mariadb: OwnMariaDB, redis: OwnRedis
) -> None:
    with session_on(tmp_path, mariadb, redis) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            s = Session(server, http)
            await s.start()
            refused: list[float] = []
            stop = asyncio.Event()

            async def viewers() -> None:  # views keep coming while the database dies
                while not stop.is_set():
                    answer, took = await s.view()
                    if answer.status_code != 201:
                        assert_unavailable(answer, took)
                        refused.append(took)
                        await asyncio.sleep(0.05)

            load = asyncio.create_task(viewers())
            while len(s.acknowledged) < 20:
                await asyncio.sleep(0.02)
            mariadb.kill()
            me, took = await s.timed(http.get("/auth/me", headers=s.auth))
            assert_unavailable(me, took)
            ready, took = await s.timed(http.get("/health/ready"))
            assert (ready.status_code, took < BOUND) == (503, True)
            while len(refused) < 5:
                await asyncio.sleep(0.05)

            mariadb.start()  # crash recovery: every committed view is back

            async def ready_again() -> bool:
                answer, _ = await s.timed(http.get("/health/ready"))
                return answer.status_code == 200

            await until(ready_again, timeout=30)
            before = len(s.acknowledged)
            while len(s.acknowledged) < before + 10:  # the pool serves views again
                await asyncio.sleep(0.05)
            stop.set()
            await load

            in_database = await clients_in_database(mariadb.url, s.media_id)
            # Every acknowledged view once; a view cut off mid-commit may have landed
            # without its 201 (its client then got a 503), never twice.
            assert len(in_database) == len(set(in_database))
            assert set(s.acknowledged) <= set(in_database)
            assert len(in_database) - len(s.acknowledged) <= 1
            assert (await s.analytics()).json()["total_views"] == len(in_database)
            s.assert_no_server_error()


async def test_a_full_disk_and_a_read_only_media_folder_fail_uploads_cleanly(
    tmp_path: Path,
) -> None:
    media_dir = tmp_path / "media"
    limit = 2 * 1024 * 1024
    with small_disk(media_dir, limit) as how:
        env = {"KLANTROEF_MEDIA_DIR": str(media_dir)}  # SQLite stays on the big disk
        with serving(tmp_path / "var", env) as server:
            if how == "fsize":
                limit_file_size(process_group(server.process.pid), limit)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
                s = Session(server, http)
                await s.start()
                kept = sorted(p.name for p in media_dir.iterdir())
                assert len(kept) == 1

                # The refusal may come while the body is still being sent (the disk is
                # full after 2 MiB of 6): read it off the socket as a client would.
                too_big, took = await asyncio.to_thread(
                    upload_until_answered, server, s.auth, media_file(3 * limit)
                )
                s.statuses.append(too_big.status_code)
                assert_unavailable(too_big, took)
                assert too_big.json()["code"] == "storage_unavailable"
                assert sorted(p.name for p in media_dir.iterdir()) == kept  # no partial file

                with read_only(media_dir, how):
                    refused, took = await asyncio.to_thread(
                        upload_until_answered, server, s.auth, media_file(8192)
                    )
                    s.statuses.append(refused.status_code)
                    assert_unavailable(refused, took)
                    assert refused.json()["code"] == "storage_unavailable"
                assert sorted(p.name for p in media_dir.iterdir()) == kept

                listed, _ = await s.timed(http.get("/media", headers=s.auth))
                assert [item["id"] for item in listed.json()["items"]] == [s.media_id]  # no row
                fits, _ = await s.timed(  # the server kept serving, and writes again
                    http.post(
                        "/media",
                        files={"file": ("fits.mp4", media_file(8192), "video/mp4")},
                        data={"title": "Fits"},
                        headers=s.auth,
                    )
                )
                assert fits.status_code == 201, fits.text
                s.assert_no_server_error()
