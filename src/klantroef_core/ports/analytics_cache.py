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

    A reader takes ``generation(media_id)`` *before* reading the log, then
    ``put``s with that generation; ``invalidate`` bumps the generation, so a
    report computed before an invalidation is never served after it. Entries
    expire after a safety TTL. Cache failures must not fail requests: the use
    case treats :class:`~klantroef_core.errors.Unavailable` as a miss.
    """

    async def generation(self, media_id: str) -> int:
        """The media's current generation."""
        ...

    async def get(self, media_id: str, days: DayRange) -> Analytics | None:
        """A report stored at the current generation, or None."""
        ...

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        """``generation`` and ``get`` together, in one round trip: what a reader needs."""
        ...

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        """Store ``report`` unless the generation moved on since ``generation``."""
        ...

    async def invalidate(self, media_id: str) -> None:
        """Bump the generation: every stored report for this media is dead."""
        ...
