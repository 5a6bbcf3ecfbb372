"""The media use cases from the composition root, in memory: uploads, the catalogue, links and streams."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.errors import (
    BlobMissing,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from klantroef_core.ports import StoredBlob
from klantroef_core.use_cases.media_catalogue import DeleteMedia, decode_cursor, encode_cursor
from klantroef_core.use_cases.media_streaming import IssueStreamLink
from klantroef_core.use_cases.media_upload import title_from_filename
from tests import worlds
from tests.factories import make_media
from tests.fakes import FakeClock, SequentialIds
from tests.media_samples import (
    M4A_HEAD,
    REAL_FILE_NAMES,
    REFUSED_SAMPLES,
    media_file,
    real_file,
)

ADMIN_ID = "00000000-0000-4000-8000-aaaaaaaaaaaa"


@dataclass
class FakeUpload:
    """An upload as a form delivers it, counting how much of the file was read."""

    data: bytes
    filename: str | None = "Holiday film.mp4"
    leading_fields: Mapping[str, str] = field(default_factory=dict)
    trailing_fields: Mapping[str, str] = field(default_factory=dict)
    chunk_size: int = 100
    chunks_read: int = 0
    fields_read: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.chunk_size):
            self.chunks_read += 1
            yield self.data[start : start + self.chunk_size]

    async def all_fields(self) -> Mapping[str, str]:
        self.fields_read = True
        return {**self.leading_fields, **self.trailing_fields}


class UnreachableMediaRepository(InMemoryMediaRepository):
    """A repository whose database is down when an item is added."""

    async def add(self, media: Media) -> None:
        raise Unavailable("the database is down")


class ObservedStorage(InMemoryMediaStorage):
    """The in-memory store, remembering every key a save was started for and how many
    saves are still reading their chunks (the test's own window on the port)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys_tried: set[str] = set()
        self.saving = 0

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        self.keys_tried.add(key)
        self.saving += 1
        try:
            return await super().save(key, chunks)
        finally:
            self.saving -= 1

    async def content(self, key: str) -> bytes | None:
        """The blob's bytes, read back through the port, or None if there is none."""
        try:
            return b"".join([chunk async for chunk in self.read_range(key, 0, 2**62)])
        except BlobMissing:
            return None

    async def stored_keys(self) -> set[str]:
        """Every key a save was tried for that holds a blob now."""
        return {key for key in self.keys_tried if await self.content(key) is not None}


class World:
    """The media use cases from the composition root, every store in memory."""

    def __init__(
        self, *, max_bytes: int = 10_000_000, media: InMemoryMediaRepository | None = None
    ):
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.media = media or InMemoryMediaRepository()
        self.storage = ObservedStorage()
        self.container = worlds.world(
            worlds.settings(max_upload_bytes=max_bytes),
            clock=self.clock,
            ids=self.ids,
            media_repository=self.media,
            media_storage=self.storage,
        )
        self.signer = self.container.signer()
        self.upload = self.container.upload_media()
        self.list = self.container.list_media()
        self.get = self.container.get_media()
        self.delete = self.container.delete_media()
        self.issue_link = self.container.issue_stream_link()
        self.open_stream = self.container.open_stream()

    async def nothing_stored(self) -> bool:
        page = await self.media.list_page(100, None)
        return page == [] and await self.storage.stored_keys() == set() and self.storage.saving == 0


# --- uploading ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_FILE_NAMES)
async def test_each_container_is_stored_with_the_type_its_bytes_show(name: str) -> None:
    world = World()
    data, kind, container = real_file(name)

    media = await world.upload(FakeUpload(data, filename="clip.bin"), ADMIN_ID)

    assert (media.type, media.content_type) == (kind.media_type, kind.content_type)
    assert media.info is not None
    assert container in media.info.container
    assert media.info.duration_seconds == pytest.approx(0.2, abs=0.05)
    assert (media.info.video is not None) == (kind.media_type is MediaType.VIDEO)
    assert media.poster is not None
    assert media.size_bytes == len(data)
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert media.title == "clip"
    assert media.uploaded_by == ADMIN_ID
    assert media.created_at == world.clock.now()
    assert await world.storage.content(media.storage_key) == data
    assert await world.media.get(media.id) == media


async def test_the_storage_key_is_generated_never_the_clients_file_name() -> None:
    world = World()

    media = await world.upload(FakeUpload(media_file(1000), filename="../../etc/passwd"), ADMIN_ID)

    assert media.storage_key == media.id
    assert media.poster is not None
    assert media.poster.key == f"{media.id}.poster"
    assert world.storage.keys_tried == {media.id, media.poster.key}
    assert await world.storage.stored_keys() == {media.id, media.poster.key}
    assert media.title == "passwd"


@pytest.mark.parametrize("data", REFUSED_SAMPLES.values(), ids=REFUSED_SAMPLES.keys())
async def test_a_file_that_is_not_media_is_refused_after_its_first_bytes(data: bytes) -> None:
    world = World()
    upload = FakeUpload(data + b"more of the same " * 1000)

    with pytest.raises(UnsupportedMediaType) as caught:
        await world.upload(upload, ADMIN_ID)

    assert caught.value.code == "not_media"
    assert upload.chunks_read <= 3  # 256 sniffed bytes, in chunks of 100
    assert await world.nothing_stored()


async def test_an_empty_file_is_refused_as_not_media() -> None:
    world = World()
    with pytest.raises(UnsupportedMediaType):
        await world.upload(FakeUpload(b""), ADMIN_ID)
    assert await world.nothing_stored()


async def test_an_oversized_file_is_refused_as_soon_as_it_passes_the_limit() -> None:
    world = World(max_bytes=1000)
    upload = FakeUpload(media_file(50_000), chunk_size=300)

    with pytest.raises(PayloadTooLarge) as caught:
        await world.upload(upload, ADMIN_ID)

    assert caught.value.code == "file_too_large"
    assert upload.chunks_read == 4  # 1,200 bytes: the first chunk that passed 1,000
    assert await world.nothing_stored()


async def test_a_file_of_exactly_the_limit_is_accepted() -> None:
    world = World(max_bytes=1000)
    media = await world.upload(FakeUpload(media_file(1000), chunk_size=300), ADMIN_ID)
    assert media.size_bytes == 1000


async def test_a_tiny_file_is_sniffed_on_what_it_has_then_refused_as_unreadable() -> None:
    world = World()
    upload = FakeUpload(M4A_HEAD[:20], filename="song.m4a", leading_fields={"type": "audio"})

    with pytest.raises(UnsupportedMediaType) as caught:
        await world.upload(upload, ADMIN_ID)

    assert caught.value.code == "unreadable_media"  # sniffed as audio: not "not_media"
    assert await world.nothing_stored()


async def test_a_type_given_before_the_file_that_contradicts_it_is_refused_early() -> None:
    world = World()
    upload = FakeUpload(media_file(50_000), leading_fields={"type": "audio"})

    with pytest.raises(InvalidInput) as caught:
        await world.upload(upload, ADMIN_ID)

    assert caught.value.code == "type_mismatch"
    assert upload.chunks_read <= 3
    assert await world.nothing_stored()


async def test_a_type_given_after_the_file_that_contradicts_it_leaves_nothing() -> None:
    world = World()
    upload = FakeUpload(media_file(50_000), trailing_fields={"type": "audio"})

    with pytest.raises(InvalidInput) as caught:
        await world.upload(upload, ADMIN_ID)

    assert caught.value.code == "type_mismatch"
    assert upload.fields_read
    assert await world.nothing_stored()


@pytest.mark.parametrize(
    ("given", "expected"),
    [("video", MediaType.VIDEO), (" VIDEO ", MediaType.VIDEO), ("", MediaType.VIDEO)],
)
async def test_a_type_that_agrees_or_is_blank_is_accepted(given: str, expected: MediaType) -> None:
    world = World()
    media = await world.upload(
        FakeUpload(media_file(1000), leading_fields={"type": given}), ADMIN_ID
    )
    assert media.type is expected


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"type": "image"}, "bad_type"),
        ({"title": "x" * 201}, "bad_title"),
        ({"title": "line\nbreak"}, "bad_title"),
    ],
)
async def test_bad_fields_before_the_file_are_refused_before_it_is_read(
    fields: dict[str, str], code: str
) -> None:
    world = World()
    upload = FakeUpload(media_file(50_000), leading_fields=fields)

    with pytest.raises(InvalidInput) as caught:
        await world.upload(upload, ADMIN_ID)

    assert caught.value.code == code
    assert upload.chunks_read == 0
    assert await world.nothing_stored()


