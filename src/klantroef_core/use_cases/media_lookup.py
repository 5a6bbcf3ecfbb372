"""Finding a media item, or saying it does not exist, the same way everywhere."""

from __future__ import annotations

from klantroef_core.domain.media import Media
from klantroef_core.errors import NotFound
from klantroef_core.ports import MediaRepository


def media_not_found() -> NotFound:
    """The 404 every use case gives for an unknown (or malformed, or deleted) media id."""
    return NotFound("no media item has this id", code="media_not_found")


async def require_media(media: MediaRepository, media_id: str) -> Media:
    """The item with this id; :func:`media_not_found` if there is none."""
    item = await media.get(media_id)
    if item is None:
        raise media_not_found()
    return item
