"""Handing out stream links and opening media for the requests that carry them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from klantroef_core.domain.media import Media
from klantroef_core.domain.tokens import IssuedToken, StreamClaims
from klantroef_core.errors import InvalidInput
from klantroef_core.ports import Clock, IdGenerator, MediaRepository, MediaStorage, Signer
from klantroef_core.use_cases.media_lookup import require_media
from klantroef_core.use_cases.stream_access import CheckStreamToken

DEFAULT_LINK_TTL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class IssueStreamLink:
    """A stream token for one existing media item, good for ``ttl`` (10 minutes by default).

    404 ``media_not_found`` when there is no such item.
    """

    media: MediaRepository
    signer: Signer
    clock: Clock
    ids: IdGenerator
    ttl: timedelta = DEFAULT_LINK_TTL

    def __post_init__(self) -> None:
        if self.ttl <= timedelta(0):
            raise InvalidInput("a stream link must live a positive time")

    async def __call__(self, media_id: str) -> IssuedToken:
        await require_media(self.media, media_id)
        now = self.clock.now()
        claims = StreamClaims(
            media_id=media_id,
            token_id=self.ids.new_id(),
            issued_at=now,
            expires_at=now + self.ttl,
        )
        return IssuedToken(token=self.signer.sign_stream(claims), expires_at=claims.expires_at)


@dataclass(frozen=True, slots=True)
class MediaStream:
    """An item a stream request may read: its record and a way to its bytes."""

    media: Media
    storage: MediaStorage

    def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks."""
        return self.storage.read_range(self.media.storage_key, start, end)

    def local_path(self) -> Path | None:
        """The file on local disk, for a zero-copy send of the whole item, if there is one."""
        return self.storage.local_path(self.media.storage_key)


@dataclass(frozen=True, slots=True)
class OpenStream:
    """Check a stream request's token, then find its media (each seek is a new request).

    403 (``token_missing``, ``token_invalid``, ``token_expired``,
    ``token_wrong_media``) before anything is looked up, so ids are not probed
    without a link; 404 ``media_not_found`` once the item is deleted, so deleting
    media kills its links at once.
    """

    check: CheckStreamToken
    media: MediaRepository
    storage: MediaStorage

    async def __call__(self, media_id: str, token: str | None) -> MediaStream:
        self.check(media_id, token)
        return MediaStream(await require_media(self.media, media_id), self.storage)
