"""A cache for analytics reports that is never stale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from klantroef_core.domain.views import Analytics, DayRange


@dataclass(frozen=True, slots=True)
class CacheLookup:
    """The media's current generation and the report stored at it, if any."""

    generation: int
    report: Analytics | None


class AnalyticsCache(Protocol):
    """Cached reports with generations, so a racing reader cannot store a stale one.

    A reader ``lookup``s (which gives the media's current generation) *before*
    reading the log, then ``put``s with that generation; ``invalidate`` bumps the
    generation, so a report computed before an invalidation is never served after it.

    Promises (each checked by ``klantroef_adapters.testing.AnalyticsCacheContract``):

    - An empty cache misses.
    - A stored report comes back equal (days as ``date``\\ s), an empty one too.
    - Reports are kept apart per media and per day range.
    - ``invalidate`` kills every report of that media, and only of that media, and
      moves the media's generation on.
    - A ``put`` at a generation that has moved on stores nothing, and does not
      replace a report stored at the current generation.
    - After an invalidation a report can be cached again at the new generation.
    - ``lookup`` gives the current generation and the report stored at it.
    - A cache that can be unreachable never serves a report that misses a view
      the log recorded before the lookup, even when that view's ``invalidate``
      was lost (it raised :class:`~klantroef_core.errors.Unavailable`, or the
      writer died before calling it), and never serves a report of an item the
      log no longer has: such a cache checks each hit against the log (its total
      of views, bumped in each view's own transaction). A cache in the writer's
      own process cannot lose an invalidation and needs no check.
    - Entries expire after the cache's TTL.
    - When the store cannot be reached, every method raises
      :class:`~klantroef_core.errors.Unavailable` (the use case treats that as a
      miss: cache failures never fail a request).
    """

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        """The media's current generation and the report stored at it for ``days``, if any."""
        ...

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        """Store ``report`` unless the generation moved on since ``generation``."""
        ...

    async def invalidate(self, media_id: str) -> None:
        """Bump the generation: every stored report for this media is dead."""
        ...
