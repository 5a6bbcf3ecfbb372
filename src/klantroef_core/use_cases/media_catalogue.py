"""The media catalogue: listing page by page, reading one item, deleting one."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from klantroef_core.domain.media import Media, MediaPage
from klantroef_core.errors import InvalidInput, Unavailable
from klantroef_core.ports import AnalyticsCache, MediaPackager, MediaRepository, MediaStorage
from klantroef_core.use_cases.media_lookup import media_not_found, require_media

logger = logging.getLogger("klantroef.media")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_CURSOR_LENGTH = 200


def encode_cursor(last: Media) -> str:
    """An opaque cursor for the page after ``last``: its catalogue position, URL-safe."""
    raw = json.dumps([last.created_at.isoformat(), last.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(created_at, id)`` position a cursor stands for; 422 ``bad_cursor`` if none."""
    bad = InvalidInput("cursor is not one this API handed out", code="bad_cursor")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, media_id = json.loads(raw)
        moment = datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if moment.tzinfo is None or not isinstance(media_id, str) or not media_id:
        raise bad
    return moment, media_id


@dataclass(frozen=True, slots=True)
class ListMedia:
    """The catalogue, newest first, ``limit`` (1 to 100) items a page, by keyset cursor.

    A cursor stays valid while items are added or deleted: the next page starts
    strictly after the last item seen, so nothing is repeated or skipped.
    """

    media: MediaRepository

    async def __call__(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> MediaPage:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be 1 to {MAX_PAGE_SIZE}", code="bad_limit")
        after = decode_cursor(cursor) if cursor else None
        items = await self.media.list_page(limit + 1, after)
        page = tuple(items[:limit])
        next_cursor = encode_cursor(page[-1]) if len(items) > limit else None
        return MediaPage(items=page, next_cursor=next_cursor)


@dataclass(frozen=True, slots=True)
class GetMedia:
    """One media item by id; 404 ``media_not_found`` for unknown or malformed ids."""

    media: MediaRepository

    async def __call__(self, media_id: str) -> Media:
        return await require_media(self.media, media_id)


@dataclass(frozen=True, slots=True)
class DeleteMedia:
    """Delete an item: its record and views first (its links die with the record), then its file.

    Once the record is gone the item is deleted, whatever happens next: a store that
    cannot remove the bytes just then is logged with the key (an orphan to remove by
    hand), never answered as a failure of a delete that happened.
    """

    media: MediaRepository
    storage: MediaStorage
    cache: AnalyticsCache | None = None
    packager: MediaPackager | None = None

    async def __call__(self, media_id: str) -> Media:
        item = await self.media.delete(media_id)
        if item is None:
            raise media_not_found()
        try:
            await self.storage.delete(item.storage_key)
        except Unavailable:
            logger.exception(
                "media %s is deleted but its bytes %s stay in the store", media_id, item.storage_key
            )
        if self.packager is not None:
            try:  # its HLS package goes with it
                await self.packager.delete(item)
            except Unavailable:
                logger.exception(
                    "media %s is deleted but its HLS parts stay in the store", media_id
                )
        if self.cache is not None:
            try:  # cached reports of a deleted item must not be served
                await self.cache.invalidate(media_id)
            except Unavailable:
                logger.warning("analytics cache unreachable; %s's reports expire by TTL", media_id)
        return item
