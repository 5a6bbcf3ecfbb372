"""What the MediaStorage contract cannot see of the S3 store: multipart uploads,
their abort, memory, races on a key, timeouts, bucket set-up and presigned URLs.

All against the session's SeaweedFS (``tests/seaweedfs.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiobotocore.session import get_session

from klantroef_adapters.storage.s3 import MIB, S3MediaStorage
from klantroef_core.errors import AlreadyExists, BlobMissing, Unavailable
from tests.contract.conftest import S3_TEST_BUCKET, S3StorageUnderTest
from tests.seaweedfs import (
    SeaweedS3,
    list_bucket,
    presigned_expiry,
    unreachable_s3_storage,
)

pytestmark = pytest.mark.seaweedfs

SESSION = get_session()
PART = 5 * MIB
BIG = bytes((i * 7 + i // 251) % 256 for i in range(12 * MIB + 5))  # 3 parts: 5 + 5 + 2 MiB


async def pieces(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def read_all(storage: S3MediaStorage, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in storage.read_range(key, start, end)])


def _client(server: SeaweedS3) -> Any:
    """A client of our own, beside the adapter's."""
    return SESSION.create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    )


async def put_directly(server: SeaweedS3, name: str, body: bytes) -> None:
    """Write an object behind the adapter's back, as another writer would."""
    async with _client(server) as client:
        await client.put_object(Bucket=S3_TEST_BUCKET, Key=name, Body=body)


async def etag(server: SeaweedS3, name: str) -> str:
    async with _client(server) as client:
        answer = await client.head_object(Bucket=S3_TEST_BUCKET, Key=name)
    return str(answer["ETag"]).strip('"')


@pytest.fixture
async def storage(seaweedfs: SeaweedS3) -> AsyncIterator[S3StorageUnderTest]:
    """The S3 store with 5 MiB parts (S3's smallest) and 64 KiB read chunks."""
    store = S3StorageUnderTest(seaweedfs, part_size=PART, read_chunk=64 * 1024)
    await store.ensure_bucket()
    try:
        yield store
    finally:
        await store.close()


async def test_a_multipart_blob_reads_back_exactly_across_part_boundaries(
    storage: S3StorageUnderTest,
) -> None:
    blob = await storage.save("big", pieces(BIG))

    assert (blob.size, blob.sha256) == (len(BIG), hashlib.sha256(BIG).hexdigest())
    whole = await read_all(storage, "big", 0, len(BIG) - 1)
    assert hashlib.sha256(whole).hexdigest() == blob.sha256
    for start, end in [
        (PART - 10, PART + 10),  # straddles parts 1 and 2
        (2 * PART - 1, 2 * PART),  # the last byte of part 2, the first of part 3
        (PART - 1, 2 * PART + 1),  # all of part 2 and a byte either side
        (len(BIG) - 3, len(BIG) + 100),  # past the end: stops at the last byte
    ]:
        assert await read_all(storage, "big", start, end) == BIG[start : end + 1]
    listing = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
    assert listing.objects == [storage.prefix + "big"]
    assert listing.uploads == []


async def test_a_blob_of_a_part_or_more_goes_up_in_parts(storage: S3StorageUnderTest) -> None:
    await storage.save("big", pieces(BIG))
    await storage.save("small", pieces(BIG[: PART - 1]))

    assert (await etag(storage.server, storage.prefix + "big")).endswith("-3")  # 3 parts
    assert "-" not in await etag(storage.server, storage.prefix + "small")  # one PUT


async def save_under_way(storage: S3StorageUnderTest, key: str, sent: int) -> asyncio.Task[object]:
    """A save of a source that never ends, once at least ``sent`` bytes went into it."""
    fed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal fed
        while True:
            fed += MIB
            yield BIG[:MIB]
            await asyncio.sleep(0)

    task: asyncio.Task[object] = asyncio.create_task(storage.save(key, endless()))
    while fed < sent:
        await asyncio.sleep(0.01)
    return task


async def test_a_save_cancelled_halfway_aborts_its_multipart_upload(
    storage: S3StorageUnderTest,
) -> None:
    task = await save_under_way(storage, "blob", 3 * PART)  # parts 1-2 up, 3 filling
    during = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    after = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
    assert during.uploads == [storage.prefix + "blob"]  # the upload was really under way
    assert after.uploads == []
    assert after.objects == []


