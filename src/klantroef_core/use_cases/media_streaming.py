"""Handing out stream links and opening media for the requests that carry them."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from klantroef_core.domain.media import Media
from klantroef_core.domain.tokens import IssuedToken, StreamClaims
from klantroef_core.errors import BlobMissing, InvalidInput, NotFound
from klantroef_core.ports import (
    Clock,
    DirectLinks,
    IdGenerator,
    MediaRepository,
    MediaStorage,
    Signer,
)
from klantroef_core.use_cases.media_lookup import require_media
from klantroef_core.use_cases.stream_access import CheckStreamToken

DEFAULT_LINK_TTL = timedelta(minutes=10)
logger = logging.getLogger("klantroef.media")


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
        return self.issue_for(await require_media(self.media, media_id))

    def issue_for(self, item: Media) -> IssuedToken:
        """A link for ``item``, already looked up."""
        media_id = item.id
        now = self.clock.now()
        claims = StreamClaims(
            media_id=media_id,
            token_id=self.ids.new_id(),
            issued_at=now,
            expires_at=now + self.ttl,
        )
        return IssuedToken(token=self.signer.sign_stream(claims), expires_at=claims.expires_at)


def media_bytes_missing() -> NotFound:
    """The 404 for an item whose record exists but whose bytes the store no longer has."""
    return NotFound("the bytes of this media item are missing", code="media_bytes_missing")


class OpenedRange:
    """A range whose blob was found and whose first chunk was read: the rest follows.

    Iterate it for the bytes; :meth:`aclose` releases the file or connection
    (also when it was never iterated, or only in part).
    """

    def __init__(self, first: bytes | None, rest: AsyncGenerator[bytes, None]) -> None:
        self._first = first
        self._rest = rest

    def __aiter__(self) -> OpenedRange:
        return self

    async def __anext__(self) -> bytes:
        first, self._first = self._first, None
        if first is not None:
            return first
        return await anext(self._rest)

    async def aclose(self) -> None:
        self._first = None
        await self._rest.aclose()


@dataclass(frozen=True, slots=True)
class MediaStream:
    """An item a stream request may read: its record and a way to its bytes.

    Each way to the bytes first makes sure they are there, so a record whose
    blob was lost (a file removed behind the service's back, an object the
    store lost) is 404 ``media_bytes_missing`` before anything is answered.
    """

    media: Media
    storage: MediaStorage
    link_expires_at: datetime | None = None
    direct: DirectLinks | None = None

    async def direct_url(self) -> str | None:
        """A URL of the store's own for these bytes, dead no later than the stream link.

        None when the store hands out no such URLs (or redirects are off), and when
        the link has less than a second left: then the service sends the bytes itself.
        """
        if self.direct is None or self.link_expires_at is None:
            return None
        return await self.direct.direct_url(
            self.media.storage_key, self.link_expires_at, content_type=self.media.content_type
        )

    def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks (BlobMissing on first iteration)."""
        return self.storage.read_range(self.media.storage_key, start, end)

    async def open(self, start: int, end: int) -> OpenedRange:
        """Bytes ``start`` to ``end`` inclusive, the blob found and its first chunk read.

        404 ``media_bytes_missing`` here, not while the bytes are being sent.
        """
        chunks = self.storage.read_range(self.media.storage_key, start, end)
        rest = chunks if isinstance(chunks, AsyncGenerator) else _generator(chunks)
        try:
            first = await anext(rest)
        except StopAsyncIteration:  # the blob is there but holds no byte of the range
            return OpenedRange(None, rest)
        except BlobMissing:
            await rest.aclose()
            raise self._missing() from None
        except BaseException:
            await rest.aclose()
            raise
        return OpenedRange(first, rest)

    def local_path(self) -> Path | None:
        """The file on local disk, for a zero-copy send of the whole item, if there is one.

        None when the store keeps no files, and when the file is missing (then
        :meth:`open` tells why).
        """
        return self.storage.local_path(self.media.storage_key)

    async def ensure_bytes(self) -> None:
        """404 ``media_bytes_missing`` unless the blob is there (for answers without a body)."""
        if self.local_path() is None:
            await (await self.open(0, 0)).aclose()

    def _missing(self) -> NotFound:
        logger.error(
            "media %s has a record but its bytes (key %s) are missing from the store",
            self.media.id,
            self.media.storage_key,
        )
        return media_bytes_missing()


async def _generator(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    async for chunk in chunks:
        yield chunk


@dataclass(frozen=True, slots=True)
class OpenStream:
    """Check a stream request's token, then find its media (each seek is a new request).

    403 (``token_missing``, ``token_invalid``, ``token_expired``,
    ``token_wrong_media``) before anything is looked up, so ids are not probed
    without a link; 404 ``media_not_found`` once the item is deleted, so deleting
    media kills its links at once.

    With ``direct`` (``KLANTROEF_S3_REDIRECT=1``), the stream it opens offers
    :meth:`MediaStream.direct_url`: a URL of the store's own that dies no later
    than the link, so a player may fetch the bytes from the store directly.
    """

    check: CheckStreamToken
    media: MediaRepository
    storage: MediaStorage
    direct: DirectLinks | None = None

    async def __call__(self, media_id: str, token: str | None) -> MediaStream:
        claims = self.check(media_id, token)
        media = await require_media(self.media, media_id)
        return MediaStream(media, self.storage, claims.expires_at, self.direct)
