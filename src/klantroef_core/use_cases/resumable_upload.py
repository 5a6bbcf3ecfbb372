"""Resumable uploads (the rules behind tus): create, append, ask, cancel, sweep.

The bytes wait in :class:`~klantroef_core.ports.PartialUploads`, the offset and
metadata in :class:`~klantroef_core.ports.UploadSessions`. The offset in the
session is the truth: it only moves after the bytes are durable, and an append
first cuts the bytes back to it. When the last byte arrives, the assembled file
goes through :class:`~klantroef_core.use_cases.media_upload.UploadMedia`, as a
form upload does (sniffing, the size limit, metadata, the row last); if that
refuses the file, the upload is removed whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from klantroef_core.domain.media import Media, MediaType, normalise_title
from klantroef_core.domain.upload_session import UploadSession, metadata_too_long
from klantroef_core.errors import (
    BadRequest,
    BlobMissing,
    Conflict,
    Gone,
    InvalidInput,
    KlantroefError,
    NotFound,
    PayloadTooLarge,
    UploadBusy,
)
from klantroef_core.ports import Clock, IdGenerator, MediaRepository, PartialUploads, UploadSessions
from klantroef_core.use_cases.file_upload import FileUpload
from klantroef_core.use_cases.media_upload import UploadMedia, file_too_large, title_from_filename

logger = logging.getLogger("klantroef.uploads")

FILENAME_KEY = "filename"
TITLE_KEY = "title"
TYPE_KEY = "type"
METADATA_KEYS = frozenset({FILENAME_KEY, TITLE_KEY, TYPE_KEY})
"""What an upload's metadata may say; other keys are ignored."""
SWEEP_BATCH = 100


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Where an upload stands: its session, and the media item once it is complete."""

    session: UploadSession
    media: Media | None = None


def _not_found() -> NotFound:
    return NotFound("no such upload", code="upload_not_found")


def _gone() -> Gone:
    return Gone("the upload expired and was removed", code="upload_expired")


def _past_length(length: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the bytes go past the upload's length of {length}", code="upload_length_exceeded"
    )


def _metadata_type(raw: str | None) -> MediaType | None:
    if raw is None or not raw.strip():
        return None
    try:
        return MediaType(raw.strip().lower())
    except ValueError:
        raise BadRequest("type must be 'video' or 'audio'", code="bad_metadata") from None


def _metadata_text(metadata: Mapping[str, str], key: str, limit: int) -> str | None:
    value = metadata.get(key)
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise metadata_too_long(key, limit)
    return value


async def _shielded(what: str, call: Awaitable[object]) -> None:
    try:
        await asyncio.shield(call)
    except Exception:
        logger.exception("could not remove %s", what)


@dataclass(frozen=True, slots=True)
class UploadStores:
    """What every resumable-upload action shares: the two stores and the clock."""

    sessions: UploadSessions
    partials: PartialUploads
    clock: Clock

    async def remove(self, session: UploadSession) -> None:
        """Remove an upload's bytes, then its row; shielded from cancellation."""
        await _shielded(f"the bytes of upload {session.id}", self.partials.discard(session.id))
        await _shielded(f"the row of upload {session.id}", self.sessions.delete(session.id))

    async def find(self, upload_id: str, requester: str) -> UploadSession:
        """The requester's live session; 404 if unknown (or another admin's), 410 once expired."""
        session = await self.sessions.get(upload_id)
        if session is None or session.owner != requester:
            raise _not_found()
        if session.expired(self.clock.now()):
            if not session.complete:
                await self.remove(session)
            else:
                await self.sessions.delete(session.id)
            raise _gone()
        return session


