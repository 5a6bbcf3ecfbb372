"""The resumable-upload rules from the composition root, in memory: offsets, limits,
metadata, expiry and the hand-over to UploadMedia, each leaving nothing behind."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from klantroef_adapters.memory.partial_uploads import InMemoryPartialUploads
from klantroef_adapters.memory.upload_sessions import InMemoryUploadSessions
from klantroef_app.container import Container, in_memory
from klantroef_app.settings import Settings
from klantroef_core.errors import (
    BadRequest,
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from tests.fakes import FakeClock
from tests.media_samples import media_file

OWNER = "00000000-0000-4000-8000-aaaaaaaaaaaa"
OTHER = "00000000-0000-4000-8000-bbbbbbbbbbbb"
FILE = media_file(5000)
META = {"filename": "Holiday film.mp4", "title": "Holiday", "type": "video"}


async def chunks(data: bytes, size: int = 700) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(clock: FakeClock) -> Container:
    return in_memory(Settings(max_upload_bytes=10_000, upload_expiry=3600), clock=clock)


async def nothing_left(world: Container) -> None:
    sessions = world.upload_sessions()
    partials = world.partial_uploads()
    assert isinstance(sessions, InMemoryUploadSessions)
    assert isinstance(partials, InMemoryPartialUploads)
    assert await sessions.expired(FakeClock().now() + timedelta(days=999), 100) == []
    assert partials.held() == 0
    page = await world.list_media()(10, None)
    assert list(page.items) == []


async def test_an_upload_in_three_appends_becomes_a_media_item(world: Container) -> None:
    created = await world.create_upload()(len(FILE), META, OWNER)
    upload_id = created.session.id
    append = world.append_to_upload()

    first = await append(upload_id, 0, chunks(FILE[:2000]), OWNER)
    second = await append(upload_id, 2000, chunks(FILE[2000:4500]), OWNER)
    status = await world.upload_status()(upload_id, OWNER)
    last = await append(upload_id, 4500, chunks(FILE[4500:]), OWNER)

    assert (first.session.offset, second.session.offset, status.session.offset) == (
        2000,
        4500,
        4500,
    )
    assert first.media is None
    assert last.media is not None
    media = last.media
    assert (media.title, media.type.value, media.size_bytes) == ("Holiday", "video", len(FILE))
    assert media.sha256 == hashlib.sha256(FILE).hexdigest()
    assert media.uploaded_by == OWNER
    done = await world.upload_status()(upload_id, OWNER)
    assert (done.session.offset, done.session.media_id) == (len(FILE), media.id)
    assert world.partial_uploads().held() == 0


async def test_creation_with_upload_can_finish_in_one_request(world: Container) -> None:
    done = await world.create_upload()(len(FILE), META, OWNER, chunks(FILE), len(FILE))
    assert done.media is not None
    assert done.media.title == "Holiday"
    assert world.partial_uploads().held() == 0


async def test_a_title_defaults_to_the_file_name(world: Container) -> None:
    done = await world.create_upload()(len(FILE), {"filename": "Beach.mov"}, OWNER, chunks(FILE))
    assert done.media is not None
    assert done.media.title == "Beach"


async def test_a_wrong_offset_is_409_and_changes_nothing(world: Container) -> None:
    created = await world.create_upload()(len(FILE), META, OWNER)
    append = world.append_to_upload()
    await append(created.session.id, 0, chunks(FILE[:1000]), OWNER)

    for wrong in (0, 999, 1001, 6000):
        with pytest.raises(Conflict) as caught:
            await append(created.session.id, wrong, chunks(b"x" * 10), OWNER)
        assert caught.value.code == "offset_mismatch"

    assert (await world.upload_status()(created.session.id, OWNER)).session.offset == 1000


async def test_bytes_past_the_length_are_413_and_the_upload_stays_where_it_was(
    world: Container,
) -> None:
    created = await world.create_upload()(100, META, OWNER)
    append = world.append_to_upload()

    with pytest.raises(PayloadTooLarge) as announced:
        await append(created.session.id, 0, chunks(b"x" * 101), OWNER, declared=101)
    with pytest.raises(PayloadTooLarge) as streamed:
        await append(created.session.id, 0, chunks(b"x" * 101, 30), OWNER)

    assert announced.value.code == streamed.value.code == "upload_length_exceeded"
    assert (await world.upload_status()(created.session.id, OWNER)).session.offset == 0


async def test_a_length_over_the_limit_is_413_at_creation(world: Container) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        await world.create_upload()(10_001, META, OWNER)
    assert caught.value.code == "file_too_large"
    await nothing_left(world)


@pytest.mark.parametrize(
    ("metadata", "error", "code"),
    [
        ({"filename": "f" * 256}, BadRequest, "metadata_too_long"),
        ({"title": "t" * 201}, BadRequest, "metadata_too_long"),
        ({"type": "image"}, BadRequest, "bad_metadata"),
        ({"title": "bad\x07title"}, InvalidInput, "bad_title"),
        ({}, InvalidInput, "title_required"),
        ({"filename": "\x01\x02", "type": "video"}, InvalidInput, "title_required"),
    ],
)
async def test_bad_metadata_is_refused_at_creation(
    world: Container, metadata: dict[str, str], error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        await world.create_upload()(len(FILE), metadata, OWNER)
    assert getattr(caught.value, "code", None) == code
    await nothing_left(world)


async def test_a_completed_file_that_is_no_media_leaves_nothing(world: Container) -> None:
    text = b"just some text, no video at all " * 20
    created = await world.create_upload()(len(text), {"title": "Notes"}, OWNER)

    with pytest.raises(UnsupportedMediaType):
        await world.append_to_upload()(created.session.id, 0, chunks(text), OWNER)

    await nothing_left(world)
    with pytest.raises(NotFound):
        await world.upload_status()(created.session.id, OWNER)


async def test_a_type_that_contradicts_the_bytes_leaves_nothing(world: Container) -> None:
    with pytest.raises(InvalidInput) as caught:
        await world.create_upload()(len(FILE), {"type": "audio", "title": "x"}, OWNER, chunks(FILE))
    assert caught.value.code == "type_mismatch"
    await nothing_left(world)


async def test_an_expired_upload_is_410_then_gone_with_its_bytes(
    world: Container, clock: FakeClock
) -> None:
    created = await world.create_upload()(len(FILE), META, OWNER)
    await world.append_to_upload()(created.session.id, 0, chunks(FILE[:100]), OWNER)
    clock.advance(3600)

    with pytest.raises(Gone) as caught:
        await world.append_to_upload()(created.session.id, 100, chunks(FILE[100:]), OWNER)

    assert caught.value.code == "upload_expired"
    await nothing_left(world)
    with pytest.raises(NotFound):
        await world.upload_status()(created.session.id, OWNER)


async def test_expired_uploads_are_swept_without_being_asked_for(
    world: Container, clock: FakeClock
) -> None:
    for _ in range(3):
        created = await world.create_upload()(len(FILE), META, OWNER)
        await world.append_to_upload()(created.session.id, 0, chunks(FILE[:10]), OWNER)
    clock.advance(3599)
    assert await world.sweep_uploads()() == 0
    clock.advance(1)

    assert await world.sweep_uploads()() == 3
    await nothing_left(world)


async def test_creating_an_upload_sweeps_expired_ones(world: Container, clock: FakeClock) -> None:
    await world.create_upload()(len(FILE), META, OWNER)
    clock.advance(7200)
    fresh = await world.create_upload()(len(FILE), META, OWNER)

    assert world.partial_uploads().held() == 1
    assert (await world.upload_status()(fresh.session.id, OWNER)).session.offset == 0


async def test_another_admins_upload_is_not_found(world: Container) -> None:
    created = await world.create_upload()(len(FILE), META, OWNER)
    with pytest.raises(NotFound):
        await world.upload_status()(created.session.id, OTHER)
    with pytest.raises(NotFound):
        await world.append_to_upload()(created.session.id, 0, chunks(FILE), OTHER)
    with pytest.raises(NotFound):
        await world.cancel_upload()(created.session.id, OTHER)


async def test_cancelling_removes_the_bytes_and_the_session(world: Container) -> None:
    created = await world.create_upload()(len(FILE), META, OWNER)
    await world.append_to_upload()(created.session.id, 0, chunks(FILE[:100]), OWNER)

    await world.cancel_upload()(created.session.id, OWNER)

    await nothing_left(world)


async def test_a_completed_upload_takes_no_more_bytes(world: Container) -> None:
    done = await world.create_upload()(len(FILE), META, OWNER, chunks(FILE))
    with pytest.raises(Conflict) as caught:
        await world.append_to_upload()(done.session.id, len(FILE), chunks(b""), OWNER)
    assert caught.value.code == "upload_complete"


async def test_bytes_missing_here_is_409_and_the_upload_is_kept(world: Container) -> None:
    created = await world.create_upload()(len(FILE), META, OWNER)
    await world.append_to_upload()(created.session.id, 0, chunks(FILE[:100]), OWNER)
    await world.partial_uploads().discard(created.session.id)  # as on another host

    with pytest.raises(Conflict) as caught:
        await world.append_to_upload()(created.session.id, 100, chunks(FILE[100:]), OWNER)

    assert caught.value.code == "upload_bytes_missing"
    assert (await world.upload_status()(created.session.id, OWNER)).session.offset == 100
