"""AnalyticsCache: the shipped contract once per implementation, then what only one has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.redis.analytics_cache import RedisAnalyticsCache
from klantroef_adapters.redis.client import create_redis
from klantroef_adapters.sql.engine import SqlEngine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_adapters.testing import AnalyticsCacheContract
from klantroef_adapters.testing.analytics_cache import (
    ALL_DAYS,
    JUNE,
    CountingViewLog,
    LetTtlPass,
    LoggedViews,
    a_report,
    cache_now,
    cached,
)
from klantroef_core.ports import MediaRepository
from tests.sql_engines import mariadb_engine

Views = tuple[MediaRepository, CountingViewLog]

MEMORY_TTL = 600.0
REDIS_TTL = 1.0  # real seconds: the expiry test sleeps past it


class TestInMemoryAnalyticsCache(AnalyticsCacheContract):
    @pytest.fixture
    def ticks(self) -> list[float]:
        """The cache's monotonic clock, moved by hand."""
        return [0.0]

    @pytest.fixture
    async def adapter(self, ticks: list[float]) -> InMemoryAnalyticsCache:
        return InMemoryAnalyticsCache(ttl=MEMORY_TTL, monotonic=lambda: ticks[0])

    @pytest.fixture
    def let_ttl_pass(self, ticks: list[float]) -> LetTtlPass:
        async def let_pass() -> None:
            ticks[0] += MEMORY_TTL

        return let_pass


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = create_redis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.mark.redis
class TestRedisAnalyticsCache(AnalyticsCacheContract):
    """Checked against a view log in this process's memory."""

    @pytest.fixture
    def views(self) -> Views:
        media = InMemoryMediaRepository()
        return media, InMemoryViewLog(media)

    @pytest.fixture
    def log(self, views: Views) -> LoggedViews:
        return LoggedViews(*views)

    @pytest.fixture
    async def adapter(self, redis_client: Redis, views: Views) -> RedisAnalyticsCache:
        return RedisAnalyticsCache(redis_client, prefix="test:", ttl=REDIS_TTL, totals=views[1])

    @pytest.fixture
    def let_ttl_pass(self) -> LetTtlPass:
        async def let_pass() -> None:
            await asyncio.sleep(REDIS_TTL + 0.1)

        return let_pass

    @pytest.fixture
    async def unreachable_adapter(self) -> AsyncIterator[RedisAnalyticsCache]:
        client = create_redis("redis://127.0.0.1:1/0")
        try:
            yield RedisAnalyticsCache(client)
        finally:
            await client.aclose()


@pytest.mark.redis
@pytest.mark.mariadb
class TestRedisAnalyticsCacheOnMariadb(TestRedisAnalyticsCache):
    """As deployed: checked against the SQL view log's totals on MariaDB."""

    @pytest.fixture
    async def engine(self) -> AsyncIterator[SqlEngine]:
        async with mariadb_engine() as engine:
            yield engine

    @pytest.fixture
    def views(self, engine: SqlEngine) -> Views:
        return SqlMediaRepository(engine), SqlViewLog(engine)


# --- what only one implementation has -------------------------------------------------------


@pytest.mark.redis
async def test_a_lost_redis_generation_key_does_not_revive_an_old_report(
    redis_client: Redis,
) -> None:
    cache = RedisAnalyticsCache(redis_client, prefix="test:")
    await cache_now(cache, a_report(total=3), ALL_DAYS)
    await cache.invalidate("m1")
    await redis_client.delete("test:analytics:{m1}:generation")  # expired or evicted

    assert await cached(cache, "m1", ALL_DAYS) is None
    await cache_now(cache, a_report(total=4), ALL_DAYS)
    assert await cached(cache, "m1", ALL_DAYS) == a_report(total=4)


@pytest.mark.redis
async def test_a_redis_generation_key_outlives_the_reports_stored_at_it(
    redis_client: Redis,
) -> None:
    cache = RedisAnalyticsCache(redis_client, prefix="test:", ttl=60.0, generation_ttl=120.0)
    await cache_now(cache, a_report(), JUNE)

    entry_ttl = await redis_client.pttl("test:analytics:{m1}:report:2024-06-01:2024-06-30")
    generation_ttl = await redis_client.pttl("test:analytics:{m1}:generation")

    assert 0 < entry_ttl <= 60_000 < generation_ttl <= 120_000


async def test_the_in_memory_cache_drops_the_least_recently_used_report_when_full() -> None:
    cache = InMemoryAnalyticsCache(max_entries=2)
    for media_id in ("m1", "m2"):
        await cache_now(cache, a_report(media_id), ALL_DAYS)
    await cached(cache, "m1", ALL_DAYS)  # m2 is now the least recently used

    await cache_now(cache, a_report("m3"), ALL_DAYS)

    assert await cached(cache, "m2", ALL_DAYS) is None
    assert await cached(cache, "m1", ALL_DAYS) == a_report("m1")
    assert await cached(cache, "m3", ALL_DAYS) == a_report("m3")
    # Never more than two: a fourth report pushes out the least recently used (m1).
    await cache_now(cache, a_report("m4"), ALL_DAYS)
    served = [m for m in ("m1", "m2", "m3", "m4") if await cached(cache, m, ALL_DAYS)]
    assert served == ["m3", "m4"]
