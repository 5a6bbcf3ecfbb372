"""What sharing state through the database costs one process on MariaDB without Redis.

Times, through the real container (``bootstrap``) against a private MariaDB
database, with nothing else in the way (no HTTP, no server):

- ``hit``: 2,000 sequential ``RateLimiter.hit`` calls (100 keys, 20 hits each,
  all within the view rate), as the container wires the limiter;
- ``record_view``: 2,000 sequential ``RecordView`` calls of one item, each from
  a new client address (so each one's limiter key is new, as in the view case
  of the HTTP benchmark);
- ``analytics``: 200 sequential ``GetAnalytics`` reads of an item with views on
  each of 365 days, with a view recorded before each read (so a cache, if any,
  is always invalidated: the case "analytics equal on every process after
  every view" is about), and 200 reads without views in between.

Run: ``.venv/bin/python -m benchmarks.shared_state [--database-url URL]``; the
database named in the URL (default ``klantroef_shared_bench``) is dropped and
re-created. A ``sqlite:///FILE`` URL measures the embedded default instead
(the file is deleted first).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from klantroef_adapters.migrate import upgrade
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.tables import view_days, view_totals
from klantroef_app.container import bootstrap, close
from klantroef_app.settings import Settings
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.rates import Rate
from klantroef_core.use_cases.views import ALL_DAYS

DEFAULT_URL = "mysql+asyncmy://root@127.0.0.1:3306/klantroef_shared_bench"
HITS = 2_000
VIEWS = 2_000
READS = 200
DAYS = 365


async def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        await asyncio.to_thread(upgrade, url)
        return
    server = create_async_engine(parsed.set(database=""))
    try:
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
            await conn.execute(text(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4"))
    finally:
        await server.dispose()
    await asyncio.to_thread(upgrade, url)


def a_media(media_id: str) -> Media:
    return Media(
        id=media_id,
        title="Benchmark",
        type=MediaType.VIDEO,
        content_type="video/mp4",
        size_bytes=1,
        sha256="0" * 64,
        storage_key=f"{media_id}.bin",
        created_at=datetime.now(UTC),
        uploaded_by="00000000-0000-0000-0000-000000000000",
    )


async def timed(label: str, count: int, step: Callable[[int], Awaitable[object]]) -> float:
    """Run ``step(0..count-1)`` in sequence; print the mean wall and CPU time, return the wall."""
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        await step(n)
    wall = (time.perf_counter() - start) / count * 1e6
    used = (time.process_time() - cpu) / count * 1e6
    print(f"{label:<40} {count:>5} x {wall:7.0f} µs wall {used:7.0f} µs CPU")
    return wall


async def main(url: str) -> None:
    await fresh_database(url)
    container = bootstrap(Settings(database_url=url))
    try:
        engine = container.engine()
        media = SqlMediaRepository(engine)
        viewed, reported = (
            a_media("11111111-1111-1111-1111-111111111111"),
            a_media("22222222-2222-2222-2222-222222222222"),
        )
        await media.add(viewed)
        await media.add(reported)
        today = datetime.now(UTC).date()
        async with engine.begin() as conn:
            await conn.execute(
                insert(view_days),
                [
                    {"media_id": reported.id, "day": today - timedelta(days=d), "views": 3}
                    for d in range(DAYS)
                ],
            )
            await conn.execute(
                insert(view_totals).values(
                    media_id=reported.id, total_views=3 * DAYS, unique_clients=DAYS
                )
            )
        print(
            f"limiter: {type(container.rate_limiter()).__name__}, "
            f"cache: {type(container.analytics_cache()).__name__}"
        )
        limiter = container.rate_limiter()
        rate = Rate(30, 60.0)
        now = time.time()
        await timed(
            "RateLimiter.hit (100 keys x 20)",
            HITS,
            lambda n: limiter.hit(f"bench:{n % 100}", rate, now + n / 1000),
        )
        record_view = container.record_view()
        await timed(
            "RecordView (a new client each)",
            VIEWS,
            lambda n: record_view(viewed.id, f"10.0.{n // 256}.{n % 256}"),
        )
        get_analytics = container.get_analytics()
        report = await get_analytics(reported.id, ALL_DAYS)
        assert len(report.views_per_day) == DAYS

        async def view_then_read(n: int) -> None:
            await record_view(reported.id, f"10.1.{n // 256}.{n % 256}")
            await get_analytics(reported.id, ALL_DAYS)

        await timed("RecordView + GetAnalytics (365 days)", READS, view_then_read)
        await timed(
            "GetAnalytics alone (365 days)", READS, lambda n: get_analytics(reported.id, ALL_DAYS)
        )
    finally:
        await close(container)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    asyncio.run(main(parser.parse_args().database_url))
