"""Two real server processes sharing MariaDB and Redis.

Both processes sit behind a pretend proxy on loopback (``KLANTROEF_TRUSTED_PROXIES``
is 127.0.0.1), so each request names its client in ``X-Forwarded-For``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.live_server import LiveServer
from tests.real_servers import add_media, admin_headers, two_servers
from tests.sql_engines import fresh_database

CLIENTS = 50
VIEWS_PER_CLIENT = 20  # 1,000 in all; under the default 30 a minute per client and item
CONCURRENCY = 50


@asynccontextmanager
async def clients(servers: list[LiveServer]) -> AsyncIterator[list[httpx.AsyncClient]]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with (
        httpx.AsyncClient(base_url=servers[0].base_url, limits=limits, timeout=30) as one,
        httpx.AsyncClient(base_url=servers[1].base_url, limits=limits, timeout=30) as two,
    ):
        yield [one, two]


async def send_views(
    https: list[httpx.AsyncClient], media_id: str, headers: dict[str, str], ips: list[str]
) -> list[httpx.Response]:
    """One view per entry of ``ips``, all at once (at most CONCURRENCY in flight), alternating servers."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(http: httpx.AsyncClient, ip: str) -> httpx.Response:
        async with gate:
            return await http.post(
                f"/media/{media_id}/view", headers={**headers, "X-Forwarded-For": ip}
            )

    return await asyncio.gather(
        *(one(http, ip) for http, ip in zip(itertools.cycle(https), ips, strict=False))
    )


async def test_two_processes_count_concurrent_views_exactly_and_share_one_limit(
    tmp_path: Path, mariadb_url: str, redis_url: str
) -> None:
    database_url = await fresh_database(mariadb_url)
    with two_servers(tmp_path, database_url, redis_url) as servers:
        async with clients(servers) as https:
            headers = await admin_headers(https[0])
            crowded, limited = await add_media(database_url, 2)

            # 1,000 views from 50 addresses, spread over both processes at once.
            ips = [f"203.0.113.{n}" for n in range(1, CLIENTS + 1)] * VIEWS_PER_CLIENT
            responses = await send_views(https, crowded, headers, ips)
            assert [r.status_code for r in responses] == [201] * len(ips), {
                r.status_code: r.text for r in responses if r.status_code != 201
            }
            for http in https:
                report = (await http.get(f"/media/{crowded}/analytics", headers=headers)).json()
                assert (report["total_views"], report["unique_ips"]) == (1000, CLIENTS)
                assert sum(report["views_per_day"].values()) == 1000

            # One address, 40 views at once across both: exactly 30 get through.
            burst = await send_views(https, limited, headers, ["198.51.100.7"] * 40)
            statuses = sorted(r.status_code for r in burst)
            assert statuses == [201] * 30 + [429] * 10
            for refused in (r for r in burst if r.status_code == 429):
                assert 1 <= int(refused.headers["Retry-After"]) <= 60
                assert refused.headers["RateLimit-Policy"] == '"views";q=30;w=60'
            for http in https:  # the 31st is refused on either process
                again = await http.post(
                    f"/media/{limited}/view",
                    headers={**headers, "X-Forwarded-For": "198.51.100.7"},
                )
                assert again.status_code == 429
                assert int(again.headers["Retry-After"]) >= 1

            # A view acknowledged by one process is in the next read on the other.
            url = f"/media/{limited}/analytics"
            for n, (writer, reader) in enumerate(((0, 1), (1, 0), (0, 1))):
                before = (await https[reader].get(url, headers=headers)).json()["total_views"]
                fresh_ip = {**headers, "X-Forwarded-For": f"198.51.100.{200 + n}"}
                posted = await https[writer].post(f"/media/{limited}/view", headers=fresh_ip)
                assert posted.status_code == 201
                after = (await https[reader].get(url, headers=headers)).json()["total_views"]
                assert after == before + 1
