"""The AnalyticsCache contract, run unchanged against every implementation.

To add an implementation, add a factory to ``FACTORIES``: it gets the pytest
request (to reach fixtures) and returns an async context manager that yields a
:class:`Backend`, which makes empty caches with a given TTL and lets time pass
for them (a fake clock where one can be injected, a real sleep otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date

import pytest

from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.redis.analytics_cache import RedisAnalyticsCache
from klantroef_adapters.redis.client import create_redis
from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.errors import Unavailable
from klantroef_core.ports.analytics_cache import AnalyticsCache


@dataclass(frozen=True, slots=True)
class Backend:
    """Makes caches of one implementation that share its store and its notion of time."""

    make: Callable[[float], AnalyticsCache]
    let_pass: Callable[[float], Awaitable[None]]


Factory = Callable[[pytest.FixtureRequest], AbstractAsyncContextManager[Backend]]


@asynccontextmanager
async def in_memory() -> AsyncIterator[Backend]:
    clock = [0.0]

    async def let_pass(seconds: float) -> None:
        clock[0] += seconds

    yield Backend(lambda ttl: InMemoryAnalyticsCache(ttl=ttl, monotonic=lambda: clock[0]), let_pass)


@asynccontextmanager
async def in_redis(url: str) -> AsyncIterator[Backend]:
    client = create_redis(url)
    try:
        yield Backend(
            lambda ttl: RedisAnalyticsCache(client, prefix="test:", ttl=ttl), asyncio.sleep
        )
    finally:
        await client.aclose()


FACTORIES: dict[str, Factory] = {
    "memory": lambda request: in_memory(),
    "redis": lambda request: in_redis(request.getfixturevalue("redis_url")),
}
MARKS = {"redis": pytest.mark.redis, "mariadb": pytest.mark.mariadb}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in FACTORIES])
def open_backend(request: pytest.FixtureRequest) -> AbstractAsyncContextManager[Backend]:
    """Each implementation in turn (resolved here: async fixtures cannot ask for fixtures)."""
    return FACTORIES[request.param](request)


@pytest.fixture
async def backend(open_backend: AbstractAsyncContextManager[Backend]) -> AsyncIterator[Backend]:
    async with open_backend as opened:
        yield opened


@pytest.fixture
def cache(backend: Backend) -> AnalyticsCache:
    return backend.make(600.0)


ALL_DAYS = DayRange()
JUNE = DayRange(date(2024, 6, 1), date(2024, 6, 30))


def report(media_id: str = "m1", total: int = 3) -> Analytics:
    return Analytics(
        media_id=media_id,
        total_views=total,
        unique_ips=2,
        views_per_day=((date(2024, 6, 1), total - 1), (date(2024, 6, 3), 1)),
    )


async def cache_now(cache: AnalyticsCache, analytics: Analytics, days: DayRange) -> None:
    """What a reader does: take the generation, then store at it."""
    await cache.put(analytics, days, await cache.generation(analytics.media_id))


async def test_an_empty_cache_misses(cache: AnalyticsCache) -> None:
    assert await cache.get("m1", ALL_DAYS) is None


async def test_a_stored_report_comes_back_equal(cache: AnalyticsCache) -> None:
    await cache_now(cache, report(), ALL_DAYS)

    cached = await cache.get("m1", ALL_DAYS)

    assert cached == report()
    assert cached is not None
    assert all(type(day) is date for day, _ in cached.views_per_day)


async def test_a_report_with_no_views_round_trips(cache: AnalyticsCache) -> None:
    empty = Analytics(media_id="m1", total_views=0, unique_ips=0, views_per_day=())
    await cache_now(cache, empty, ALL_DAYS)

    assert await cache.get("m1", ALL_DAYS) == empty


async def test_different_day_ranges_are_cached_separately(cache: AnalyticsCache) -> None:
    await cache_now(cache, report(total=9), ALL_DAYS)
    await cache_now(cache, report(total=4), JUNE)

    assert await cache.get("m1", ALL_DAYS) == report(total=9)
    assert await cache.get("m1", JUNE) == report(total=4)
    assert await cache.get("m1", DayRange(first=date(2024, 6, 1))) is None


async def test_media_are_cached_separately(cache: AnalyticsCache) -> None:
    await cache_now(cache, report("m1"), ALL_DAYS)

    assert await cache.get("m2", ALL_DAYS) is None


async def test_invalidating_kills_every_report_of_the_media(cache: AnalyticsCache) -> None:
    await cache_now(cache, report("m1"), ALL_DAYS)
    await cache_now(cache, report("m1"), JUNE)
    await cache_now(cache, report("m2"), ALL_DAYS)

    await cache.invalidate("m1")

    assert await cache.get("m1", ALL_DAYS) is None
    assert await cache.get("m1", JUNE) is None
    assert await cache.get("m2", ALL_DAYS) == report("m2")


async def test_invalidating_moves_the_generation_on(cache: AnalyticsCache) -> None:
    before = await cache.generation("m1")

    await cache.invalidate("m1")

    assert await cache.generation("m1") != before


async def test_a_report_computed_before_an_invalidation_is_not_stored(
    cache: AnalyticsCache,
) -> None:
    stale_generation = await cache.generation("m1")
    await cache.invalidate("m1")  # a view lands while the reader computes

    await cache.put(report(), ALL_DAYS, stale_generation)

    assert await cache.get("m1", ALL_DAYS) is None


async def test_a_stale_put_does_not_replace_a_fresh_report(cache: AnalyticsCache) -> None:
    stale_generation = await cache.generation("m1")
    await cache.invalidate("m1")
    await cache_now(cache, report(total=5), ALL_DAYS)

    await cache.put(report(total=4), ALL_DAYS, stale_generation)

    assert await cache.get("m1", ALL_DAYS) == report(total=5)


async def test_a_report_can_be_cached_again_after_an_invalidation(cache: AnalyticsCache) -> None:
    await cache_now(cache, report(total=3), ALL_DAYS)
    await cache.invalidate("m1")

    await cache_now(cache, report(total=4), ALL_DAYS)

    assert await cache.get("m1", ALL_DAYS) == report(total=4)


async def test_a_report_expires_after_the_ttl(backend: Backend) -> None:
    cache = backend.make(0.3)
    await cache_now(cache, report(), ALL_DAYS)
    assert await cache.get("m1", ALL_DAYS) == report()

    await backend.let_pass(0.4)

    assert await cache.get("m1", ALL_DAYS) is None


async def test_every_method_of_an_unreachable_redis_cache_raises_unavailable() -> None:
    client = create_redis("redis://127.0.0.1:1/0")
    cache = RedisAnalyticsCache(client)
    try:
        with pytest.raises(Unavailable):
            await cache.generation("m1")
        with pytest.raises(Unavailable):
            await cache.get("m1", ALL_DAYS)
        with pytest.raises(Unavailable):
            await cache.put(report(), ALL_DAYS, 0)
        with pytest.raises(Unavailable):
            await cache.invalidate("m1")
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_lost_redis_generation_key_does_not_revive_an_old_report(redis_url: str) -> None:
    client = create_redis(redis_url)
    cache = RedisAnalyticsCache(client, prefix="test:")
    try:
        await cache_now(cache, report(total=3), ALL_DAYS)
        await cache.invalidate("m1")
        await client.delete("test:analytics:{m1}:generation")  # expired or evicted

        assert await cache.get("m1", ALL_DAYS) is None
        await cache_now(cache, report(total=4), ALL_DAYS)
        assert await cache.get("m1", ALL_DAYS) == report(total=4)
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_redis_generation_key_outlives_the_reports_stored_at_it(redis_url: str) -> None:
    client = create_redis(redis_url)
    cache = RedisAnalyticsCache(client, prefix="test:", ttl=60.0, generation_ttl=120.0)
    try:
        await cache_now(cache, report(), JUNE)

        entry_ttl = await client.pttl("test:analytics:{m1}:report:2024-06-01:2024-06-30")
        generation_ttl = await client.pttl("test:analytics:{m1}:generation")
    finally:
        await client.aclose()

    assert 0 < entry_ttl <= 60_000 < generation_ttl <= 120_000


async def test_the_in_memory_cache_drops_the_least_recently_used_report_when_full() -> None:
    cache = InMemoryAnalyticsCache(max_entries=2)
    for media_id in ("m1", "m2"):
        await cache_now(cache, report(media_id), ALL_DAYS)
    await cache.get("m1", ALL_DAYS)

    await cache_now(cache, report("m3"), ALL_DAYS)

    assert len(cache) == 2
    assert await cache.get("m2", ALL_DAYS) is None
    assert await cache.get("m1", ALL_DAYS) == report("m1")
    assert await cache.get("m3", ALL_DAYS) == report("m3")


async def test_a_lookup_gives_the_generation_and_the_report_stored_at_it(
    cache: AnalyticsCache,
) -> None:
    missed = await cache.lookup("m1", ALL_DAYS)
    assert missed.report is None
    assert missed.generation == await cache.generation("m1")

    await cache.put(report(), ALL_DAYS, missed.generation)
    hit = await cache.lookup("m1", ALL_DAYS)
    assert hit.report == report()
    assert hit.generation == await cache.generation("m1")

    await cache.invalidate("m1")
    after = await cache.lookup("m1", ALL_DAYS)
    assert after.report is None
    assert after.generation != hit.generation
    await cache.put(report(total=3), ALL_DAYS, hit.generation)  # a racing, stale reader
    assert (await cache.lookup("m1", ALL_DAYS)).report is None