async def test_a_bad_title_after_the_file_leaves_nothing() -> None:
    world = World()
    with pytest.raises(InvalidInput):
        await world.upload(
            FakeUpload(media_file(5000), trailing_fields={"title": "\x07"}), ADMIN_ID
        )
    assert await world.nothing_stored()


async def test_a_given_title_is_trimmed_and_wins_over_the_file_name() -> None:
    world = World()
    upload = FakeUpload(media_file(1000), trailing_fields={"title": "  Zoë's night  "})
    assert (await world.upload(upload, ADMIN_ID)).title == "Zoë's night"


async def test_without_a_title_or_a_usable_file_name_the_upload_is_refused() -> None:
    world = World()
    with pytest.raises(InvalidInput) as caught:
        await world.upload(FakeUpload(media_file(1000), filename=None), ADMIN_ID)
    assert caught.value.code == "title_required"
    assert await world.nothing_stored()


@pytest.mark.parametrize(
    ("filename", "title"),
    [
        ("Holiday film.mp4", "Holiday film"),
        ("  spaced .mp4", "spaced"),
        ("archive.tar.gz", "archive.tar"),
        ("no extension", "no extension"),
        (".hidden", ".hidden"),
        ("C:\\Users\\ann\\Videos\\clip.mov", "clip"),
        ("folder/sub/clip.webm", "clip"),
        ("tab\there.mp3", "tabhere"),
        ("x" * 300 + ".mp4", "x" * 200),
        ("", None),
        (None, None),
        (".mp4", ".mp4"),
        ("   .mp4", ".mp4"),
        ("folder/", None),
    ],
)
def test_the_default_title_is_the_file_name_without_extension(
    filename: str | None, title: str | None
) -> None:
    assert title_from_filename(filename) == title


