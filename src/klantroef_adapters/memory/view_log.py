"""The view log and its aggregates in dicts and sets."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import UnknownMedia


class InMemoryViewLog:
    """Views and exact aggregates for one process.

    ``record`` and ``report`` never await, so each is atomic within one event
    loop. Built over an :class:`InMemoryMediaRepository`, it behaves like the
    SQL schema's foreign keys: a view of an unknown item is refused with
    :class:`~klantroef_core.errors.UnknownMedia`, and deleting an item forgets its
    views. Without one, any media id is accepted.
    """

    def __init__(self, media: InMemoryMediaRepository | None = None) -> None:
        self._media = media
        self._log: dict[str, list[View]] = defaultdict(list)
        self._days: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        self._clients: dict[str, set[str]] = defaultdict(set)
        if media is not None:
            media.on_delete(self.forget)

    @property
    def logged(self) -> tuple[View, ...]:
        """Every view logged and not forgotten, in the order recorded (for tests)."""
        return tuple(view for views in self._log.values() for view in views)

    def forget(self, media_id: str) -> None:
        """Drop the log and aggregates of one media item."""
        for store in (self._log, self._days, self._clients):
            store.pop(media_id, None)

    async def record(self, view: View) -> None:
        if self._media is not None and not self._media.contains(view.media_id):
            raise UnknownMedia(view.media_id)
        self._log[view.media_id].append(view)
        self._days[view.media_id][view.viewed_at.astimezone(UTC).date()] += 1
        self._clients[view.media_id].add(view.client)

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        if media_id not in self._log:
            return Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())
        per_day = self._days[media_id]
        return Analytics(
            media_id,
            total_views=len(self._log[media_id]),
            unique_ips=len(self._clients[media_id]),
            views_per_day=tuple(sorted((d, n) for d, n in per_day.items() if days.contains(d))),
        )
