"""Media items: audio and video files with their metadata."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from klantroef_core.domain.media_info import MediaInfo, Poster
from klantroef_core.errors import InvalidInput

MAX_TITLE_LENGTH = 200
TITLE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"
"""A title as sent: no control characters, something besides white space (JSON Schema)."""


class MediaType(enum.StrEnum):
    """The two kinds of media the product serves."""

    VIDEO = "video"
    AUDIO = "audio"


def bad_title() -> InvalidInput:
    """422 ``bad_title``, worded once for every way a title can be wrong."""
    return InvalidInput(
        f"a title is 1 to {MAX_TITLE_LENGTH} characters, trimmed, without control characters",
        code="bad_title",
    )


def normalise_title(raw: str) -> str:
    """Trim a title and check it is 1 to 200 characters without control characters."""
    title = raw.strip()
    if not 1 <= len(title) <= MAX_TITLE_LENGTH:
        raise bad_title()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in title):
        raise bad_title()
    return title


@dataclass(frozen=True, slots=True)
class Media:
    """A stored media file. ``storage_key`` names the blob; it never comes from the client.

    ``info`` (what probing the bytes found) and ``poster`` (its stored picture) are
    None for items stored before probing existed, until ``klantroef media probe``
    has read them.
    """

    id: str
    title: str
    type: MediaType
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    created_at: datetime
    uploaded_by: str
    info: MediaInfo | None = None
    poster: Poster | None = None

    def __post_init__(self) -> None:
        if normalise_title(self.title) != self.title:
            raise bad_title()
        if self.size_bytes < 0:
            raise InvalidInput("size must not be negative")
        if len(self.sha256) != 64:
            raise InvalidInput("sha256 must be 64 hex digits")
        if self.created_at.tzinfo is None:
            raise InvalidInput("created_at must be timezone-aware")

    @property
    def etag(self) -> str:
        """A strong entity tag: the content hash never changes for a stored item."""
        return f'"{self.sha256}"'


@dataclass(frozen=True, slots=True)
class MediaPage:
    """One page of the catalogue, newest first; ``next_cursor`` is None on the last."""

    items: tuple[Media, ...]
    next_cursor: str | None