async def test_a_second_cancellation_does_not_skip_the_abort(
    storage: S3StorageUnderTest,
) -> None:
    task = await save_under_way(storage, "blob", 2 * PART)
    task.cancel()
    await asyncio.sleep(0)  # the save is now aborting the upload
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await storage.close()  # waits for the abort that went on in the background

    listing = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
    assert listing.uploads == []
    assert listing.objects == []


async def test_a_failing_source_aborts_the_upload_and_its_error_propagates(
    storage: S3StorageUnderTest,
) -> None:
    async def failing() -> AsyncIterator[bytes]:
        async for piece in pieces(BIG[: 2 * PART + MIB]):
            yield piece
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError, match="went away"):
        await storage.save("blob", failing())

    listing = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
    assert (listing.uploads, listing.objects) == ([], [])


@pytest.mark.parametrize("size", [1000, 2 * PART + 7], ids=["one-put", "multipart"])
async def test_a_key_taken_while_uploading_is_a_conflict_and_the_other_blob_stays(
    storage: S3StorageUnderTest, size: int
) -> None:
    async def racing() -> AsyncIterator[bytes]:
        first = True
        async for piece in pieces(BIG[:size]):
            yield piece
            if first:  # after the adapter's own existence check: only the store can refuse
                await put_directly(storage.server, storage.prefix + "blob", b"the other writer")
                first = False

    with pytest.raises(AlreadyExists):
        await storage.save("blob", racing())

    assert await read_all(storage, "blob", 0, 100) == b"the other writer"
    listing = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
    assert listing.uploads == []


async def test_many_concurrent_saves_of_one_key_keep_exactly_one(
    storage: S3StorageUnderTest,
) -> None:
    # SeaweedFS serialises conditional writes of one key with a lock it polls each
    # second, so every extra writer may cost a second: three writers, two rounds.
    for attempt in range(2):
        key = f"race-{attempt}"
        results = await asyncio.gather(
            *(storage.save(key, pieces(bytes([n]) * 50_000)) for n in range(3)),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) == 1, results
        assert all(isinstance(r, AlreadyExists) for r in results if r not in winners)
        stored = await read_all(storage, key, 0, 60_000)
        assert len(stored) == 50_000
        assert len(set(stored)) == 1


async def test_saving_64_mib_holds_only_a_few_parts_in_memory(
    storage: S3StorageUnderTest,
) -> None:
    piece = bytes(range(256)) * 4096  # 1 MiB, made before measuring
    count = 64

    async def source() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield piece

    tracemalloc.start()
    try:
        blob = await storage.save("large", source())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert blob.size == count * MIB
    # One part on the wire and one filling (about 10.6 MiB measured): under 3 parts.
    assert peak < 3 * PART, f"peak {peak / MIB:.1f} MiB"


async def test_stopping_early_closes_the_response(seaweedfs: SeaweedS3) -> None:
    storage = S3StorageUnderTest(seaweedfs, part_size=PART, read_chunk=4096, max_connections=2)
    try:
        await storage.save("big", pieces(BIG))
        for _ in range(10):  # unreleased responses would exhaust the pool of two
            chunks = cast(AsyncGenerator[bytes, None], storage.read_range("big", 0, len(BIG) - 1))
            first = await asyncio.wait_for(anext(chunks), 10)
            assert 0 < len(first) <= 4096  # what has arrived, up to a read chunk
            assert BIG.startswith(first)
            await chunks.aclose()
    finally:
        await storage.close()


async def test_a_range_after_the_end_of_a_blob_is_empty(storage: S3StorageUnderTest) -> None:
    await storage.save("short", pieces(b"0123456789"))
    await storage.save("empty", pieces(b""))

    assert await read_all(storage, "short", 10, 20) == b""
    assert await read_all(storage, "empty", 0, 0) == b""
    with pytest.raises(BlobMissing):
        await read_all(storage, "missing", 5, 6)


