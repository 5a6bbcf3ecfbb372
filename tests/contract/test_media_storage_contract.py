"""The MediaStorage contract, run against every implementation: memory, a local folder, S3.

The S3 store is a real SeaweedFS (``tests/seaweedfs.py``), started once per session.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import cast

import pytest

from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.storage.keys import check_key
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_core.errors import Conflict, NotFound, Unavailable
from klantroef_core.ports import MediaStorage
from tests.contract.conftest import S3_TEST_BUCKET, S3StorageUnderTest
from tests.seaweedfs import list_bucket

STORES = ("memory", "local", pytest.param("s3", marks=pytest.mark.seaweedfs))


@pytest.fixture(params=STORES)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStorage:
    if request.param == "memory":
        return InMemoryMediaStorage(read_chunk=1000)
    if request.param == "s3":
        return cast(S3StorageUnderTest, request.getfixturevalue("s3_storage"))
    return LocalMediaStorage(tmp_path / "media", write_buffer=4096, read_chunk=1000)


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def failing_after(parts: Iterable[bytes], error: BaseException) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise error


async def read_all(storage: MediaStorage, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in storage.read_range(key, start, end)])


async def leftovers(storage: MediaStorage) -> list[str]:
    """Anything a store holds besides complete blobs (temporary files, half-written data)."""
    if isinstance(storage, S3StorageUnderTest):
        listing = await list_bucket(storage.server, S3_TEST_BUCKET, storage.prefix)
        stray = [name for name in listing.objects if not _is_blob_name(storage.prefix, name)]
        return [f"upload {name}" for name in listing.uploads] + [f"object {name}" for name in stray]
    if isinstance(storage, LocalMediaStorage):
        root = storage.root
        return [p.name for p in root.iterdir() if p.name.startswith(".")] if root.exists() else []
    assert isinstance(storage, InMemoryMediaStorage)
    return ["write in progress"] * storage.writes_in_progress


def _is_blob_name(prefix: str, name: str) -> bool:
    """Whether an object is named the way the S3 store names blobs: prefix + a safe key."""
    if not name.startswith(prefix):
        return False
    try:
        check_key(name[len(prefix) :])
    except ValueError:
        return False
    return True


DATA = bytes(range(256)) * 40  # 10,240 bytes: several write buffers and read chunks


async def test_a_saved_blob_reports_its_size_and_sha256_and_reads_back(
    storage: MediaStorage,
) -> None:
    blob = await storage.save("blob-1", chunks_of(DATA[:3000], DATA[3000:], b""))

    assert (blob.key, blob.size, blob.sha256) == (
        "blob-1",
        len(DATA),
        hashlib.sha256(DATA).hexdigest(),
    )
    assert await storage.exists("blob-1")
    assert await read_all(storage, "blob-1", 0, len(DATA) - 1) == DATA


async def test_an_empty_blob_can_be_stored(storage: MediaStorage) -> None:
    blob = await storage.save("empty", chunks_of())

    assert blob.size == 0
    assert blob.sha256 == hashlib.sha256(b"").hexdigest()
    assert await storage.exists("empty")


@pytest.mark.parametrize(
    ("start", "end"), [(0, 0), (1, 1), (999, 1000), (5000, 10_239), (10_239, 10_239), (17, 8000)]
)
async def test_a_range_reads_exactly_its_bytes(storage: MediaStorage, start: int, end: int) -> None:
    await storage.save("blob", chunks_of(DATA))

    assert await read_all(storage, "blob", start, end) == DATA[start : end + 1]


async def test_a_range_is_read_in_chunks_not_at_once(storage: MediaStorage) -> None:
    await storage.save("blob", chunks_of(DATA))

    chunks = [chunk async for chunk in storage.read_range("blob", 0, len(DATA) - 1)]

    assert len(chunks) > 1
    assert max(len(chunk) for chunk in chunks) <= 1000


async def test_a_range_past_the_end_stops_at_the_last_byte(storage: MediaStorage) -> None:
    await storage.save("blob", chunks_of(DATA))

    assert await read_all(storage, "blob", 10_000, 20_000) == DATA[10_000:]


async def test_reading_a_missing_blob_is_not_found(storage: MediaStorage) -> None:
    with pytest.raises(NotFound):
        await read_all(storage, "nothing-here", 0, 10)


async def test_a_write_that_fails_leaves_nothing_behind(storage: MediaStorage) -> None:
    with pytest.raises(ValueError, match="disconnect"):
        await storage.save("blob", failing_after([DATA, DATA], ValueError("disconnect")))

    assert not await storage.exists("blob")
    assert await leftovers(storage) == []


async def test_a_cancelled_write_leaves_nothing_behind(storage: MediaStorage) -> None:
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            started.set()
            yield DATA
            await asyncio.sleep(0.001)

    task = asyncio.create_task(storage.save("blob", endless()))
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not await storage.exists("blob")
    assert await leftovers(storage) == []


async def test_a_blob_is_invisible_until_its_last_chunk_arrived(storage: MediaStorage) -> None:
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield DATA
        await release.wait()
        yield DATA

    task = asyncio.create_task(storage.save("blob", slow()))
    await asyncio.sleep(0.05)
    assert not await storage.exists("blob")
    with pytest.raises(NotFound):
        await read_all(storage, "blob", 0, 0)

    release.set()
    assert (await task).size == 2 * len(DATA)
    assert await storage.exists("blob")


async def test_a_stored_blob_is_never_replaced(storage: MediaStorage) -> None:
    await storage.save("blob", chunks_of(b"first"))

    with pytest.raises(Conflict):
        await storage.save("blob", chunks_of(b"second"))

    assert await read_all(storage, "blob", 0, 100) == b"first"
    assert await leftovers(storage) == []


async def test_two_concurrent_saves_of_one_key_keep_exactly_one(storage: MediaStorage) -> None:
    results = await asyncio.gather(
        storage.save("blob", chunks_of(b"a" * 5000, b"a" * 5000)),
        storage.save("blob", chunks_of(b"b" * 5000, b"b" * 5000)),
        return_exceptions=True,
    )

    assert sorted(type(result).__name__ for result in results) == ["Conflict", "StoredBlob"]
    stored = await read_all(storage, "blob", 0, 20_000)
    assert stored in (b"a" * 10_000, b"b" * 10_000)
    assert await leftovers(storage) == []


async def test_delete_removes_a_blob_and_is_idempotent(storage: MediaStorage) -> None:
    await storage.save("blob", chunks_of(DATA))

    await storage.delete("blob")
    await storage.delete("blob")

    assert not await storage.exists("blob")


@pytest.mark.parametrize(
    "key",
    ["", "../etc/passwd", "a/b", ".hidden", "..", "x\x00y", "name with space", "é", "k" * 129],
)
async def test_unsafe_keys_are_refused_by_every_method(storage: MediaStorage, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        await storage.save(key, chunks_of(DATA))
    with pytest.raises(ValueError, match="key"):
        await read_all(storage, key, 0, 1)
    with pytest.raises(ValueError, match="key"):
        await storage.delete(key)
    with pytest.raises(ValueError, match="key"):
        await storage.exists(key)
    with pytest.raises(ValueError, match="key"):
        storage.local_path(key)


async def test_a_local_path_when_there_is_one_holds_the_blob(storage: MediaStorage) -> None:
    await storage.save("blob", chunks_of(DATA))

    path = storage.local_path("blob")

    if isinstance(storage, LocalMediaStorage):
        assert path is not None
        assert path.is_absolute()
        assert path.read_bytes() == DATA
    else:
        assert path is None


# --- local folder only ------------------------------------------------------------------


async def test_local_files_are_named_by_their_key_inside_the_root(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "deep" / "media")

    await storage.save("abc-123", chunks_of(DATA))

    assert [p.name for p in (tmp_path / "deep" / "media").iterdir()] == ["abc-123"]


async def test_stale_partial_files_from_a_crash_are_swept(tmp_path: Path) -> None:
    import os
    import time

    storage = LocalMediaStorage(tmp_path)
    await storage.save("kept", chunks_of(DATA))
    stale = tmp_path / ".crashed.0123456789abcdef.part"
    stale.write_bytes(DATA)
    os.utime(stale, (time.time() - 3 * 24 * 3600,) * 2)
    fresh = tmp_path / ".live.0123456789abcdef.part"
    fresh.write_bytes(DATA)

    assert await storage.remove_stale_partials() == 1

    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "kept"]


async def test_a_media_folder_that_cannot_be_used_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a folder")
    storage = LocalMediaStorage(blocker / "media")

    with pytest.raises(Unavailable) as caught:
        await storage.save("blob", chunks_of(DATA))

    assert caught.value.code == "storage_unavailable"
