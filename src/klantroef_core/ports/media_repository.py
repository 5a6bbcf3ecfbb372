"""Where media records live."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from klantroef_core.domain.media import Media


class MediaRepository(Protocol):
    """Media records. Raises :class:`~klantroef_core.errors.Unavailable` when unreachable."""

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

    async def delete(self, media_id: str) -> Media | None:
        """Delete the record and everything logged about it; return what was deleted, or None."""
        ...