async def test_a_record_that_cannot_be_saved_takes_its_file_with_it() -> None:
    world = World(media=UnreachableMediaRepository())

    with pytest.raises(Unavailable):
        await world.upload(FakeUpload(media_file(5000)), ADMIN_ID)

    assert world.storage.keys_tried != set()
    assert await world.storage.stored_keys() == set()


async def test_an_upload_cancelled_after_the_file_was_stored_leaves_nothing() -> None:
    world = World()
    stored = asyncio.Event()

    class HangingFields(FakeUpload):
        async def all_fields(self) -> Mapping[str, str]:
            stored.set()
            await asyncio.sleep(3600)
            return {}

    task = asyncio.create_task(world.upload(HangingFields(media_file(5000)), ADMIN_ID))
    await stored.wait()
    assert len(await world.storage.stored_keys()) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)  # the shielded delete finishes

    assert await world.nothing_stored()


async def test_two_uploads_with_the_same_file_name_are_both_kept() -> None:
    world = World()

    first, second = await asyncio.gather(
        world.upload(FakeUpload(media_file(3000, seed=1), filename="same.mp4"), ADMIN_ID),
        world.upload(FakeUpload(media_file(3000, seed=2), filename="same.mp4"), ADMIN_ID),
    )

    assert first.id != second.id
    assert first.storage_key != second.storage_key
    assert await world.storage.content(first.storage_key) == media_file(3000, seed=1)
    assert await world.storage.content(second.storage_key) == media_file(3000, seed=2)


