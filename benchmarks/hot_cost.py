"""``python -m benchmarks.hot_cost [--backend sqlite|mariadb-redis] [--requests N]``: what the
hot routes cost the app's process, concurrently, without a server or a client in the way.

The app is built as a ``klantroef serve`` worker builds it, and each route is driven by
``--concurrency`` tasks calling the ASGI app directly (each view from its own client
address), so batching and pipelining show as they would under load. Reported per
request: the process's CPU time (user + system, so fairly steady on a busy machine),
the round trips to MariaDB (commands sent, counted with ``mysql+aiomysql://`` only:
asyncmy's connection cannot be wrapped) and to Redis (socket writes).
Use it to compare versions of a hot path; the wrk harness (``benchmarks.run``) gives
the figures against the ceilings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from tests.app_support import settings_for
from tests.asgi_exchange import scope_for

from benchmarks.playable import playable_head
from benchmarks.view_cost import signed_in_with_media
from klantroef_adapters.migrate import upgrade
from klantroef_app.asgi import build_app
from klantroef_app.container import bootstrap

MARIADB = os.environ.get(
    "KLANTROEF_BENCH_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/klantroef_hotcost"
)
MIB = 1024 * 1024
BIG = 64 * MIB
REDIS = os.environ.get("KLANTROEF_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


class Trips:
    """Counts round trips by wrapping the drivers' send paths."""

    mysql = 0
    redis = 0

    @classmethod
    def install(cls) -> None:
        import aiomysql.connection
        from redis.asyncio.connection import AbstractConnection

        execute = aiomysql.connection.Connection._execute_command

        async def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            cls.mysql += 1
            return await execute(self, *args, **kwargs)

        aiomysql.connection.Connection._execute_command = counted_execute
        ping = aiomysql.connection.Connection.ping

        async def counted_ping(self: Any, *args: Any, **kwargs: Any) -> Any:
            cls.mysql += 1
            return await ping(self, *args, **kwargs)

        aiomysql.connection.Connection.ping = counted_ping
        send = AbstractConnection.send_packed_command

        async def counted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
            cls.redis += 1
            return await send(self, *args, **kwargs)

        AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]


def _scope(method: str, path: str, query: bytes, n: int, headers: list[tuple[bytes, bytes]]) -> Any:
    """A request from client address number ``n`` (each view its own client)."""
    scope = scope_for(method, f"{path}?{query.decode()}" if query else path, pathsend=False)
    scope["headers"] = [(b"host", b"127.0.0.1:8000"), (b"content-length", b"0"), *headers]
    scope["client"] = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 40000)
    return scope


async def _call(app: Any, scope: Any) -> int:
    """One request: its (empty) body, then a disconnect once the whole answer is sent."""
    status = 0
    asked = False
    answered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif not message.get("more_body", False):
            answered.set()

    await app(scope, receive, send)
    return status


async def _drive(
    name: str, requests: int, concurrency: int, one: Callable[[int], Awaitable[int]]
) -> None:
    for n in range(50):  # warm up
        await one(10_000_000 + n)
    counter = iter(range(requests))
    statuses: dict[int, int] = {}

    async def worker() -> None:
        for n in counter:
            status = await one(n)
            statuses[status] = statuses.get(status, 0) + 1

    mysql, redis = Trips.mysql, Trips.redis
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{name:14} {cpu / requests * 1e6:7.0f} µs CPU/req  {requests / wall:7.0f} req/s  "
        f"mysql {(Trips.mysql - mysql) / requests:5.2f}  redis {(Trips.redis - redis) / requests:5.2f}"
        f"  statuses {statuses}"
    )


def _settings(backend: str) -> Any:
    folder = Path(tempfile.mkdtemp(prefix="klantroef-hot-cost-"))
    if backend == "mariadb-redis":
        changes = {"database_url": MARIADB, "redis_url": REDIS}
    else:
        changes = {"database_url": f"sqlite:///{folder / 'klantroef.db'}"}
    upgrade(changes["database_url"])  # Alembic runs its own event loop
    return settings_for(folder, **changes)


async def main(settings: Any, requests: int, concurrency: int, cases: list[str]) -> None:
    app = build_app(bootstrap(settings))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        token, media, query = await signed_in_with_media(client)
        auth = {"Authorization": f"Bearer {token}"}
        bearer = [(b"authorization", f"Bearer {token}".encode())]
        big = playable_head(BIG) + os.urandom(BIG - len(playable_head(BIG)))
        files = {"file": ("big.mp4", big, "video/mp4")}
        big_id = (await client.post("/media", headers=auth, files=files)).json()["id"]
        big_link = (await client.get(f"/media/{big_id}/stream-url", headers=auth)).json()
        big_query = big_link["url"].split("?", 1)[1].encode()
        offsets = random.Random(7)

        def ranged(n: int) -> Any:
            start = offsets.randrange(0, BIG - MIB)
            header = (b"range", f"bytes={start}-{start + MIB - 1}".encode())
            return _scope("GET", f"/media/{big_id}/stream", big_query, n, [header])

        routes: dict[str, Callable[[int], Awaitable[int]]] = {
            "view": lambda n: _call(app, _scope("POST", f"/media/{media}/view", query, n, [])),
            "auth_me": lambda n: _call(app, _scope("GET", "/auth/me", b"", n, bearer)),
            "media_get": lambda n: _call(app, _scope("GET", f"/media/{media}", b"", n, bearer)),
            "analytics_hit": lambda n: _call(
                app, _scope("GET", f"/media/{media}/analytics", b"", n, bearer)
            ),
            "range": lambda n: _call(app, ranged(n)),
        }
        for name in cases:
            await _drive(name, requests, concurrency, routes[name])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="mariadb-redis", choices=["sqlite", "mariadb-redis"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument(
        "--uvloop", action="store_true", help="run on uvloop, as granian does when it is installed"
    )
    args = parser.parse_args()
    Trips.install()
    if args.backend == "mariadb-redis":
        import subprocess

        subprocess.run(
            [
                "mysql",
                "-h",
                "127.0.0.1",
                "-u",
                "root",
                "-e",
                "DROP DATABASE IF EXISTS klantroef_hotcost; CREATE DATABASE klantroef_hotcost",
            ],
            check=True,
        )
        subprocess.run(["redis-cli", "-n", "13", "flushdb"], check=True, capture_output=True)
    cases = args.case or ["view", "auth_me", "media_get", "analytics_hit"]
    run = asyncio.run
    if args.uvloop:
        import uvloop

        run = uvloop.run
    run(main(_settings(args.backend), args.requests, args.concurrency, cases))
    sys.stdout.flush()
