"""Analytics reports cached in this process, with generations and a safety TTL."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.ports.analytics_cache import CacheLookup

DEFAULT_TTL = 600.0
DEFAULT_MAX_ENTRIES = 10_000

_EntryKey = tuple[str, date | None, date | None]


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int
    report: Analytics
    expires: float


class InMemoryAnalyticsCache:
    """An :class:`~klantroef_core.ports.analytics_cache.AnalyticsCache` for a single process.

    Entries are keyed by media and day range and remember the generation they were
    computed at; ``invalidate`` bumps the media's generation, which kills them all at
    once. At most ``max_entries`` reports are kept (least recently used go first), each
    for ``ttl`` seconds of ``monotonic`` time. No method awaits, so each is atomic
    within one event loop.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("the cache needs a positive ttl and room for one entry")
        self._ttl = ttl
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._generations: dict[str, int] = {}
        self._entries: OrderedDict[_EntryKey, _Entry] = OrderedDict()

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        generation = self._generations.get(media_id, 0)
        key = (media_id, days.first, days.last)
        entry = self._entries.get(key)
        if entry is None:
            return CacheLookup(generation, None)
        if entry.generation != generation or entry.expires <= self._monotonic():
            del self._entries[key]
            return CacheLookup(generation, None)
        self._entries.move_to_end(key)
        return CacheLookup(generation, entry.report)

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        if generation != self._generations.get(report.media_id, 0):
            return
        key = (report.media_id, days.first, days.last)
        self._entries[key] = _Entry(generation, report, self._monotonic() + self._ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def invalidate(self, media_id: str) -> None:
        self._generations[media_id] = self._generations.get(media_id, 0) + 1