async def _capped(chunks: AsyncIterator[bytes], room: int, length: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > room:
            raise _past_length(length)
        yield chunk


@dataclass(frozen=True, slots=True)
class AppendToUpload:
    """PATCH: add bytes at the upload's offset; the last byte makes it a media item.

    409 ``offset_mismatch`` unless ``offset`` is the stored offset (and
    ``upload_busy`` while another append runs), 413 ``upload_length_exceeded``
    for bytes past the length (said before reading when ``declared`` shows it),
    404/410 for unknown and expired uploads. A failed append leaves the upload as
    it was; a completed file that ``UploadMedia`` refuses removes the upload.
    """

    uploads: UploadStores
    upload_media: UploadMedia

    async def __call__(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        requester: str,
        declared: int | None = None,
    ) -> UploadProgress:
        session = await self.uploads.find(upload_id, requester)
        return await self.append(session, offset, chunks, declared)

    async def append(
        self,
        session: UploadSession,
        offset: int,
        chunks: AsyncIterator[bytes],
        declared: int | None,
    ) -> UploadProgress:
        if session.complete:
            raise Conflict("the upload is already complete", code="upload_complete")
        if offset != session.offset:
            raise Conflict(
                f"the upload is at offset {session.offset}, not {offset}", code="offset_mismatch"
            )
        room = session.length - offset
        if declared is not None and declared > room:
            raise _past_length(session.length)
        try:
            reached = await self.uploads.partials.append(
                session.id, offset, _capped(chunks, room, session.length)
            )
        except UploadBusy:
            raise Conflict(
                "another request is writing to this upload", code="upload_busy"
            ) from None
        except BlobMissing:
            # Not removed: on several hosts the bytes may wait on another one.
            raise Conflict(
                "the bytes of this upload are not here: send it to the host that created it, "
                "or start again",
                code="upload_bytes_missing",
            ) from None
        if reached != offset and not await self.uploads.sessions.advance(
            session.id, offset, reached
        ):
            raise Conflict("the upload moved on meanwhile", code="offset_mismatch")
        session = _at(session, reached)
        if reached < session.length:
            return UploadProgress(session)
        return await self._finish(session)

    async def _finish(self, session: UploadSession) -> UploadProgress:
        upload = FileUpload(
            self.uploads.partials.read(session.id, session.length),
            filename=session.filename,
            title=session.title,
            type=session.type,
        )
        try:
            media = await self.upload_media(upload, session.owner)
        except KlantroefError:
            await self.uploads.remove(session)  # refused for good: leave nothing behind
            raise
        await self.uploads.sessions.complete(session.id, media.id)
        await _shielded(
            f"the bytes of upload {session.id}", self.uploads.partials.discard(session.id)
        )
        return UploadProgress(_completed(session, media.id), media)


def _at(session: UploadSession, offset: int) -> UploadSession:
    return replace(session, offset=offset)


def _completed(session: UploadSession, media_id: str) -> UploadSession:
    return replace(session, offset=session.length, media_id=media_id)


@dataclass(frozen=True, slots=True)
class CreateUpload:
    """POST: start an upload of ``length`` bytes, optionally with its first bytes.

    413 ``file_too_large`` when ``length`` is over the size limit, 400 for
    metadata that is too long or a ``type`` that is neither video nor audio, 422
    for a bad title or for neither a title nor a file name that makes one (said
    now rather than after the last byte). Sweeps a batch of expired uploads first, so abandoned ones go
    even when nobody asks for them again.
    """

    uploads: UploadStores
    append: AppendToUpload
    ids: IdGenerator
    max_bytes: int
    expiry: timedelta

    async def __call__(
        self,
        length: int,
        metadata: Mapping[str, str],
        requester: str,
        chunks: AsyncIterator[bytes] | None = None,
        declared: int | None = None,
    ) -> UploadProgress:
        if length < 0:
            raise BadRequest("Upload-Length must not be negative", code="bad_upload_length")
        if length > self.max_bytes:
            raise file_too_large(self.max_bytes)
        chosen = _metadata_type(metadata.get(TYPE_KEY))
        title = _metadata_text(metadata, TITLE_KEY, 200)
        filename = _metadata_text(metadata, FILENAME_KEY, 255)
        if title is not None:
            title = normalise_title(title)
        elif title_from_filename(filename) is None:  # said now, not after the last byte
            raise InvalidInput(
                "give a title or a filename in Upload-Metadata", code="title_required"
            )
        now = self.uploads.clock.now()
        session = UploadSession(
            id=self.ids.new_id(),
            owner=requester,
            length=length,
            offset=0,
            filename=filename,
            title=title,
            type=chosen,
            created_at=now,
            expires_at=now + self.expiry,
        )
        await SweepUploads(self.uploads)(SWEEP_BATCH)
        await self.uploads.partials.create(session.id)
        try:
            await self.uploads.sessions.add(session)
        except BaseException:
            await _shielded(
                f"the bytes of upload {session.id}", self.uploads.partials.discard(session.id)
            )
            raise
        if chunks is None and length > 0:
            return UploadProgress(session)
        empty = _no_chunks() if chunks is None else chunks
        try:
            return await self.append.append(session, 0, empty, declared)
        except KlantroefError as exc:
            if isinstance(exc, PayloadTooLarge):  # the creation's own bytes were wrong
                await self.uploads.remove(session)
            raise


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """HEAD: where the requester's upload stands (404 unknown, 410 expired)."""

    uploads: UploadStores
    media: MediaRepository

    async def __call__(self, upload_id: str, requester: str) -> UploadProgress:
        session = await self.uploads.find(upload_id, requester)
        media = await self.media.get(session.media_id) if session.media_id else None
        return UploadProgress(session, media)


@dataclass(frozen=True, slots=True)
class CancelUpload:
    """DELETE: remove an upload and its bytes (a media item it became stays)."""

    uploads: UploadStores

    async def __call__(self, upload_id: str, requester: str) -> None:
        session = await self.uploads.find(upload_id, requester)
        await self.uploads.remove(session)


@dataclass(frozen=True, slots=True)
class SweepUploads:
    """Remove up to ``limit`` expired uploads, bytes then row; return how many."""

    uploads: UploadStores

    async def __call__(self, limit: int = SWEEP_BATCH) -> int:
        expired = await self.uploads.sessions.expired(self.uploads.clock.now(), limit)
        for session in expired:
            await self.uploads.remove(session)
        return len(expired)
