"""MediaPackager (PyAV) over every MediaStorage: memory, local disk, S3 (SeaweedFS).

What the port promises: one package per item, made once even when asked for at
once (by one process, or by two sharing a store); refusals decided once and
remembered by the store; parts that read back as the original's frames; delete
removes everything; a time bound; missing bytes decide nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from klantroef_adapters.media.hls import PyAvPackager, manifest_key
from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_core.domain.hls import HlsPackage
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.errors import BlobMissing, NeedsTranscoding, Unavailable
from klantroef_core.ports import MediaStorage, StoredBlob
from tests.contract.conftest import S3StorageUnderTest
from tests.hls_media import encode, video_frames
from tests.seaweedfs import SeaweedS3


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("packager-samples")
    made = {"av": folder / "clip.mp4", "mpeg4": folder / "old.mp4"}
    encode(made["av"], 10)
    encode(made["mpeg4"], 2, video="mpeg4", audio=False)
    return made


class RecordingStorage:
    """A MediaStorage that remembers every key saved through it (and delegates the rest)."""

    def __init__(self, inner: MediaStorage) -> None:
        self.inner = inner
        self.saved: list[str] = []
        self.bytes_read = 0

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        blob = await self.inner.save(key, chunks)
        self.saved.append(key)
        return blob

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        async for chunk in self.inner.read_range(key, start, end):
            self.bytes_read += len(chunk)
            yield chunk

    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(key)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)


@pytest.fixture(params=["memory", "local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RecordingStorage]:
    if request.param == "memory":
        yield RecordingStorage(InMemoryMediaStorage())
    elif request.param == "local":
        yield RecordingStorage(LocalMediaStorage(tmp_path / "media"))
    else:
        server: SeaweedS3 = request.getfixturevalue("seaweedfs")
        s3 = S3StorageUnderTest(server, read_chunk=65536)
        await s3.ensure_bucket()
        try:
            yield RecordingStorage(s3)
        finally:
            await s3.close()


async def _file(path: Path) -> AsyncIterator[bytes]:
    data = path.read_bytes()
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]


async def stored(storage: MediaStorage, path: Path, key: str = "item-1") -> Media:
    blob = await storage.save(key, _file(path))
    return Media(
        id=key,
        title=path.stem,
        type=MediaType.VIDEO,
        content_type="video/mp4",
        size_bytes=blob.size,
        sha256=blob.sha256,
        storage_key=blob.key,
        created_at=datetime.now(UTC),
        uploaded_by="admin-1",
    )


async def read_all(storage: MediaStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read_range(key, 0, 1 << 40)])


async def missing(storage: MediaStorage, key: str) -> bool:
    try:
        await read_all(storage, key)
    except BlobMissing:
        return True
    return False


def keys_of(package: HlsPackage) -> list[str]:
    return [part.key for part in (package.init, *package.segments)]


@pytest.fixture
def packaged_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="klantroef.hls")
    return caplog


def packagings(log: pytest.LogCaptureFixture) -> int:
    return sum("packaged for HLS" in record.getMessage() for record in log.records)


async def test_parts_read_back_as_the_originals_frames(
    storage: RecordingStorage, samples: dict[str, Path], tmp_path: Path
) -> None:
    media = await stored(storage, samples["av"])
    package = await PyAvPackager(storage).package(media)

    assert package.content_type == "video/mp4"
    assert [s.name for s in package.segments] == [f"seg-{i:05d}.m4s" for i in range(3)]
    assert sum(s.duration for s in package.segments) == pytest.approx(10, abs=0.1)
    joined = tmp_path / "joined.mp4"
    with joined.open("wb") as out:
        for part in (package.init, *package.segments):
            data = await read_all(storage, part.key)
            assert len(data) == part.size
            assert hashlib.sha256(data).hexdigest() == part.sha256
            out.write(data)
    assert video_frames(joined) == video_frames(samples["av"])
    assert all(key.startswith(f"{media.storage_key}.hls.") for key in keys_of(package))


async def test_concurrent_first_requests_package_once(
    storage: RecordingStorage, samples: dict[str, Path], packaged_log: pytest.LogCaptureFixture
) -> None:
    media = await stored(storage, samples["av"])
    packager = PyAvPackager(storage)
    assert await packager.known(media) is None

    packages = await asyncio.gather(*(packager.package(media) for _ in range(5)))

    assert len(set(packages)) == 1
    assert packagings(packaged_log) == 1
    assert await packager.package(media) == packages[0]
    assert packagings(packaged_log) == 1


async def test_two_processes_on_one_store_agree_on_one_package(
    storage: RecordingStorage, samples: dict[str, Path]
) -> None:
    media = await stored(storage, samples["av"])
    first, second = PyAvPackager(storage), PyAvPackager(storage)

    one, two = await asyncio.gather(first.package(media), second.package(media))

    assert one == two
    assert await PyAvPackager(storage).known(media) == one  # a third process reads it back
    kept = {*keys_of(one), manifest_key(media), media.storage_key}
    for key in set(storage.saved) - kept:  # the loser's parts, if both packaged
        assert await missing(storage, key), key


async def test_media_that_needs_transcoding_is_refused_once_and_remembered(
    storage: RecordingStorage, samples: dict[str, Path]
) -> None:
    media = await stored(storage, samples["mpeg4"])
    with pytest.raises(NeedsTranscoding, match=r"mpeg4, not H\.264"):
        await PyAvPackager(storage).package(media)
    saves = len(storage.saved)

    later = PyAvPackager(storage)  # another process: it reads the refusal, not the file
    assert isinstance(await later.known(media), str)
    with pytest.raises(NeedsTranscoding, match="mpeg4"):
        await later.package(media)
    assert len(storage.saved) == saves


async def test_bytes_that_are_not_media_are_refused(
    storage: RecordingStorage, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(5000))
    media = await stored(storage, junk)
    with pytest.raises(NeedsTranscoding):
        await PyAvPackager(storage).package(media)


async def test_a_refusal_reads_the_header_not_the_whole_file(
    storage: RecordingStorage, samples: dict[str, Path], tmp_path: Path
) -> None:
    padding = 8 * 1024 * 1024
    big = tmp_path / "big-mpeg4.mp4"  # the MPEG-4 Part 2 file, then an 8 MiB `free` box
    big.write_bytes(
        samples["mpeg4"].read_bytes() + struct.pack(">I", 8 + padding) + b"free" + bytes(padding)
    )
    media = await stored(storage, big)
    storage.bytes_read = 0
    with pytest.raises(NeedsTranscoding, match="mpeg4"):
        await PyAvPackager(storage).package(media)
    if storage.local_path(media.storage_key) is None:  # read through the store, by ranges
        assert storage.bytes_read <= 2 * 1024 * 1024  # never a download of the whole file


async def test_delete_removes_every_part_and_the_outcome(
    storage: RecordingStorage, samples: dict[str, Path]
) -> None:
    media = await stored(storage, samples["av"])
    package = await PyAvPackager(storage).package(media)

    packager = PyAvPackager(storage)
    await packager.delete(media)
    await packager.delete(media)  # idempotent

    for key in (*keys_of(package), manifest_key(media)):
        assert await missing(storage, key), key
    assert await PyAvPackager(storage).known(media) is None


async def test_packaging_past_its_time_bound_is_unavailable_and_stores_nothing(
    storage: RecordingStorage, samples: dict[str, Path]
) -> None:
    media = await stored(storage, samples["av"])
    with pytest.raises(Unavailable, match="ran out of time"):
        await PyAvPackager(storage, timeout=0.0).package(media)
    assert storage.saved == [media.storage_key]
    assert await PyAvPackager(storage).known(media) is None


async def test_missing_bytes_decide_nothing(
    storage: RecordingStorage, samples: dict[str, Path]
) -> None:
    media = await stored(storage, samples["av"])
    await storage.delete(media.storage_key)
    with pytest.raises(BlobMissing):
        await PyAvPackager(storage).package(media)
    assert await PyAvPackager(storage).known(media) is None


async def test_a_manifest_that_cannot_be_read_is_unavailable(
    storage: RecordingStorage, samples: dict[str, Path]
) -> None:
    media = await stored(storage, samples["av"])
    await storage.save(manifest_key(media), _file_bytes(b'{"v": 1, "parts": "nonsense"}'))
    with pytest.raises(Unavailable):
        await PyAvPackager(storage).package(media)


async def _file_bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data
