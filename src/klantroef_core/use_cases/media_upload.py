"""Uploading a media file: judged by its bytes, size-capped and stored while it streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from klantroef_core.domain.media import MAX_TITLE_LENGTH, Media, MediaType, normalise_title
from klantroef_core.domain.media_kinds import SNIFF_LENGTH, SniffedKind, sniff
from klantroef_core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from klantroef_core.ports import Clock, IdGenerator, MediaProbe, MediaRepository, MediaStorage
from klantroef_core.use_cases.media_details import read_details

TITLE_FIELD = "title"


def file_too_large(max_bytes: int) -> PayloadTooLarge:
    """413 ``file_too_large``: the upload passed the size limit (said before or while reading)."""
    return PayloadTooLarge(f"the file is larger than {max_bytes} bytes", code="file_too_large")


TYPE_FIELD = "type"
logger = logging.getLogger("klantroef.media")


class IncomingUpload(Protocol):
    """One file arriving with a few text fields, as a form upload delivers them.

    Text fields may come before or after the file: ``leading_fields`` holds the
    ones that came before; ``all_fields`` reads the rest of the request, so it is
    called only once ``chunks`` is exhausted.
    """

    @property
    def filename(self) -> str | None:
        """The client's name for the file: a hint for the title, never a storage name."""
        ...

    @property
    def leading_fields(self) -> Mapping[str, str]:
        """Text fields that arrived before the file."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive; iterated once."""
        ...

    async def all_fields(self) -> Mapping[str, str]:
        """Every text field of the upload, once the file has been read."""
        ...


def title_from_filename(filename: str | None) -> str | None:
    """A default title: the file name without folders and extension, made a valid title.

    Control characters are dropped and long names cut to the title limit; None
    when nothing usable is left.
    """
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = name.rpartition(".")
    name = stem if dot and stem.strip() else name
    name = "".join(ch for ch in name if ord(ch) >= 32 and ord(ch) != 127)
    name = name.strip()[:MAX_TITLE_LENGTH].strip()
    return name or None


def _chosen_type(fields: Mapping[str, str]) -> MediaType | None:
    raw = fields.get(TYPE_FIELD, "").strip().lower()
    if not raw:
        return None
    try:
        return MediaType(raw)
    except ValueError:
        raise InvalidInput("type must be 'video' or 'audio'", code="bad_type") from None


def _chosen_title(fields: Mapping[str, str], filename: str | None) -> str:
    raw = fields.get(TITLE_FIELD, "")
    if raw.strip():
        return normalise_title(raw)
    default = title_from_filename(filename)
    if default is None:
        raise InvalidInput("give a title: the file name does not make one", code="title_required")
    return normalise_title(default)


def _check_agreement(chosen: MediaType | None, kind: SniffedKind) -> None:
    if chosen is not None and chosen is not kind.media_type:
        raise InvalidInput(
            f"type is {chosen.value}, but the file is {kind.media_type.value}",
            code="type_mismatch",
        )


class _CheckedBody:
    """The upload's bytes, refused as soon as they show they cannot be accepted."""

    def __init__(
        self, chunks: AsyncIterator[bytes], max_bytes: int, chosen: MediaType | None
    ) -> None:
        self._chunks = chunks
        self._max_bytes = max_bytes
        self._chosen = chosen
        self._kind: SniffedKind | None = None

    @property
    def kind(self) -> SniffedKind:
        """What the bytes are; known once the stream was read to its end."""
        if self._kind is None:
            raise RuntimeError("the media storage returned before reading the whole upload")
        return self._kind

    def _judge(self, head: bytes) -> None:
        kind = sniff(head)
        if kind is None:
            raise UnsupportedMediaType(
                "the file is not an audio or video format we can serve", code="not_media"
            )
        _check_agreement(self._chosen, kind)
        self._kind = kind

    async def stream(self) -> AsyncIterator[bytes]:
        head = bytearray()
        size = 0
        async for chunk in self._chunks:
            size += len(chunk)
            if size > self._max_bytes:
                raise file_too_large(self._max_bytes)
            if self._kind is not None:
                yield chunk
                continue
            head += chunk
            if len(head) >= SNIFF_LENGTH:
                self._judge(bytes(head))
                yield bytes(head)
        if self._kind is None:
            self._judge(bytes(head))
            if head:
                yield bytes(head)


@dataclass(frozen=True, slots=True)
class UploadMedia:
    """Store an uploaded file and record it, or leave nothing behind.

    Refuses with 415 (``not_media``) once the first ``SNIFF_LENGTH`` bytes show the
    file is not audio or video, with 413 (``file_too_large``) as soon as it passes
    ``max_bytes``, and with 422 for a bad title or a ``type`` that contradicts the
    bytes (checked before the file streams when the fields come first). The blob is
    stored under a generated key, then read by the ``probe`` (415
    ``unreadable_media`` when no demuxer or decoder can read it), its poster stored
    beside it, and the row written last; if anything fails after the write,
    including a cancellation, the blob and the poster are deleted again.

    Without a ``probe`` (a library user who wants no FFmpeg), items are stored
    without metadata or poster, as items from before probing existed.
    """

    media: MediaRepository
    storage: MediaStorage
    clock: Clock
    ids: IdGenerator
    max_bytes: int
    probe: MediaProbe | None = None

    async def __call__(self, upload: IncomingUpload, uploaded_by: str) -> Media:
        leading = upload.leading_fields
        chosen = _chosen_type(leading)
        if leading.get(TITLE_FIELD, "").strip():
            normalise_title(leading[TITLE_FIELD])
        body = _CheckedBody(upload.chunks(), self.max_bytes, chosen)
        media_id = self.ids.new_id()
        blob = await self.storage.save(media_id, body.stream())
        written = [blob.key]
        try:
            fields = await upload.all_fields()
            title = _chosen_title(fields, upload.filename)
            _check_agreement(_chosen_type(fields), body.kind)
            info, poster = None, None
            if self.probe is not None:
                info, poster = await read_details(self.probe, self.storage, blob, written)
            media = Media(
                id=media_id,
                title=title,
                type=body.kind.media_type,
                content_type=body.kind.content_type,
                size_bytes=blob.size,
                sha256=blob.sha256,
                storage_key=blob.key,
                created_at=self.clock.now(),
                uploaded_by=uploaded_by,
                info=info,
                poster=poster,
            )
            await self.media.add(media)
        except BaseException:
            await _discard(self.storage, list(written))
            raise
        return media


async def _discard(storage: MediaStorage, keys: list[str]) -> None:
    """Delete the blobs of an upload whose record failed: the file and its poster.

    Shielded as one task, so a cancellation (even a second one, arriving while the
    first blob is being deleted) cannot leave the second behind.
    """

    async def delete_all() -> None:
        for key in keys:
            try:
                await storage.delete(key)
            except Exception:
                logger.exception("could not delete the blob %s of a failed upload", key)

    await asyncio.shield(delete_all())