async def test_objects_are_named_prefix_plus_key(storage: S3StorageUnderTest) -> None:
    await storage.save("abc-123", pieces(b"x"))

    listing = await list_bucket(storage.server, S3_TEST_BUCKET, "")
    assert storage.prefix + "abc-123" in listing.objects


# --- failures of the store ----------------------------------------------------------------


def _calls(storage: S3MediaStorage) -> list[Callable[[], Awaitable[object]]]:
    return [
        lambda: storage.save("blob", pieces(b"data")),
        lambda: read_all(storage, "blob", 0, 1),
        lambda: storage.delete("blob"),
        storage.ensure_bucket,
    ]


async def test_an_unreachable_store_is_unavailable_quickly() -> None:
    storage = unreachable_s3_storage()  # nothing listens there
    try:
        for call in _calls(storage):
            started = time.monotonic()
            with pytest.raises(Unavailable) as caught:
                await call()
            assert caught.value.code == "storage_unavailable"
            assert time.monotonic() - started < 5
    finally:
        await storage.close()


async def test_a_store_that_never_answers_times_out_as_unavailable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        storage = S3MediaStorage(
            "bucket",
            endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}",
            access_key_id="k",
            secret_access_key="s",
            connect_timeout=0.5,
            read_timeout=0.5,
            max_attempts=1,
        )
        try:
            started = time.monotonic()
            with pytest.raises(Unavailable):
                await read_all(storage, "blob", 0, 1)
            assert time.monotonic() - started < 5
        finally:
            await storage.close()


async def test_wrong_credentials_are_unavailable_not_a_crash(seaweedfs: SeaweedS3) -> None:
    storage = S3MediaStorage(
        S3_TEST_BUCKET,
        endpoint=seaweedfs.endpoint,
        access_key_id=seaweedfs.access_key_id,
        secret_access_key="not-the-secret",
    )
    try:
        with pytest.raises(Unavailable):
            await storage.save("blob", pieces(b"data"))
    finally:
        await storage.close()


# --- the bucket and presigned URLs ----------------------------------------------------------


async def test_ensure_bucket_creates_a_missing_bucket_or_says_it_is_missing(
    seaweedfs: SeaweedS3,
) -> None:
    bucket = f"made-{time.monotonic_ns()}"
    storage = S3MediaStorage(
        bucket,
        endpoint=seaweedfs.endpoint,
        access_key_id=seaweedfs.access_key_id,
        secret_access_key=seaweedfs.secret_access_key,
    )
    try:
        with pytest.raises(Unavailable) as caught:
            await storage.ensure_bucket(create=False)
        assert caught.value.code == "storage_bucket_missing"
        assert bucket in caught.value.detail

        await storage.ensure_bucket()
        await storage.ensure_bucket(create=False)  # now it is there
        await storage.save("blob", pieces(b"in the new bucket"))
        assert await read_all(storage, "blob", 0, 100) == b"in the new bucket"
    finally:
        await storage.close()


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # a loopback URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


async def test_a_presigned_url_serves_the_blob_with_the_asked_headers(
    storage: S3StorageUnderTest,
) -> None:
    await storage.save("blob", pieces(b"0123456789"))

    url = await storage.presigned_get_url(
        "blob",
        300,
        content_type="video/mp4",
        content_disposition='attachment; filename="clip.mp4"',
    )

    assert "X-Amz-Expires=300" in url
    status, headers, body = await asyncio.to_thread(_fetch, url)
    assert (status, body) == (200, b"0123456789")
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Content-Disposition"] == 'attachment; filename="clip.mp4"'
    status, _, body = await asyncio.to_thread(_fetch, url, {"Range": "bytes=2-4"})
    assert (status, body) == (206, b"234")


async def test_a_tampered_presigned_url_is_refused(storage: S3StorageUnderTest) -> None:
    await storage.save("blob", pieces(b"secret bytes"))
    url = await storage.presigned_get_url("blob", 300)

    status, _, body = await asyncio.to_thread(
        _fetch, url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
    )

    assert status == 403
    assert b"secret bytes" not in body


async def test_a_presigned_url_lives_at_most_a_week(storage: S3StorageUnderTest) -> None:
    with pytest.raises(ValueError, match="7 days"):
        await storage.presigned_get_url("blob", 8 * 24 * 3600)
    with pytest.raises(ValueError, match="key"):
        await storage.presigned_get_url("../x", 60)


