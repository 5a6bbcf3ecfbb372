"""The view log's aggregates in this process's memory."""

from __future__ import annotations

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.records import InMemoryRecords
from klantroef_core.domain.views import Analytics, DayRange, View


class InMemoryViewLog:
    """A :class:`~klantroef_core.ports.view_log.ViewLog` for one process.

    Built over the :class:`~klantroef_adapters.memory.records.InMemoryRecords` its
    media live in (or over their repository, which passes them on), it behaves like
    the SQL schema's foreign keys: a view of an unknown item is refused with
    :class:`~klantroef_core.errors.UnknownMedia`, and deleting an item forgets its
    views. Only the aggregates are kept (a count per day, the set of clients, the
    total), so memory follows days and clients, not views. ``record`` and
    ``report`` never await, so each is atomic within one event loop.
    """

    def __init__(self, media: InMemoryRecords | InMemoryMediaRepository) -> None:
        self._records = media.records if isinstance(media, InMemoryMediaRepository) else media

    async def record(self, view: View) -> None:
        self._records.add_view(view)

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        return self._records.report(media_id, days)

    async def total_views(self, media_id: str) -> int | None:
        """How many views of the item are logged, or None when there is no such item."""
        return self._records.total_views(media_id)
