"""Media bodies on the wire (msgspec structs, snake_case JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import msgspec

from klantroef_core.domain.media import Media, MediaPage


class VideoOut(msgspec.Struct):
    """The main video stream: FFmpeg's codec name, frame size, frames a second (null if unknown)."""

    codec: str
    width: int
    height: int
    frame_rate: float | None


class AudioOut(msgspec.Struct):
    """The main audio stream: FFmpeg's codec name, channel count, samples a second."""

    codec: str
    channels: int
    sample_rate: int


class MediaOut(msgspec.Struct):
    """A media item as clients see it (never its storage key or hash).

    ``duration_seconds``, ``bit_rate``, ``container``, ``video`` and ``audio`` are what
    reading the file found; null for an item stored before files were read (until
    ``klantroef media probe`` reads it), and ``video`` or ``audio`` null when the file
    has no such stream.
    """

    id: str
    title: str
    type: Literal["video", "audio"]
    content_type: str
    size_bytes: int
    created_at: datetime
    uploaded_by: str
    duration_seconds: float | None
    bit_rate: int | None
    container: str | None
    video: VideoOut | None
    audio: AudioOut | None

    @classmethod
    def of(cls, media: Media) -> MediaOut:
        info = media.info
        video = info.video if info is not None else None
        audio = info.audio if info is not None else None
        return cls(
            id=media.id,
            title=media.title,
            type="video" if media.type.value == "video" else "audio",
            content_type=media.content_type,
            size_bytes=media.size_bytes,
            created_at=media.created_at.astimezone(UTC),
            uploaded_by=media.uploaded_by,
            duration_seconds=info.duration_seconds if info is not None else None,
            bit_rate=info.bit_rate if info is not None else None,
            container=info.container if info is not None else None,
            video=(
                VideoOut(video.codec, video.width, video.height, video.frame_rate)
                if video is not None
                else None
            ),
            audio=(
                AudioOut(audio.codec, audio.channels, audio.sample_rate)
                if audio is not None
                else None
            ),
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
