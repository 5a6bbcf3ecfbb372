"""A resumable upload in progress: how much of how many bytes has arrived, and until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from klantroef_core.domain.media import MAX_TITLE_LENGTH, MediaType
from klantroef_core.errors import BadRequest, InvalidInput

MAX_FILENAME_LENGTH = 255


def metadata_too_long(name: str, limit: int) -> BadRequest:
    """400 ``metadata_too_long``: one metadata value is over its limit."""
    return BadRequest(f"{name} is longer than {limit} characters", code="metadata_too_long")


@dataclass(frozen=True, slots=True)
class UploadSession:
    """One resumable upload: ``offset`` of ``length`` bytes are durably stored.

    ``filename``, ``title`` and ``type`` are what the client said at creation (each
    optional; the same rules as a form upload apply once the last byte arrived).
    ``media_id`` is set once the upload became a media item; until then the
    session expires at ``expires_at`` and is swept with its bytes.
    """

    id: str
    owner: str
    length: int
    offset: int
    filename: str | None
    title: str | None
    type: MediaType | None
    created_at: datetime
    expires_at: datetime
    media_id: str | None = None

    def __post_init__(self) -> None:
        if self.length < 0 or not 0 <= self.offset <= self.length:
            raise InvalidInput(f"offset {self.offset} is not within 0..{self.length}")
        if self.filename is not None and len(self.filename) > MAX_FILENAME_LENGTH:
            raise metadata_too_long("filename", MAX_FILENAME_LENGTH)
        if self.title is not None and len(self.title) > MAX_TITLE_LENGTH:
            raise metadata_too_long("title", MAX_TITLE_LENGTH)

    @property
    def complete(self) -> bool:
        """Whether the upload has become a media item."""
        return self.media_id is not None

    def expired(self, now: datetime) -> bool:
        """Whether the session is past its expiry (a completed one only stops being answered)."""
        return now >= self.expires_at
