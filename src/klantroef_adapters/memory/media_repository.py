"""Media records in a dict, kept in catalogue order for keyset pages."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime

from klantroef_core.domain.media import Media
from klantroef_core.errors import AlreadyExists

_Key = tuple[datetime, str]


class InMemoryMediaRepository:
    """Media for one process; every method finishes without awaiting, so it is atomic in a loop.

    What the SQL foreign keys do on delete is done here by listeners: an
    :class:`~klantroef_adapters.memory.view_log.InMemoryViewLog` built over this
    repository forgets a media item's views when the item is deleted.
    """

    def __init__(self) -> None:
        self._items: dict[str, Media] = {}
        self._order: list[_Key] = []  # ascending (created_at, id)
        self._storage_keys: set[str] = set()
        self._on_delete: list[Callable[[str], None]] = []

    def on_delete(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(media_id)`` after each delete (the SQL schema's cascade)."""
        self._on_delete.append(listener)

    def contains(self, media_id: str) -> bool:
        """Whether an item with this id exists (the foreign-key check of the SQL schema)."""
        return media_id in self._items

    async def add(self, media: Media) -> None:
        if media.id in self._items:
            raise AlreadyExists(f"media {media.id}")
        if media.storage_key in self._storage_keys:
            raise AlreadyExists(f"media {media.id}")
        self._items[media.id] = media
        self._storage_keys.add(media.storage_key)
        bisect.insort(self._order, (media.created_at, media.id))

    async def get(self, media_id: str) -> Media | None:
        return self._items.get(media_id)

    async def list_page(self, limit: int, after: tuple[datetime, str] | None) -> list[Media]:
        if limit <= 0:
            return []
        end = len(self._order) if after is None else bisect.bisect_left(self._order, after)
        keys = self._order[max(0, end - limit) : end]
        return [self._items[media_id] for _, media_id in reversed(keys)]

    async def delete(self, media_id: str) -> Media | None:
        media = self._items.pop(media_id, None)
        if media is None:
            return None
        self._storage_keys.discard(media.storage_key)
        self._order.remove((media.created_at, media.id))
        for listener in self._on_delete:
            listener(media_id)
        return media
