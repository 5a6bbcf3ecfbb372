"""Uploads read by the probe, posters, and the command that reads items stored before.

The whole service in memory, built by the composition root with the real PyAV
probe; the files are real, made by PyAV.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.testing.media_files import PictureFacts, audio_file, video_file
from klantroef_app import Container
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.media_info import MediaInfo, Poster
from klantroef_core.errors import (
    Forbidden,
    NotFound,
    Unavailable,
    UnsupportedMediaType,
)
from klantroef_core.use_cases.file_upload import FileUpload
from tests import worlds
from tests.factories import make_media

ADMIN_ID = "00000000-0000-4000-8000-aaaaaaaaaaaa"
GARBAGE = random.Random(7).randbytes(100_000)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Keys(InMemoryMediaStorage):
    """The in-memory store, telling which keys it holds."""

    async def keys(self) -> set[str]:
        return set(self._blobs)


def world(**overrides: Any) -> tuple[Container, Keys]:
    storage = Keys()
    return worlds.world(media_storage=storage, **overrides), storage


async def upload(container: Container, data: bytes, name: str = "clip.mp4") -> Media:
    return await container.upload_media()(FileUpload.from_chunks([data], filename=name), ADMIN_ID)


async def poster_bytes(storage: InMemoryMediaStorage, poster: Poster) -> bytes:
    return b"".join([c async for c in storage.read_range(poster.key, 0, poster.size_bytes - 1)])


# --- uploads --------------------------------------------------------------------------------


async def test_an_upload_is_stored_with_its_metadata_and_a_poster_beside_it() -> None:
    container, storage = world()

    media = await upload(container, video_file(2.0, width=320, height=240))

    assert media.info is not None
    assert media.info.video is not None
    assert (media.info.video.width, media.info.video.height) == (320, 240)
    assert media.poster is not None
    assert media.poster.key == f"{media.storage_key}.poster"
    assert media.poster.content_type == "image/jpeg"
    data = await poster_bytes(storage, media.poster)
    assert (len(data), hashlib.sha256(data).hexdigest()) == (
        media.poster.size_bytes,
        media.poster.sha256,
    )
    assert PictureFacts(data).width == 320
    assert await container.media_repository().get(media.id) == media
    assert await storage.keys() == {media.storage_key, media.poster.key}


async def test_an_audio_upload_gets_a_waveform() -> None:
    container, storage = world()

    media = await upload(container, audio_file(1.0), "song.mp3")

    assert media.type is MediaType.AUDIO
    assert media.poster is not None
    assert media.poster.content_type == "image/png"
    assert PictureFacts(await poster_bytes(storage, media.poster)).codec == "png"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (video_file(1.0)[:64] + GARBAGE, "clip.mp4"),
        (audio_file(1.0)[:3000] + GARBAGE, "song.mp3"),
    ],
    ids=["mp4 header then garbage", "mp3 start then garbage"],
)
async def test_a_file_no_demuxer_reads_is_415_and_nothing_is_kept(data: bytes, name: str) -> None:
    container, storage = world()

    with pytest.raises(UnsupportedMediaType) as caught:
        await upload(container, data, name)

    assert caught.value.code == "unreadable_media"
    assert "cannot be read" in caught.value.detail
    assert await storage.keys() == set()
    assert await container.media_repository().list_page(10, None) == []


class FailingAdds(InMemoryMediaRepository):
    async def add(self, media: Media) -> None:
        raise Unavailable("the database is down")


async def test_a_row_that_cannot_be_written_takes_the_file_and_its_poster_with_it() -> None:
    container, storage = world(media_repository=FailingAdds())

    with pytest.raises(Unavailable):
        await upload(container, video_file(1.0, width=64, height=48))

    assert await storage.keys() == set()


async def test_without_a_probe_an_upload_is_stored_without_metadata() -> None:
    container, storage = world(media_probe=None)

    media = await upload(container, video_file(1.0, width=64, height=48))

    assert (media.info, media.poster) == (None, None)
    assert await storage.keys() == {media.storage_key}


async def test_deleting_an_item_deletes_its_poster() -> None:
    container, storage = world()
    media = await upload(container, video_file(1.0, width=64, height=48))

    await container.delete_media()(media.id)

    assert await storage.keys() == set()


# --- the poster, by stream link ---------------------------------------------------------------


async def test_the_poster_is_opened_with_the_items_stream_link() -> None:
    container, _ = world()
    media = await upload(container, video_file(1.0, width=64, height=48))
    link = await container.issue_stream_link()(media.id)

    image = await container.open_poster()(media.id, link.token)

    assert image.poster == media.poster
    opened = await image.open()
    data = b"".join([chunk async for chunk in opened])
    assert hashlib.sha256(data).hexdigest() == image.poster.sha256
    assert image.local_path() is None  # an in-memory store keeps no files


async def test_a_poster_needs_the_items_own_valid_link() -> None:
    container, _ = world()
    one = await upload(container, video_file(1.0, width=64, height=48))
    other = await upload(container, video_file(1.0, width=64, height=48), "other.mp4")
    link = await container.issue_stream_link()(one.id)

    for media_id, token, code in [
        (one.id, None, "token_missing"),
        (one.id, "not-a-token", "token_invalid"),
        (other.id, link.token, "token_wrong_media"),
    ]:
        with pytest.raises(Forbidden) as caught:
            await container.open_poster()(media_id, token)
        assert caught.value.code == code


async def old_item(container: Container, storage: InMemoryMediaStorage, data: bytes) -> Media:
    """An item as stored before probing existed: its bytes, a row without details."""
    item = make_media(size_bytes=len(data))
    blob = await storage.save(item.storage_key, _once(data))
    item = dataclasses.replace(item, sha256=blob.sha256)
    await container.media_repository().add(item)
    return item


async def test_an_item_stored_before_posters_is_poster_missing() -> None:
    container, storage = world()
    item = await old_item(container, storage, video_file(1.0, width=64, height=48))
    link = await container.issue_stream_link()(item.id)

    with pytest.raises(NotFound) as caught:
        await container.open_poster()(item.id, link.token)

    assert caught.value.code == "poster_missing"


async def test_a_lost_poster_is_media_bytes_missing_when_opened() -> None:
    container, storage = world()
    media = await upload(container, video_file(1.0, width=64, height=48))
    assert media.poster is not None
    await storage.delete(media.poster.key)
    link = await container.issue_stream_link()(media.id)
    image = await container.open_poster()(media.id, link.token)

    with pytest.raises(NotFound) as caught:
        await image.open()

    assert caught.value.code == "media_bytes_missing"


# --- klantroef media probe: items stored before -------------------------------------------------


async def test_an_old_item_is_probed_and_gets_a_poster() -> None:
    container, storage = world()
    item = await old_item(container, storage, video_file(1.0, width=64, height=48))

    outcome = await container.probe_stored_media()(item)

    assert outcome.status == "probed"
    now = await container.media_repository().get(item.id)
    assert now is not None
    assert now.info is not None
    assert now.poster is not None
    assert dataclasses.replace(now, info=None, poster=None) == item
    assert await storage.keys() == {item.storage_key, now.poster.key}


async def test_an_item_with_metadata_is_skipped() -> None:
    container, _ = world()
    media = await upload(container, video_file(1.0, width=64, height=48))

    assert (await container.probe_stored_media()(media)).status == "skipped"


async def test_an_unreadable_old_item_is_reported_and_left_as_it_was() -> None:
    container, storage = world()
    item = await old_item(container, storage, video_file(1.0)[:64] + GARBAGE)

    outcome = await container.probe_stored_media()(item)

    assert outcome.status == "unreadable"
    assert "cannot be read" in outcome.reason
    assert await container.media_repository().get(item.id) == item
    assert await storage.keys() == {item.storage_key}


async def test_an_old_item_whose_bytes_are_gone_is_reported() -> None:
    container, storage = world()
    item = await old_item(container, storage, video_file(1.0, width=64, height=48))
    await storage.delete(item.storage_key)

    outcome = await container.probe_stored_media()(item)

    assert (outcome.status, outcome.reason) == ("unreadable", "the store no longer has its bytes")
    assert await storage.keys() == set()


class DeletedMeanwhile(InMemoryMediaRepository):
    async def set_details(self, media_id: str, info: MediaInfo, poster: Poster | None) -> bool:
        await self.delete(media_id)
        return await super().set_details(media_id, info, poster)


async def test_an_item_deleted_while_it_is_probed_leaves_no_poster() -> None:
    container, storage = world(media_repository=DeletedMeanwhile())
    item = await old_item(container, storage, video_file(1.0, width=64, height=48))
    await storage.delete(item.storage_key)  # what the delete would have done
    await storage.save(item.storage_key, _once(video_file(1.0, width=64, height=48)))

    outcome = await container.probe_stored_media()(item)

    assert outcome.status == "gone"
    assert await storage.keys() == {item.storage_key}


async def test_a_poster_left_by_an_interrupted_run_is_replaced() -> None:
    container, storage = world()
    item = await old_item(container, storage, video_file(1.0, width=64, height=48))
    await storage.save(f"{item.storage_key}.poster", _once(b"half a poster"))

    outcome = await container.probe_stored_media()(item)

    assert outcome.status == "probed"
    now = await container.media_repository().get(item.id)
    assert now is not None
    assert now.poster is not None
    assert PictureFacts(await poster_bytes(storage, now.poster)).codec == "mjpeg"


def test_the_probe_is_bounded_by_the_configured_timeout() -> None:
    container = worlds.world(worlds.settings(probe_timeout=7))

    assert container.media_probe().timeout == 7
