"""Reading a stored file's metadata and making its poster: at upload, and for older items."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from klantroef_core.domain.media import Media
from klantroef_core.domain.media_info import MediaInfo, Poster
from klantroef_core.errors import AlreadyExists, BlobMissing, UnreadableMedia, UnsupportedMediaType
from klantroef_core.ports import MediaProbe, MediaRepository, MediaStorage, StoredBlob, StoredMedia

POSTER_SUFFIX = ".poster"


def unreadable_media(reason: str) -> UnsupportedMediaType:
    """415 ``unreadable_media``: the bytes look like media, but nothing can read them."""
    return UnsupportedMediaType(
        f"the file looks like audio or video but cannot be read: {reason}",
        code="unreadable_media",
    )


def poster_key(storage_key: str) -> str:
    """Where an item's poster is stored: beside its bytes, under a key derived from theirs."""
    return storage_key + POSTER_SUFFIX


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read_details(
    probe: MediaProbe, storage: MediaStorage, blob: StoredBlob, written: list[str]
) -> tuple[MediaInfo, Poster]:
    """Probe the stored ``blob``, make its picture and store it as its poster.

    The poster's key is appended to ``written`` before it is saved, so a caller that
    fails later removes it too. 415 ``unreadable_media`` when the probe cannot read
    the file.
    """
    source = StoredMedia(storage, blob.key, blob.size)
    try:
        info = await probe.probe(source)
        picture = await probe.picture(source, info)
    except UnreadableMedia as exc:
        raise unreadable_media(exc.reason) from None
    key = poster_key(blob.key)
    written.append(key)
    stored = await storage.save(key, _once(picture.data))
    return info, Poster(key, picture.content_type, stored.size, stored.sha256)


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """What probing one stored item did: ``probed``, ``skipped``, ``unreadable`` (why), ``gone``."""

    media_id: str
    status: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProbeStoredMedia:
    """Give an item stored before probing existed its metadata and poster.

    For ``klantroef media probe``: an item that already has them is ``skipped``; an
    unreadable or missing file is reported (``unreadable``, with why) and its row
    stays as it was (metadata null); an item deleted meanwhile is ``gone`` and the
    poster made for it removed again. A poster left by an earlier, interrupted run
    is replaced.
    """

    media: MediaRepository
    storage: MediaStorage
    probe: MediaProbe

    async def __call__(self, item: Media) -> ProbeOutcome:
        if item.info is not None:
            return ProbeOutcome(item.id, "skipped")
        await self.storage.delete(poster_key(item.storage_key))  # an interrupted run's
        blob = StoredBlob(item.storage_key, item.size_bytes, item.sha256)
        try:
            info, poster = await read_details(self.probe, self.storage, blob, [])
        except UnsupportedMediaType as exc:
            return ProbeOutcome(item.id, "unreadable", exc.detail)
        except BlobMissing:
            return ProbeOutcome(item.id, "unreadable", "the store no longer has its bytes")
        except AlreadyExists:
            return ProbeOutcome(item.id, "unreadable", "another run is writing its poster")
        if not await self.media.set_details(item.id, info, poster):
            await self.storage.delete(poster.key)
            return ProbeOutcome(item.id, "gone")
        return ProbeOutcome(item.id, "probed")