# --- the catalogue -----------------------------------------------------------------------------


async def add_items(world: World, count: int) -> list[Media]:
    """``count`` items a minute apart, returned newest first."""
    items = [make_media(created_at=world.clock.now() + timedelta(minutes=i)) for i in range(count)]
    for item in items:
        await world.media.add(item)
    return items[::-1]


async def test_the_catalogue_pages_newest_first_until_the_cursor_runs_out() -> None:
    world = World()
    items = await add_items(world, 25)

    seen: list[Media] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await world.list(10, cursor)
        seen += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == items
    assert pages == 3


async def test_a_page_that_ends_the_catalogue_exactly_has_no_next_cursor() -> None:
    world = World()
    await add_items(world, 10)
    assert (await world.list(10)).next_cursor is None
    assert (await world.list(9)).next_cursor is not None


async def test_an_item_added_while_paging_is_neither_repeated_nor_skipped_later() -> None:
    world = World()
    items = await add_items(world, 6)
    first = await world.list(3)
    newest = make_media(created_at=world.clock.now() + timedelta(days=1))
    await world.media.add(newest)

    second = await world.list(3, first.next_cursor)

    assert list(first.items + second.items) == items


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_limit_outside_1_to_100_is_refused(limit: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        await World().list(limit)
    assert caught.value.code == "bad_limit"


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", "bm90IGpzb24", "WzEsMl0", "WyIyMDI1LTAxLTAxVDAwOjAwOjAwIiwiaWQiXQ", "x" * 500],
    ids=["not base64", "not json", "not a pair of strings", "a naive time", "too long"],
)
async def test_a_cursor_we_did_not_hand_out_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await World().list(10, cursor)
    assert caught.value.code == "bad_cursor"


def test_a_cursor_round_trips_the_position_of_its_item() -> None:
    item = make_media()
    cursor = encode_cursor(item)
    assert decode_cursor(cursor) == (item.created_at, item.id)
    assert cursor.isascii()
    assert not set(cursor) & set("=/+")


async def test_get_finds_an_item_and_not_found_is_404() -> None:
    world = World()
    [item] = await add_items(world, 1)
    assert await world.get(item.id) == item
    with pytest.raises(NotFound) as caught:
        await world.get("no-such-id")
    assert caught.value.code == "media_not_found"


async def test_delete_removes_the_record_and_the_file() -> None:
    world = World()
    media = await world.upload(FakeUpload(media_file(5000)), ADMIN_ID)

    deleted = await world.delete(media.id)

    assert deleted == media
    assert await world.nothing_stored()
    with pytest.raises(NotFound):
        await world.delete(media.id)


# --- links and streams ---------------------------------------------------------------------------


async def uploaded(world: World, data: bytes | None = None) -> Media:
    return await world.upload(FakeUpload(data or media_file(5000)), ADMIN_ID)


async def test_a_link_is_good_for_its_media_for_ten_minutes() -> None:
    world = World()
    media = await uploaded(world)

    link = await world.issue_link(media.id)

    assert link.expires_at == world.clock.now() + timedelta(minutes=10)
    world.clock.advance(minutes=9, seconds=59)
    assert (await world.open_stream(media.id, link.token)).media == media
    world.clock.advance(seconds=10)  # past the expiry and the signer's leeway
    with pytest.raises(Forbidden) as caught:
        await world.open_stream(media.id, link.token)
    assert caught.value.code == "token_expired"


async def test_the_link_lifetime_is_configurable() -> None:
    world = World()
    media = await uploaded(world)
    issue = IssueStreamLink(
        world.media, world.signer, world.clock, world.ids, timedelta(seconds=30)
    )
    assert (await issue(media.id)).expires_at == world.clock.now() + timedelta(seconds=30)
    with pytest.raises(InvalidInput):
        IssueStreamLink(world.media, world.signer, world.clock, world.ids, timedelta(0))


