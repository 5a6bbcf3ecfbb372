"""Where media records live."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from klantroef_core.domain.media import Media
from klantroef_core.domain.media_info import MediaInfo, Poster


class MediaRepository(Protocol):
    """Media records, and (on delete) what the view log holds about them.

    Promises (each checked by ``klantroef_adapters.testing.MediaRepositoryContract``):

    - An added item comes back equal, its time to the microsecond (in UTC when
      given in UTC) and as the same instant whatever zone it was given in.
    - An unknown id, or one that differs only in case or trailing spaces, finds
      nothing; a malformed id (empty, too long, not ASCII, an injection attempt)
      finds and deletes nothing and raises nothing.
    - ``add`` raises :class:`~klantroef_core.errors.AlreadyExists` for a taken id or
      storage key, and keeps the stored item.
    - ``list_page`` returns pages newest first by ``(created_at, id)``, each
      strictly after its cursor, so walking the cursors yields every item once
      (equal timestamps order by id, descending); an empty catalogue and a zero
      limit give an empty page.
    - ``delete`` returns the deleted item, then forgets it (a second delete gives
      None), together with every view logged about it and only its views: an item
      added again starts from zero, and views racing a delete leave nothing counted.
    - An item's ``info`` and ``poster`` (None, or every field of them) come back
      equal; ``set_details`` replaces both on an existing item (True), changes
      nothing else, and is False for an unknown or malformed id.
    - When the store cannot be reached, every method raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def add(self, media: Media) -> None:
        """Insert ``media``; :class:`~klantroef_core.errors.AlreadyExists` if its id or storage key is taken."""
        ...

    async def get(self, media_id: str) -> Media | None:
        """The media with this id, or None (also for ids that are not well formed)."""
        ...

    async def list_page(self, limit: int, after: tuple[datetime, str] | None) -> list[Media]:
        """Up to ``limit`` items, newest first by ``(created_at, id)``, strictly after ``after``.

        One query, whatever the page size.
        """
        ...

    async def set_details(self, media_id: str, info: MediaInfo, poster: Poster | None) -> bool:
        """Store what probing found for an item; False if there is no such item."""
        ...

    async def delete(self, media_id: str) -> Media | None:
        """Delete the record and everything logged about it; return what was deleted, or None."""
        ...
