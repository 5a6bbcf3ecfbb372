"""The AnalyticsCache contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Protocol

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_adapters.testing.samples import a_media, a_view
from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.errors import Unavailable
from klantroef_core.ports import AnalyticsCache, MediaRepository, ViewLog

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


class CountingViewLog(ViewLog, Protocol):
    """A view log that also tells its total per item (what a shared cache checks)."""

    async def total_views(self, media_id: str) -> int | None: ...


class LoggedViews:
    """The view log behind a cache under test, moved by hand: ``holds`` records views
    until the log counts ``total`` of an item (adding the item first if needed), and
    ``forgets`` deletes the item. Build it over the media repository and view log
    your cache checks its hits against."""

    def __init__(self, media: MediaRepository, views: CountingViewLog) -> None:
        self._media = media
        self._views = views

    async def holds(self, media_id: str, total: int) -> None:
        counted = await self._views.total_views(media_id)
        if counted is None:
            await self._media.add(a_media(media_id=media_id))
            counted = 0
        if counted > total:
            raise ValueError(f"the log already counts {counted} views of {media_id}")
        for n in range(total - counted):
            await self._views.record(a_view(media_id, client=f"198.51.100.{n % 250}"))

    async def forgets(self, media_id: str) -> None:
        await self._media.delete(media_id)


async def logged(log: LoggedViews | None, report: Analytics) -> None:
    """Make the log agree with ``report`` (nothing to do for a cache that never checks)."""
    if log is not None:
        await log.holds(report.media_id, report.total_views)


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
    - optionally ``unreachable_adapter`` (see :class:`ContractBase`);
    - ``log``: for a cache that can be unreachable (shared by processes), a
      :class:`LoggedViews` over the view log the cache checks its hits against;
      the contract then also checks that a view whose invalidation was lost, and an
      item gone from the log, are never served stale. Leave it out (None) only for
      a cache that lives in the writer's process and so cannot lose an invalidation.
    """

    @pytest.fixture
    def log(self) -> LoggedViews | None:
        return None

    # --- an empty cache misses ---

    async def test_an_empty_cache_misses(self, adapter: AnalyticsCache) -> None:
        assert await cached(adapter, "m1", ALL_DAYS) is None

    # --- a stored report comes back equal (days as dates), an empty one too ---

    async def test_a_stored_report_comes_back_equal(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report())
        await cache_now(adapter, a_report(), ALL_DAYS)

        found = await cached(adapter, "m1", ALL_DAYS)

        assert found == a_report()
        assert found is not None
        assert all(type(day) is date for day, _ in found.views_per_day)

    async def test_a_report_with_no_views_round_trips(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        empty = Analytics(media_id="m1", total_views=0, unique_ips=0, views_per_day=())
        await logged(log, empty)
        await cache_now(adapter, empty, ALL_DAYS)

        assert await cached(adapter, "m1", ALL_DAYS) == empty

    # --- reports are kept apart per media and per day range ---

    async def test_different_day_ranges_are_cached_separately(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        # A range narrows the days, never the totals.
        june = Analytics("m1", total_views=9, unique_ips=2, views_per_day=((date(2024, 6, 3), 1),))
        await logged(log, a_report(total=9))
        await cache_now(adapter, a_report(total=9), ALL_DAYS)
        await cache_now(adapter, june, JUNE)

        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=9)
        assert await cached(adapter, "m1", JUNE) == june
        assert await cached(adapter, "m1", DayRange(first=date(2024, 6, 1))) is None

    async def test_media_are_cached_separately(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report("m1"))
        await logged(log, a_report("m2"))
        await cache_now(adapter, a_report("m1"), ALL_DAYS)

        assert await cached(adapter, "m2", ALL_DAYS) is None

    # --- invalidate kills every report of that media, only of that media, and moves
    # --- the generation on

    async def test_invalidating_kills_every_report_of_the_media(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report("m1"))
        await logged(log, a_report("m2"))
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
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report(total=5))
        stale_generation = (await adapter.lookup("m1", ALL_DAYS)).generation
        await adapter.invalidate("m1")
        await cache_now(adapter, a_report(total=5), ALL_DAYS)

        await adapter.put(a_report(total=4), ALL_DAYS, stale_generation)

        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=5)

    # --- after an invalidation a report can be cached again ---

    async def test_a_report_can_be_cached_again_after_an_invalidation(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report(total=3))
        await cache_now(adapter, a_report(total=3), ALL_DAYS)
        await logged(log, a_report(total=4))
        await adapter.invalidate("m1")

        await cache_now(adapter, a_report(total=4), ALL_DAYS)

        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=4)

    # --- lookup gives the current generation and the report stored at it ---

    async def test_a_lookup_gives_the_generation_and_the_report_stored_at_it(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report())

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

    # --- a cache that can be unreachable checks its hits against the log ---

    async def test_a_view_whose_invalidation_was_lost_kills_the_report(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        if log is None:
            pytest.skip("no log: this cache lives in the writer's process")
        await logged(log, a_report(total=3))
        await cache_now(adapter, a_report(total=3), ALL_DAYS)
        await cache_now(adapter, a_report(total=3), JUNE)

        await log.holds("m1", 4)  # a view lands; its invalidate never reaches the cache

        assert await cached(adapter, "m1", ALL_DAYS) is None
        assert await cached(adapter, "m1", JUNE) is None
        await cache_now(adapter, a_report(total=4), ALL_DAYS)  # and the next report is kept
        assert await cached(adapter, "m1", ALL_DAYS) == a_report(total=4)

    async def test_a_report_of_an_item_gone_from_the_log_is_not_served(
        self, adapter: AnalyticsCache, log: LoggedViews | None
    ) -> None:
        if log is None:
            pytest.skip("no log: this cache lives in the writer's process")
        await logged(log, a_report())
        await cache_now(adapter, a_report(), ALL_DAYS)

        await log.forgets("m1")  # deleted; the cache was never told

        assert await cached(adapter, "m1", ALL_DAYS) is None

    # --- entries expire after the cache's TTL ---

    async def test_a_report_expires_after_the_ttl(
        self, adapter: AnalyticsCache, let_ttl_pass: LetTtlPass, log: LoggedViews | None
    ) -> None:
        await logged(log, a_report())
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
