"""Small builders of test data."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.views import View

A_MOMENT = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


def new_id() -> str:
    """A fresh media or admin id, shaped as in production."""
    return str(uuid.uuid4())


def make_media(
    *,
    media_id: str | None = None,
    title: str = "Opening night",
    media_type: MediaType = MediaType.VIDEO,
    content_type: str = "video/mp4",
    size_bytes: int = 1_048_576,
    created_at: datetime = A_MOMENT,
    uploaded_by: str | None = None,
) -> Media:
    """A valid media item; every field can be overridden."""
    media_id = media_id or new_id()
    return Media(
        id=media_id,
        title=title,
        type=media_type,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=hashlib.sha256(media_id.encode()).hexdigest(),
        storage_key=f"{media_id}.bin",
        created_at=created_at,
        uploaded_by=uploaded_by or new_id(),
    )


def make_view(
    media_id: str, *, client: str = "203.0.113.7", viewed_at: datetime = A_MOMENT
) -> View:
    """A view of ``media_id``."""
    return View(media_id=media_id, client=client, viewed_at=viewed_at)
