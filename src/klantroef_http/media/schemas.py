"""Media bodies on the wire (msgspec structs, snake_case JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import msgspec

from klantroef_core.domain.media import Media, MediaPage


class MediaOut(msgspec.Struct):
    """A media item as clients see it (never its storage key or hash)."""

    id: str
    title: str
    type: Literal["video", "audio"]
    content_type: str
    size_bytes: int
    created_at: datetime
    uploaded_by: str

    @classmethod
    def of(cls, media: Media) -> MediaOut:
        return cls(
            id=media.id,
            title=media.title,
            type="video" if media.type.value == "video" else "audio",
            content_type=media.content_type,
            size_bytes=media.size_bytes,
            created_at=media.created_at.astimezone(UTC),
            uploaded_by=media.uploaded_by,
        )


class MediaPageOut(msgspec.Struct):
    """One catalogue page, newest first; ``next_cursor`` is null on the last page."""

    items: list[MediaOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: MediaPage) -> MediaPageOut:
        return cls(items=[MediaOut.of(item) for item in page.items], next_cursor=page.next_cursor)


class StreamUrlOut(msgspec.Struct):
    """A signed, absolute stream link, its token alone, the moment it stops working, and
    the page that plays it (``play_url``: HTML for a person, with the same token), and its
    HLS playlist (``hls_url``, same token) when the item is H.264/AAC: absent otherwise."""

    url: str
    token: str
    expires_at: datetime
    play_url: str
    hls_url: str | msgspec.UnsetType = msgspec.UNSET
