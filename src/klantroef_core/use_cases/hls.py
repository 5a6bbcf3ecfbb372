"""HLS for players: a signed playlist and the init and media segments it lists.

The playlist is answered for a stream link's token, and every URL in it carries
that same token: it is bound to the one media item and expires with the link, so
the link's lifetime governs the whole playback and a token for one item never
opens another's segments (each segment request checks it again, as each seek
of ``/stream`` does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from klantroef_core.domain.hls import HlsPackage
from klantroef_core.domain.media import Media
from klantroef_core.domain.tokens import IssuedToken, StreamClaims
from klantroef_core.errors import BlobMissing, Conflict, NeedsTranscoding, NotFound, Unavailable
from klantroef_core.ports import MediaPackager, MediaRepository, MediaStorage
from klantroef_core.use_cases.media_lookup import require_media
from klantroef_core.use_cases.media_streaming import (
    IssueStreamLink,
    MediaStream,
    media_bytes_missing,
)
from klantroef_core.use_cases.stream_access import CheckStreamToken

logger = logging.getLogger("klantroef.hls")


def needs_transcoding(reason: str) -> Conflict:
    """409 ``hls_needs_transcoding``: the item plays from its stream link only."""
    return Conflict(
        f"this item cannot be served as HLS without transcoding, which is not offered "
        f"({reason}); play it from its stream link",
        code="hls_needs_transcoding",
    )


def part_not_found() -> NotFound:
    return NotFound("this item's HLS package has no part by this name", code="hls_part_not_found")


async def _package(packager: MediaPackager, media: Media) -> HlsPackage:
    try:
        return await packager.package(media)
    except NeedsTranscoding as refusal:
        raise needs_transcoding(refusal.reason) from None
    except BlobMissing:
        logger.error("media %s has a record but its bytes are missing: no HLS", media.id)  # noqa: TRY400 - no traceback to show
        raise media_bytes_missing() from None


@dataclass(frozen=True, slots=True)
class HlsPlaylist:
    """What a playlist request may answer: the package and the token its URLs carry."""

    package: HlsPackage
    claims: StreamClaims


@dataclass(frozen=True, slots=True)
class OpenHlsPlaylist:
    """Check the link's token (403 per reason, as ``/stream``), find the item (404),
    package it if that was not done yet (409 ``hls_needs_transcoding`` when it cannot be
    without re-encoding; 503 when the store is down or packaging ran out of time)."""

    check: CheckStreamToken
    media: MediaRepository
    packager: MediaPackager

    async def __call__(self, media_id: str, token: str | None) -> HlsPlaylist:
        claims = self.check(media_id, token)
        item = await require_media(self.media, media_id)
        return HlsPlaylist(await _package(self.packager, item), claims)


@dataclass(frozen=True, slots=True)
class OpenHlsSegment:
    """One part of an item's package (``init.mp4``, ``seg-NNNNN.m4s``) for a link's token.

    The same checks as the playlist, then 404 ``hls_part_not_found`` for a name the
    package does not have. The answer is a :class:`MediaStream` over the part's blob,
    so ranges, ETags and caching follow exactly the rules of ``/stream``.
    """

    check: CheckStreamToken
    media: MediaRepository
    storage: MediaStorage
    packager: MediaPackager

    async def __call__(self, media_id: str, name: str, token: str | None) -> MediaStream:
        claims = self.check(media_id, token)
        item = await require_media(self.media, media_id)
        package = await _package(self.packager, item)
        part = package.part(name)
        if part is None:
            raise part_not_found()
        as_blob = replace(
            item,
            content_type=package.content_type,
            size_bytes=part.size,
            sha256=part.sha256,
            storage_key=part.key,
        )
        return MediaStream(as_blob, self.storage, claims.expires_at)


@dataclass(frozen=True, slots=True)
class PlaybackLinks:
    """A stream link, and whether the item can also be played as HLS with it."""

    issued: IssuedToken
    hls: bool


@dataclass(frozen=True, slots=True)
class IssuePlaybackLinks:
    """``IssueStreamLink``, plus whether HLS is available for the item.

    The first call for an item packages it (once, under the packager's lock), so
    ``hls`` is true exactly when its playlist will answer; a store that is down or
    packaging that ran out of time is logged and answered as no HLS, never as an
    error of the stream link itself.
    """

    links: IssueStreamLink
    packager: MediaPackager | None = None

    async def __call__(self, media_id: str) -> PlaybackLinks:
        item = await require_media(self.links.media, media_id)
        issued = self.links.issue_for(item)
        if self.packager is None:
            return PlaybackLinks(issued, hls=False)
        try:
            await self.packager.package(item)
        except (NeedsTranscoding, BlobMissing):
            return PlaybackLinks(issued, hls=False)
        except Unavailable:
            logger.warning("HLS packaging of %s is unavailable just now", media_id, exc_info=True)
            return PlaybackLinks(issued, hls=False)
        return PlaybackLinks(issued, hls=True)
