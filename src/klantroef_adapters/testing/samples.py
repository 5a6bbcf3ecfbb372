"""Valid values of the core's types, built one at a time, for the contract suites."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from klantroef_core.domain.admin import Admin, Email
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.media_info import AudioInfo, MediaInfo, Poster, VideoInfo
from klantroef_core.domain.views import View

A_MOMENT = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
"""An instant with microseconds, so a store that drops them is caught."""

A_PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"  # noqa: S105 (a dummy)


def new_id() -> str:
    """A fresh id shaped as in production (a UUID string)."""
    return str(uuid.uuid4())


def a_media(
    *,
    media_id: str | None = None,
    title: str = "Opening night",
    media_type: MediaType = MediaType.VIDEO,
    content_type: str = "video/mp4",
    size_bytes: int = 1_048_576,
    created_at: datetime = A_MOMENT,
    uploaded_by: str | None = None,
    storage_key: str | None = None,
) -> Media:
    """A valid media item with a fresh id; every field can be overridden."""
    media_id = media_id or new_id()
    return Media(
        id=media_id,
        title=title,
        type=media_type,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=hashlib.sha256(media_id.encode()).hexdigest(),
        storage_key=storage_key or f"{media_id}.bin",
        created_at=created_at,
        uploaded_by=uploaded_by or new_id(),
    )


VIDEO_INFO = MediaInfo(
    container="mov,mp4,m4a,3gp,3g2,mj2",
    duration_seconds=600.04,
    bit_rate=2_345_678_901,
    video=VideoInfo(codec="h264", width=1920, height=1080, frame_rate=29.97),
    audio=AudioInfo(codec="aac", channels=6, sample_rate=48_000),
)
"""Probed metadata with every field set (a bit rate past 2**31, a fractional rate)."""

AUDIO_INFO = MediaInfo(
    container="mp3",
    duration_seconds=3.5,
    bit_rate=None,
    video=None,
    audio=AudioInfo(codec="mp3", channels=1, sample_rate=22_050),
)
"""Probed metadata of an audio file: no video, an unknown bit rate."""


def a_poster(storage_key: str, content_type: str = "image/jpeg") -> Poster:
    """A poster stored beside ``storage_key``."""
    return Poster(
        key=f"{storage_key}.poster",
        content_type=content_type,
        size_bytes=12_345,
        sha256=hashlib.sha256(storage_key.encode()).hexdigest(),
    )


def a_view(media_id: str, *, client: str = "203.0.113.7", viewed_at: datetime = A_MOMENT) -> View:
    """A view of ``media_id``."""
    return View(media_id=media_id, client=client, viewed_at=viewed_at)


def an_admin(n: int = 1, email: str | None = None) -> Admin:
    """Admin number ``n`` (a predictable id), with an email of its own unless given."""
    return Admin(
        id=f"00000000-0000-4000-8000-{n:012d}",
        email=Email.parse(email or f"admin{n}@example.com"),
        password_hash=A_PASSWORD_HASH,
        created_at=datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC),
    )