async def test_no_link_is_issued_for_unknown_media() -> None:
    with pytest.raises(NotFound):
        await World().issue_link("no-such-id")


async def test_a_link_for_one_media_never_opens_another() -> None:
    world = World()
    first, second = await uploaded(world), await uploaded(world)
    link = await world.issue_link(first.id)

    with pytest.raises(Forbidden) as caught:
        await world.open_stream(second.id, link.token)

    assert caught.value.code == "token_wrong_media"


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, "token_missing"), ("", "token_missing"), ("not.a.token", "token_invalid")],
)
async def test_a_stream_without_a_good_token_is_forbidden(token: str | None, code: str) -> None:
    world = World()
    media = await uploaded(world)
    with pytest.raises(Forbidden) as caught:
        await world.open_stream(media.id, token)
    assert caught.value.code == code


async def test_the_token_is_checked_before_the_media_is_looked_up() -> None:
    with pytest.raises(Forbidden):
        await World().open_stream("no-such-id", None)


async def test_deleting_media_kills_its_links_at_once() -> None:
    world = World()
    media = await uploaded(world)
    link = await world.issue_link(media.id)
    await world.delete(media.id)

    with pytest.raises(NotFound):
        await world.open_stream(media.id, link.token)


async def test_an_opened_stream_reads_ranges_of_the_stored_bytes() -> None:
    world = World()
    data = media_file(200_000)
    media = await uploaded(world, data)
    stream = await world.open_stream(media.id, (await world.issue_link(media.id)).token)

    parts: Sequence[bytes] = [chunk async for chunk in stream.read(1000, 150_000)]

    assert b"".join(parts) == data[1000:150_001]
    assert stream.local_path() is None


# --- redirect mode: the store's own URL, dead no later than the link ------------------------


@dataclass
class RecordedDirectLinks:
    """A DirectLinks that records what it was asked for."""

    asked: list[tuple[str, object, str]] = field(default_factory=list)

    async def direct_url(self, key: str, expires_at: object, *, content_type: str) -> str | None:
        self.asked.append((key, expires_at, content_type))
        return f"https://store.invalid/{key}"


async def test_without_direct_links_a_stream_offers_no_direct_url() -> None:
    world = World()
    media = await uploaded(world, media_file(2000))

    stream = await world.open_stream(media.id, (await world.issue_link(media.id)).token)

    assert await stream.direct_url() is None


async def test_with_direct_links_a_stream_asks_for_a_url_that_dies_with_its_link() -> None:
    links = RecordedDirectLinks()
    world = World()
    world.container.direct_links.override(links)
    open_stream = world.container.open_stream()
    media = await uploaded(world, media_file(2000))
    link = await world.issue_link(media.id)
    world.clock.advance(minutes=3)
    expires_at = world.signer.verify_stream(link.token, world.clock.now()).expires_at

    stream = await open_stream(media.id, link.token)

    assert await stream.direct_url() == f"https://store.invalid/{media.storage_key}"
    assert links.asked == [(media.storage_key, expires_at, media.content_type)]
    with pytest.raises(Forbidden):  # the link is checked first, as without redirects
        await open_stream(media.id, "not-a-token")
    assert len(links.asked) == 1


async def test_a_delete_whose_bytes_cannot_be_removed_still_deletes_and_logs_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class StoreDownOnDelete(InMemoryMediaStorage):
        async def delete(self, key: str) -> None:
            raise Unavailable("the media store cannot delete a blob")

    world = World()
    item = await world.upload(FakeUpload(media_file(1000), filename="a.mp4"), ADMIN_ID)
    delete = DeleteMedia(world.media, StoreDownOnDelete())

    with caplog.at_level(logging.ERROR, logger="klantroef.media"):
        assert (await delete(item.id)).id == item.id

    assert item.storage_key in caplog.text
    with pytest.raises(NotFound):
        await delete(item.id)
