"""What the PartialUploads contract cannot see of the S3 store: whole parts across
appends, cutting back past a part boundary, what the bucket holds at each step,
and one writer at a time across hosts (claims in SQL); then the claims themselves.

The bucket is the session's SeaweedFS (``tests/seaweedfs.py``); the parts 5 MiB.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.upload_leases import SqlUploadLeases
from klantroef_adapters.storage.leases import InMemoryUploadLeases, UploadLeases, held
from klantroef_adapters.storage.s3 import MIB
from klantroef_adapters.storage.s3_partial_uploads import S3PartialUploads, part_size_for
from klantroef_adapters.testing.partial_uploads import failing_after, new_id
from klantroef_core.errors import BlobMissing, Unavailable, UploadBusy
from tests.contract.conftest import S3_TEST_BUCKET, S3StorageUnderTest
from tests.fakes import FakeClock
from tests.seaweedfs import (
    BucketListing,
    list_bucket,
    object_sizes,
    unreachable_s3_storage,
)
from tests.services import MARIADB_URL
from tests.sql_engines import mariadb_engine, sqlite_engine

PART = 5 * MIB
DATA = random.Random(13).randbytes(13 * MIB + 12_345)


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


async def digest_of(uploads: S3PartialUploads, upload_id: str, length: int) -> str:
    digest = hashlib.sha256()
    async for chunk in uploads.read(upload_id, length):
        digest.update(chunk)
    return digest.hexdigest()


def names(listing: BucketListing, folder: str) -> list[str]:
    return [name.removeprefix(folder) for name in listing.objects]


@pytest.fixture
def uploads(s3_storage: S3StorageUnderTest) -> S3PartialUploads:
    return S3PartialUploads(s3_storage, InMemoryUploadLeases(), part_size=PART)


@pytest.mark.seaweedfs
async def test_appends_of_any_size_become_whole_parts_and_one_object(
    uploads: S3PartialUploads, s3_storage: S3StorageUnderTest
) -> None:
    upload = new_id()
    folder = uploads.folder(upload)
    await uploads.create(upload)

    assert await uploads.append(upload, 0, pieces(DATA[: 3 * MIB], 64 * 1024)) == 3 * MIB
    reached = await uploads.append(upload, 3 * MIB, pieces(DATA[3 * MIB : 11 * MIB + 7], MIB))
    assert reached == 11 * MIB + 7
    with pytest.raises(ConnectionResetError):  # breaks off after crossing a part boundary
        await uploads.append(
            upload,
            reached,
            failing_after([DATA[reached : reached + 2 * MIB]], ConnectionResetError()),
        )
    assert await uploads.append(upload, reached, pieces(DATA[reached:], 700_001)) == len(DATA)

    during = await list_bucket(s3_storage.server, S3_TEST_BUCKET, folder)
    assert during.uploads == [folder + "data"]  # parts wait in one multipart upload
    assert sorted(n for n in names(during, folder) if n.startswith("tail-")) == ["tail-2"]

    assert await digest_of(uploads, upload, len(DATA)) == hashlib.sha256(DATA).hexdigest()
    assert await digest_of(uploads, upload, 10) == hashlib.sha256(DATA[:10]).hexdigest()
    finished = await list_bucket(s3_storage.server, S3_TEST_BUCKET, folder)
    assert finished.uploads == []
    assert folder + "data" in finished.objects

    await uploads.discard(upload)
    assert await list_bucket(s3_storage.server, S3_TEST_BUCKET, folder) == BucketListing([], [])


@pytest.mark.seaweedfs
async def test_an_append_is_cut_back_to_where_the_last_one_started_across_a_part(
    uploads: S3PartialUploads, s3_storage: S3StorageUnderTest
) -> None:
    """The caller recorded 3 MiB, the store took 16 (parts 1 to 3 sent, the advance
    lost): the next append from 3 MiB rebuilds part 1 from the tail it kept, and the
    part past its end is left out of the finished object.

    A client resends the same bytes of the same file past the recorded offset, so a
    part is only ever replaced by the same bytes (S3 keeps the last upload of a part
    number; SeaweedFS may complete with either).
    """
    data = DATA + DATA[: 5 * MIB]
    upload = new_id()
    await uploads.create(upload)
    await uploads.append(upload, 0, pieces(data[: 3 * MIB], MIB))
    assert await uploads.append(upload, 3 * MIB, pieces(data[3 * MIB : 16 * MIB], MIB)) == (
        16 * MIB
    )

    assert await uploads.append(upload, 3 * MIB, pieces(data[3 * MIB : 10 * MIB], MIB)) == (
        10 * MIB
    )

    assert (
        await digest_of(uploads, upload, 10 * MIB) == hashlib.sha256(data[: 10 * MIB]).hexdigest()
    )
    folder = uploads.folder(upload)
    sizes = await object_sizes(s3_storage.server, S3_TEST_BUCKET, folder)
    assert sizes[folder + "data"] == 10 * MIB
    await uploads.discard(upload)


@pytest.mark.seaweedfs
async def test_an_empty_append_inside_a_part_keeps_its_offset_and_cuts_off_the_rest(
    uploads: S3PartialUploads,
) -> None:
    upload = new_id()
    await uploads.create(upload)
    await uploads.append(upload, 0, pieces(DATA[: 6 * MIB], MIB))  # part 1 and a 1 MiB tail

    assert await uploads.append(upload, 6 * MIB, pieces(b"", 1)) == 6 * MIB
    assert await uploads.append(upload, 5 * MIB + 10, pieces(b"", 1)) == 5 * MIB + 10

    with pytest.raises(BlobMissing):  # the bytes past the offset are gone
        await digest_of(uploads, upload, 6 * MIB)
    assert await digest_of(uploads, upload, 5 * MIB + 10) == (
        hashlib.sha256(DATA[: 5 * MIB + 10]).hexdigest()
    )
    await uploads.discard(upload)


@pytest.mark.seaweedfs
async def test_an_empty_append_after_completion_finds_its_offset(
    uploads: S3PartialUploads,
) -> None:
    """A client asking again after the file was assembled (but before it became media)."""
    upload = new_id()
    await uploads.create(upload)
    await uploads.append(upload, 0, pieces(DATA[:1000], 100))
    assert await digest_of(uploads, upload, 1000) == hashlib.sha256(DATA[:1000]).hexdigest()

    assert await uploads.append(upload, 1000, pieces(b"", 1)) == 1000
    assert await digest_of(uploads, upload, 1000) == hashlib.sha256(DATA[:1000]).hexdigest()
    await uploads.discard(upload)


@pytest.mark.seaweedfs
@pytest.mark.mariadb
async def test_two_hosts_on_one_database_never_write_one_upload_at_once(
    s3_storage: S3StorageUnderTest,
) -> None:
    async with mariadb_engine() as engine_a:
        engine_b = create_engine(MARIADB_URL)
        try:
            host_a = S3PartialUploads(
                s3_storage, SqlUploadLeases(engine_a, FakeClock()), part_size=PART
            )
            host_b = S3PartialUploads(
                s3_storage, SqlUploadLeases(engine_b, FakeClock()), part_size=PART
            )
            upload = new_id()
            await host_a.create(upload)
            gate = asyncio.Event()

            async def slow() -> AsyncIterator[bytes]:
                yield DATA[:100]
                await gate.wait()
                yield DATA[100:200]

            first = asyncio.create_task(host_a.append(upload, 0, slow()))
            await asyncio.sleep(0.2)
            with pytest.raises(UploadBusy):
                await host_b.append(upload, 0, pieces(b"intruder", 8))
            gate.set()
            assert await first == 200

            with pytest.raises(ConnectionResetError):  # released on a failure too
                await host_b.append(upload, 200, failing_after([b"y"], ConnectionResetError()))
            assert await host_b.append(upload, 200, pieces(DATA[200:300], 50)) == 300
            assert await digest_of(host_a, upload, 300) == hashlib.sha256(DATA[:300]).hexdigest()
            await host_b.discard(upload)
        finally:
            await engine_b.dispose()


def test_parts_are_8_mib_or_as_large_as_10000_parts_of_the_largest_upload_need() -> None:
    assert part_size_for(1) == 8 * MIB
    assert part_size_for(80_000 * MIB) == 8 * MIB
    assert part_size_for(80_000 * MIB + 1) == 9 * MIB
    assert part_size_for(200_000 * MIB) * 10_000 >= 200_000 * MIB


# --- the claims -----------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def leases(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[UploadLeases, FakeClock]]:
    clock = FakeClock()
    if request.param == "memory":
        yield InMemoryUploadLeases(clock), clock
        return
    manager = sqlite_engine(tmp_path) if request.param == "sqlite" else mariadb_engine()
    async with manager as engine:
        yield SqlUploadLeases(engine, clock), clock


async def test_a_claim_is_one_holders_until_released_or_expired(
    leases: tuple[UploadLeases, FakeClock],
) -> None:
    store, clock = leases
    assert await store.claim("u1", "a", 30)
    assert not await store.claim("u1", "b", 30)
    assert await store.claim("u2", "b", 30)  # other names are free

    clock.advance(20)
    assert await store.renew("u1", "a", 30)
    assert not await store.renew("u1", "b", 30)
    clock.advance(20)
    assert not await store.claim("u1", "b", 30)  # renewed: not expired yet

    clock.advance(11)  # the holder died: the claim expires and can be taken over
    assert await store.claim("u1", "b", 30)
    assert not await store.renew("u1", "a", 30)
    await store.release("u1", "a")  # not a's any more: nothing happens
    assert not await store.claim("u1", "c", 30)
    await store.release("u1", "b")
    await store.release("u1", "b")
    assert await store.claim("u1", "c", 30)


async def test_a_held_claim_is_released_however_the_block_ends() -> None:
    store = InMemoryUploadLeases()
    with pytest.raises(ConnectionResetError):
        async with held(store, "u1", 30):
            raise ConnectionResetError
    async with held(store, "u1", 30):
        with pytest.raises(UploadBusy):
            async with held(store, "u1", 30):
                pass
    task = asyncio.create_task(_hold_forever(store))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with held(store, "u1", 30):
        pass


async def _hold_forever(store: UploadLeases) -> None:
    async with held(store, "u1", 30):
        await asyncio.Event().wait()


async def test_a_held_claim_is_renewed_while_its_holder_works() -> None:
    store = InMemoryUploadLeases()
    async with held(store, "u1", 0.06) as lease:
        await asyncio.sleep(0.2)  # three lifetimes
        lease.check()
        assert not await store.claim("u1", "other", 0.06)


class _ForgetfulLeases(InMemoryUploadLeases):
    """Claims that are lost at the first renewal (as when another host took one over)."""

    async def renew(self, name: str, holder: str, seconds: float) -> bool:
        return False


@pytest.mark.seaweedfs
async def test_an_append_whose_claim_was_lost_stops_before_writing_on(
    s3_storage: S3StorageUnderTest,
) -> None:
    uploads = S3PartialUploads(s3_storage, _ForgetfulLeases(), part_size=PART, lease_seconds=0.03)
    upload = new_id()
    await uploads.create(upload)

    async def slow() -> AsyncIterator[bytes]:
        yield DATA[:100]
        await asyncio.sleep(0.1)  # three lifetimes: the renewal has failed by now
        yield DATA[100:200]

    with pytest.raises(UploadBusy):
        await uploads.append(upload, 0, slow())
    with pytest.raises(BlobMissing):  # nothing was written
        await uploads.append(upload, 1, pieces(b"x", 1))
    await uploads.discard(upload)


async def test_every_call_to_an_unreachable_store_is_unavailable() -> None:
    storage = unreachable_s3_storage()  # nothing listens there
    uploads = S3PartialUploads(storage, InMemoryUploadLeases())
    try:
        for call in (
            uploads.create("u1"),
            uploads.append("u1", 0, pieces(b"x", 1)),
            uploads.discard("u1"),
            digest_of(uploads, "u1", 1),
        ):
            with pytest.raises(Unavailable) as caught:
                await call
            assert caught.value.code == "storage_unavailable"
    finally:
        await storage.close()
