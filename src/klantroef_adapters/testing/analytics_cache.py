"""The AnalyticsCache contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.errors import Unavailable
from klantroef_core.ports import AnalyticsCache

ALL_DAYS = DayRange()
JUNE = DayRange(date(2024, 6, 1), date(2024, 6, 30))

LetTtlPass = Callable[[], Awaitable[None]]


def a_report(media_id: str = "m1", total: int = 3) -> Analytics:
    """A report with two days, so day handling is exercised."""
    return Analytics(
        media_id=media_id,
        total_views=total,
        unique_ips=2,
        views_per_day=((date(2024, 6, 1), total - 1), (date(2024, 6, 3), 1)),
    )


async def cached(cache: AnalyticsCache, media_id: str, days: DayRange) -> Analytics | None:
    """What a reader would be served now."""
    return (await cache.lookup(media_id, days)).report


async def cache_now(cache: AnalyticsCache, report: Analytics, days: DayRange) -> None:
    """What a reader does: look up the generation, then store at it."""
    found = await cache.lookup(report.media_id, days)
    await cache.put(report, days, found.generation)


class AnalyticsCacheContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.AnalyticsCache`, one test (or more) each.

    Subclass it as ``Test<YourCache>`` and provide:

    - ``adapter``: an async fixture giving a fresh, empty cache;
    - ``let_ttl_pass``: a fixture giving an async callable with no arguments that
      lets the adapter's entry TTL pass (advance the clock the cache was built
      with, or sleep past a short TTL);
    - optionally ``unreachable_adapter`` (see :class:`ContractBase`).
    """

    # --- an empty cache misses ---

    async def test_an_empty_cache_misses(self, adapter: AnalyticsCache) -> None:
        assert await cached(adapter, "m1", ALL_DAYS) is None

    # --- a stored report comes back equal (days as dates), an empty one too ---

    async def test_a_stored_report_comes_back_equal(self, adapter: AnalyticsCache) -> None:
        await cache_now(adapter, a_report(), ALL_DAYS)

        found = await cached(adapter, "m1", ALL_DAYS)

        assert found == a_report()
        assert found is not None
        assert all(type(day) is date for day, _ in found.views_per_day)

    async def test_a_report_with_no_views_round_trips(self, adapter: AnalyticsCache) -> None:
        empty = Analytics(media_id="m1", total_views=0, unique_ips=0, views_per_day=())
        await cache_now(adapter, empty, ALL_DAYS)

        assert await cached(adapter, "m1", ALL_DAYS) == empty

    # --- reports are kept apart per media and per day range ---

    async def test_different_day_ranges_are_cached_separately(
        self, adapter: AnalyticsCache
    ) -> None:
        await cache_now(adapter, a_report(total=9), ALL_DAYS)
        await cache_now(adapter, a_report(total=4), JUNE)

        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=9)
        assert await cached(adapter, "m1", JUNE) == a_report(total=4)
        assert await cached(adapter, "m1", DayRange(first=date(2024, 6, 1))) is None

    async def test_media_are_cached_separately(self, adapter: AnalyticsCache) -> None:
        await cache_now(adapter, a_report("m1"), ALL_DAYS)

        assert await cached(adapter, "m2", ALL_DAYS) is None

    # --- invalidate kills every report of that media, only of that media, and moves
    # --- the generation on

    async def test_invalidating_kills_every_report_of_the_media(
        self, adapter: AnalyticsCache
    ) -> None:
        await cache_now(adapter, a_report("m1"), ALL_DAYS)
        await cache_now(adapter, a_report("m1"), JUNE)
        await cache_now(adapter, a_report("m2"), ALL_DAYS)

        await adapter.invalidate("m1")

        assert await cached(adapter, "m1", ALL_DAYS) is None
        assert await cached(adapter, "m1", JUNE) is None
        assert await cached(adapter, "m2", ALL_DAYS) == a_report("m2")

    async def test_invalidating_moves_the_generation_on(self, adapter: AnalyticsCache) -> None:
        before = (await adapter.lookup("m1", ALL_DAYS)).generation

        await adapter.invalidate("m1")

        assert (await adapter.lookup("m1", ALL_DAYS)).generation != before

    # --- a put at a generation that moved on stores nothing and replaces nothing ---

    async def test_a_report_computed_before_an_invalidation_is_not_stored(
        self, adapter: AnalyticsCache
    ) -> None:
        stale_generation = (await adapter.lookup("m1", ALL_DAYS)).generation
        await adapter.invalidate("m1")  # a view lands while the reader computes

        await adapter.put(a_report(), ALL_DAYS, stale_generation)

        assert await cached(adapter, "m1", ALL_DAYS) is None

    async def test_a_stale_put_does_not_replace_a_fresh_report(
        self, adapter: AnalyticsCache
    ) -> None:
        stale_generation = (await adapter.lookup("m1", ALL_DAYS)).generation
        await adapter.invalidate("m1")
        await cache_now(adapter, a_report(total=5), ALL_DAYS)

        await adapter.put(a_report(total=4), ALL_DAYS, stale_generation)

        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=5)

    # --- after an invalidation a report can be cached again ---

    async def test_a_report_can_be_cached_again_after_an_invalidation(
        self, adapter: AnalyticsCache
    ) -> None:
        await cache_now(adapter, a_report(total=3), ALL_DAYS)
        await adapter.invalidate("m1")

        await cache_now(adapter, a_report(total=4), ALL_DAYS)

        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=4)

    # --- lookup gives the current generation and the report stored at it ---

    async def test_a_lookup_gives_the_generation_and_the_report_stored_at_it(
        self, adapter: AnalyticsCache
    ) -> None:
        async def current_generation() -> int:
            # The generation is the media's: a lookup for any day range reads it.
            return (await adapter.lookup("m1", JUNE)).generation

        missed = await adapter.lookup("m1", ALL_DAYS)
        assert missed.report is None
        assert missed.generation == await current_generation()

        await adapter.put(a_report(), ALL_DAYS, missed.generation)
        hit = await adapter.lookup("m1", ALL_DAYS)
        assert hit.report == a_report()
        assert hit.generation == await current_generation()

        await adapter.invalidate("m1")
        after = await adapter.lookup("m1", ALL_DAYS)
        assert after.report is None
        assert after.generation != hit.generation
        await adapter.put(a_report(total=3), ALL_DAYS, hit.generation)  # a racing, stale reader
        assert (await adapter.lookup("m1", ALL_DAYS)).report is None

    # --- entries expire after the cache's TTL ---

    async def test_a_report_expires_after_the_ttl(
        self, adapter: AnalyticsCache, let_ttl_pass: LetTtlPass
    ) -> None:
        await cache_now(adapter, a_report(), ALL_DAYS)
        assert await cached(adapter, "m1", ALL_DAYS) == a_report()

        await let_ttl_pass()

        assert await cached(adapter, "m1", ALL_DAYS) is None

    # --- when the store cannot be reached, every method raises Unavailable ---

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: AnalyticsCache
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.lookup("m1", ALL_DAYS)
        with pytest.raises(Unavailable):
            await unreachable_adapter.put(a_report(), ALL_DAYS, 0)
        with pytest.raises(Unavailable):
            await unreachable_adapter.invalidate("m1")