# --- DirectLinks: a presigned GET that dies no later than a given moment ---------------------


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.999])
async def test_a_direct_url_dies_no_later_than_asked(
    storage: S3StorageUnderTest, fraction: float
) -> None:
    await storage.save("blob", pieces(BIG[:5000]))
    expires_at = datetime.fromtimestamp(int(time.time()) + 120 + fraction, UTC)

    url = await storage.direct_url("blob", expires_at, content_type="audio/mpeg")

    assert url is not None
    assert expires_at - timedelta(seconds=3) <= presigned_expiry(url) <= expires_at
    status, headers, body = await asyncio.to_thread(_fetch, url)
    assert (status, body, headers["Content-Type"]) == (200, BIG[:5000], "audio/mpeg")
    status, _, body = await asyncio.to_thread(_fetch, url, {"Range": "bytes=4000-"})
    assert (status, body) == (206, BIG[4000:5000])


async def test_a_direct_url_is_refused_once_its_moment_has_passed(
    storage: S3StorageUnderTest,
) -> None:
    await storage.save("blob", pieces(b"short-lived"))
    url = await storage.direct_url(
        "blob", datetime.now(UTC) + timedelta(seconds=3.5), content_type="video/mp4"
    )
    assert url is not None
    assert (await asyncio.to_thread(_fetch, url))[0] == 200

    await asyncio.sleep(max(0.0, presigned_expiry(url).timestamp() - time.time()) + 1.1)

    status, _, body = await asyncio.to_thread(_fetch, url)
    assert status == 403
    assert b"short-lived" not in body


async def test_no_direct_url_when_less_than_a_second_remains(storage: S3StorageUnderTest) -> None:
    for left in (timedelta(seconds=-5), timedelta(0), timedelta(milliseconds=900)):
        assert (
            await storage.direct_url("blob", datetime.now(UTC) + left, content_type="x/y") is None
        )


async def test_stalled_readers_give_their_connections_back_and_resume_exactly(
    seaweedfs: SeaweedS3,
) -> None:
    """Slow clients must not hold the pool: two stalled readers, a pool of two, a third reads."""
    storage = S3StorageUnderTest(
        seaweedfs, part_size=PART, read_chunk=64 * 1024, max_connections=2, release_after=0.2
    )
    try:
        await storage.ensure_bucket()
        await storage.save("big", pieces(BIG))
        readers = [
            cast(AsyncGenerator[bytes, None], storage.read_range("big", start, len(BIG) - 1))
            for start in (0, 1000, 5 * MIB + 3)
        ]
        received = [await asyncio.wait_for(anext(readers[0]), 10)]
        received.append(await asyncio.wait_for(anext(readers[1]), 10))
        await asyncio.sleep(0.5)  # both stall with a chunk taken: their connections go back
        received.append(await asyncio.wait_for(anext(readers[2]), 10))  # the pool had room
        for index, reader in enumerate(readers):
            rest = [chunk async for chunk in reader]
            start = (0, 1000, 5 * MIB + 3)[index]
            assert received[index] + b"".join(rest) == BIG[start:]
            assert max(len(chunk) for chunk in rest) <= 64 * 1024
    finally:
        await storage.close()


async def test_a_stalled_reader_of_a_blob_deleted_meanwhile_ends_short_without_an_error(
    seaweedfs: SeaweedS3,
) -> None:
    storage = S3StorageUnderTest(seaweedfs, part_size=PART, read_chunk=64 * 1024, release_after=0.2)
    try:
        await storage.ensure_bucket()
        await storage.save("going", pieces(BIG))
        reader = cast(AsyncGenerator[bytes, None], storage.read_range("going", 0, len(BIG) - 1))
        first = await asyncio.wait_for(anext(reader), 10)
        await asyncio.sleep(0.5)  # stalled: its connection went back to the pool
        await storage.delete("going")

        rest = [chunk async for chunk in reader]  # no BlobMissing escapes mid-body

        assert first + b"".join(rest) == BIG[: len(first) + sum(map(len, rest))]
        assert len(first) + sum(map(len, rest)) < len(BIG)
    finally:
        await storage.close()
