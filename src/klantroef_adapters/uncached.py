"""No analytics cache at all: every report is read from the view log's aggregates."""

from __future__ import annotations

from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.ports.analytics_cache import CacheLookup


class NoAnalyticsCache:
    """An :class:`~klantroef_core.ports.analytics_cache.AnalyticsCache` that keeps nothing.

    ``lookup`` always misses and ``put`` stores nothing, so every
    ``GetAnalytics`` reads the view log's aggregates (one query, O(days)) and
    every process sees every committed view at once; the generation is always 0
    and ``invalidate`` has nothing to kill. The port's promise (never serve a
    report computed before an invalidation) holds trivially: nothing is served.

    Wired on MySQL/MariaDB without Redis, where a per-process cache would be
    stale on the other processes. A cache in the database instead was measured
    against it there (a report of a media item with views on each of 365 days):
    a hit cost about 1.4-3 ms against 12-17 ms for reading the aggregates, but
    every view would pay an extra transaction to bump the generation (about 4-6
    ms, a commit), and a read right after a view misses anyway and pays a second
    write to store the report. Views are the hot path, analytics reads an
    admin's, so no cache wins.
    """

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        return CacheLookup(0, None)

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        return None

    async def invalidate(self, media_id: str) -> None:
        return None
