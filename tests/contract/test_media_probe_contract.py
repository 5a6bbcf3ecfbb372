"""MediaProbe: the shipped contract against PyAV, then its bounds."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.media.pyav_probe import PyAvMediaProbe
from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.testing import MediaProbeContract
from klantroef_adapters.testing.media_files import video_file
from klantroef_core.errors import Unavailable, UnreadableMedia
from klantroef_core.ports import MediaStorage, StoredMedia
from tests.contract.conftest import S3StorageUnderTest
from tests.seaweedfs import SeaweedS3


class TestPyAvMediaProbe(MediaProbeContract):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[PyAvMediaProbe]:
        probe = PyAvMediaProbe(timeout=30)
        yield probe
        probe.close()


class TestPyAvMediaProbeOverS3(MediaProbeContract):
    """The same promises with the files in S3 (the session's SeaweedFS): read by ranges."""

    pytestmark = pytest.mark.seaweedfs

    @pytest.fixture
    async def adapter(self) -> AsyncIterator[PyAvMediaProbe]:
        probe = PyAvMediaProbe(timeout=30)
        yield probe
        probe.close()

    @pytest.fixture
    async def storage(self, seaweedfs: SeaweedS3) -> AsyncIterator[MediaStorage]:
        store = S3StorageUnderTest(seaweedfs)
        await store.ensure_bucket()
        try:
            yield store
        finally:
            await store.close()


class StallingStorage(InMemoryMediaStorage):
    """An in-memory store whose reads past the first block never finish."""

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        if start > 0:
            await asyncio.Event().wait()
        async for chunk in super().read_range(key, start, end):
            yield chunk


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_a_store_that_stalls_is_unavailable_once_the_time_limit_passed() -> None:
    storage = StallingStorage()
    data = video_file(10.0, width=640, height=480)  # past one block: its moov is read later
    assert len(data) > 512 * 1024
    await storage.save("slow", _once(data))
    probe = PyAvMediaProbe(timeout=1.0)
    started = time.monotonic()

    with pytest.raises(Unavailable, match="within 1 seconds"):
        await probe.probe(StoredMedia(storage, "slow", len(data)))

    assert time.monotonic() - started < 10
    probe.close()


async def test_smaller_limits_refuse_frames_past_them() -> None:
    storage = InMemoryMediaStorage()
    data = video_file(1.0, width=320, height=240)
    await storage.save("clip", _once(data))
    probe = PyAvMediaProbe(max_pixels=320 * 240 - 1)

    with pytest.raises(UnreadableMedia, match="320x240"):
        await probe.probe(StoredMedia(storage, "clip", len(data)))
    probe.close()


async def test_closing_the_probe_stops_a_running_decode(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as writer:  # an hour of silence: seconds to decode
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(2 * 8000 * 3600))
    source = StoredMedia(LocalMediaStorage(tmp_path), path.name, path.stat().st_size)
    probe = PyAvMediaProbe(timeout=120)
    info = await probe.probe(source)
    picture = asyncio.create_task(probe.picture(source, info))
    await asyncio.sleep(0.2)
    started = time.monotonic()

    probe.close()

    with pytest.raises(Unavailable, match="shutting down"):
        await picture
    assert time.monotonic() - started < 10
