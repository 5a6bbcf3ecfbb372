"""Media records in this process's memory, kept in catalogue order for keyset pages."""

from __future__ import annotations

from datetime import datetime

from klantroef_adapters.memory.records import InMemoryRecords
from klantroef_core.domain.media import Media
from klantroef_core.domain.media_info import MediaInfo, Poster


class InMemoryMediaRepository:
    """A :class:`~klantroef_core.ports.media_repository.MediaRepository` for one process.

    Its rows live in an :class:`~klantroef_adapters.memory.records.InMemoryRecords`
    (a new one unless given), which a view log shares as SQL tables share a
    database: deleting an item forgets its views there. Every method finishes
    without awaiting, so it is atomic within one event loop.
    """

    def __init__(self, records: InMemoryRecords | None = None) -> None:
        self._records = records if records is not None else InMemoryRecords()

    @property
    def records(self) -> InMemoryRecords:
        """The store this repository keeps its rows in; build the view log over it."""
        return self._records

    async def add(self, media: Media) -> None:
        self._records.add_media(media)

    async def get(self, media_id: str) -> Media | None:
        return self._records.get_media(media_id)

    async def list_page(self, limit: int, after: tuple[datetime, str] | None) -> list[Media]:
        return self._records.media_page(limit, after)

    async def delete(self, media_id: str) -> Media | None:
        return self._records.delete_media(media_id)

    async def set_details(self, media_id: str, info: MediaInfo, poster: Poster | None) -> bool:
        return self._records.set_media_details(media_id, info, poster)
