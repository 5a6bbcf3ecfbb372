"""Valid values of the core's types, built one at a time, for the contract suites."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from klantroef_core.domain.admin import Admin, Email
from klantroef_core.domain.media import Media, MediaType
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
