"""The media rows and view aggregates of one process, shared like one SQL database."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from klantroef_core.domain.media import Media
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import AlreadyExists, UnknownMedia

_Key = tuple[datetime, str]


@dataclass(slots=True)
class _Aggregates:
    """What is kept about one media item's views: the total, the days, the clients."""

    total: int = 0
    days: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    clients: set[str] = field(default_factory=set)


class InMemoryRecords:
    """The store an :class:`~klantroef_adapters.memory.media_repository.InMemoryMediaRepository`
    and an :class:`~klantroef_adapters.memory.view_log.InMemoryViewLog` share, as the SQL
    adapters share one database.

    It keeps the schema's two links between the tables: a view of an item that is
    not here is refused with :class:`~klantroef_core.errors.UnknownMedia` (the foreign
    key), and deleting an item drops what was logged about it (the cascade). No
    method awaits, so each is atomic within one event loop. Build one and hand it to
    both adapters, or build the view log over the repository, which passes its own on.
    """

    def __init__(self) -> None:
        self._media: dict[str, Media] = {}
        self._order: list[_Key] = []  # ascending (created_at, id)
        self._storage_keys: set[str] = set()
        self._views: dict[str, _Aggregates] = {}

    # --- the media table ---

    def add_media(self, media: Media) -> None:
        """Insert ``media``; AlreadyExists if its id or storage key is taken."""
        if media.id in self._media or media.storage_key in self._storage_keys:
            raise AlreadyExists(f"media {media.id}")
        self._media[media.id] = media
        self._storage_keys.add(media.storage_key)
        bisect.insort(self._order, (media.created_at, media.id))

    def get_media(self, media_id: str) -> Media | None:
        """The item with this id, or None."""
        return self._media.get(media_id)

    def media_page(self, limit: int, after: _Key | None) -> list[Media]:
        """Up to ``limit`` items, newest first by ``(created_at, id)``, strictly after ``after``."""
        if limit <= 0:
            return []
        end = len(self._order) if after is None else bisect.bisect_left(self._order, after)
        keys = self._order[max(0, end - limit) : end]
        return [self._media[media_id] for _, media_id in reversed(keys)]

    def delete_media(self, media_id: str) -> Media | None:
        """Delete the item and everything logged about it; return what was deleted."""
        media = self._media.pop(media_id, None)
        if media is None:
            return None
        self._storage_keys.discard(media.storage_key)
        self._order.remove((media.created_at, media.id))
        self._views.pop(media_id, None)
        return media

    # --- the view log and its aggregates ---

    def add_view(self, view: View) -> None:
        """Count ``view``; UnknownMedia if its item is not here."""
        if view.media_id not in self._media:
            raise UnknownMedia(view.media_id)
        aggregates = self._views.setdefault(view.media_id, _Aggregates())
        aggregates.total += 1
        aggregates.days[view.viewed_at.astimezone(UTC).date()] += 1
        aggregates.clients.add(view.client)

    def total_views(self, media_id: str) -> int | None:
        """How many views of ``media_id`` are counted; None if the item is not here."""
        if media_id not in self._media:
            return None
        aggregates = self._views.get(media_id)
        return 0 if aggregates is None else aggregates.total

    def report(self, media_id: str, days: DayRange) -> Analytics:
        """The totals of ``media_id`` (zeros if nothing is logged), per-day within ``days``."""
        aggregates = self._views.get(media_id)
        if aggregates is None:
            return Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())
        return Analytics(
            media_id,
            total_views=aggregates.total,
            unique_ips=len(aggregates.clients),
            views_per_day=tuple(
                sorted((d, n) for d, n in aggregates.days.items() if days.contains(d))
            ),
        )
