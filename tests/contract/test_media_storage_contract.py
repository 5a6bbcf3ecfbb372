"""MediaStorage: the shipped contract once per implementation, then what only one has."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.storage.keys import check_key
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.storage.s3 import S3MediaStorage
from klantroef_adapters.testing import MediaStorageContract
from klantroef_adapters.testing.media_storage import DATA, Leftovers, chunks_of
from klantroef_core.errors import Unavailable
from tests.contract.conftest import S3_TEST_BUCKET, S3StorageUnderTest
from tests.seaweedfs import SeaweedS3, list_bucket, unreachable_s3_storage


class TestInMemoryMediaStorage(MediaStorageContract):
    @pytest.fixture
    async def adapter(self, read_chunk: int) -> InMemoryMediaStorage:
        return InMemoryMediaStorage(read_chunk=read_chunk)

    async def test_it_has_no_local_path(self, adapter: InMemoryMediaStorage) -> None:
        await adapter.save("blob", chunks_of(DATA))

        assert adapter.local_path("blob") is None


class TestLocalMediaStorage(MediaStorageContract):
    @pytest.fixture
    async def adapter(self, tmp_path: Path, read_chunk: int) -> LocalMediaStorage:
        return LocalMediaStorage(
            tmp_path / "media", write_buffer=4096, read_chunk=read_chunk, whole_range=0
        )

    @pytest.fixture
    def leftovers(self, adapter: LocalMediaStorage) -> Leftovers:
        """Hidden files in the folder: temporary files a write left behind."""

        def hidden() -> list[str]:
            root = adapter.root
            return (
                [p.name for p in root.iterdir() if p.name.startswith(".")] if root.exists() else []
            )

        return hidden

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> LocalMediaStorage:
        blocker = tmp_path / "a-file"
        blocker.write_bytes(b"not a folder")
        return LocalMediaStorage(blocker / "media")

    async def test_its_local_path_is_the_blobs_file(self, adapter: LocalMediaStorage) -> None:
        await adapter.save("blob", chunks_of(DATA))

        path = adapter.local_path("blob")

        assert path is not None
        assert path.is_absolute()
        assert path.read_bytes() == DATA


class TestS3MediaStorage(MediaStorageContract):
    """A real SeaweedFS S3 gateway, each test under a prefix of its own in one bucket."""

    pytestmark = pytest.mark.seaweedfs

    @pytest.fixture
    async def adapter(
        self, seaweedfs: SeaweedS3, read_chunk: int
    ) -> AsyncIterator[S3StorageUnderTest]:
        storage = S3StorageUnderTest(seaweedfs, read_chunk=read_chunk)
        await storage.ensure_bucket()
        try:
            yield storage
        finally:
            await storage.close()

    @pytest.fixture
    def leftovers(self, adapter: S3StorageUnderTest) -> Leftovers:
        """Unfinished multipart uploads, and objects not named as blobs are."""

        async def unfinished() -> list[str]:
            listing = await list_bucket(adapter.server, S3_TEST_BUCKET, adapter.prefix)
            stray = [name for name in listing.objects if not _is_blob_name(adapter.prefix, name)]
            return [f"upload {name}" for name in listing.uploads] + [f"object {n}" for n in stray]

        return unfinished

    @pytest.fixture
    async def unreachable_adapter(self) -> AsyncIterator[S3MediaStorage]:
        storage = unreachable_s3_storage()  # nothing listens there
        try:
            yield storage
        finally:
            await storage.close()


def _is_blob_name(prefix: str, name: str) -> bool:
    """Whether an object is named the way the S3 store names blobs: prefix + a safe key."""
    if not name.startswith(prefix):
        return False
    try:
        check_key(name[len(prefix) :])
    except ValueError:
        return False
    return True


# --- local folder only ------------------------------------------------------------------


async def test_local_files_are_named_by_their_key_inside_the_root(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "deep" / "media")

    await storage.save("abc-123", chunks_of(DATA))

    assert [p.name for p in (tmp_path / "deep" / "media").iterdir()] == ["abc-123"]


async def test_stale_partial_files_from_a_crash_are_swept(tmp_path: Path) -> None:
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


async def test_a_short_range_comes_whole_and_a_long_one_in_chunks(tmp_path: Path) -> None:
    """A player's seek (up to 1 MiB) is one read and one message; longer ranges stream."""
    storage = LocalMediaStorage(tmp_path / "media")
    data = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a little

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    await storage.save("blob", chunks())
    short = [chunk async for chunk in storage.read_range("blob", 5, 5 + 1024 * 1024 - 1)]
    assert [len(chunk) for chunk in short] == [1024 * 1024]
    assert short[0] == data[5 : 5 + 1024 * 1024]
    long = [chunk async for chunk in storage.read_range("blob", 5, 5 + 1024 * 1024)]
    assert max(len(chunk) for chunk in long) == 64 * 1024
    assert b"".join(long) == data[5 : 5 + 1024 * 1024 + 1]
