"""The MediaProbe contract."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import pytest

from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.testing._base import ContractBase
from klantroef_adapters.testing.media_files import (
    PictureFacts,
    audio_file,
    brightness_at,
    huge_frames_file,
    video_file,
)
from klantroef_core.domain.media_info import JPEG, PNG, POSTER_WIDTH, MediaInfo, Picture
from klantroef_core.errors import BlobMissing, UnreadableMedia
from klantroef_core.ports import MediaProbe, MediaStorage, StoredMedia

GARBAGE = random.Random(13).randbytes(200_000)  # noqa: S311 - noise, not a secret


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def full_range(luma: int) -> float:
    """A limited-range luma (16-235) as the gray level a decoded JPEG shows (0-255)."""
    return (luma - 16) * 255 / 219


class MediaProbeContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.MediaProbe`, one test (or more) each.

    Subclass it as ``Test<YourProbe>`` and provide ``adapter``: an async fixture giving
    the probe. Files are stored through ``storage``, by default each of an in-memory
    store (no local path) and a local folder (a local path); override ``storage`` to
    probe through your own store.
    """

    @pytest.fixture(params=["memory", "local"])
    def storage(self, request: pytest.FixtureRequest, tmp_path: Path) -> MediaStorage:
        if request.param == "memory":
            return InMemoryMediaStorage()
        return LocalMediaStorage(tmp_path / "media")

    @staticmethod
    async def stored(storage: MediaStorage, data: bytes, key: str = "probed") -> StoredMedia:
        await storage.save(key, _once(data))
        return StoredMedia(storage, key, len(data))

    @staticmethod
    async def read(probe: MediaProbe, source: StoredMedia) -> tuple[MediaInfo, Picture]:
        info = await probe.probe(source)
        return info, await probe.picture(source, info)

    # --- metadata ------------------------------------------------------------------

    async def test_a_video_with_sound_is_described(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        source = await self.stored(storage, video_file(2.0, width=320, height=240, rate=25))

        info = await adapter.probe(source)

        assert "mp4" in info.container
        assert info.duration_seconds == pytest.approx(2.0, abs=1 / 25)
        assert info.bit_rate is not None
        assert info.bit_rate > 0
        assert info.video is not None
        assert info.audio is not None
        assert (info.video.codec, info.video.width, info.video.height) == ("mpeg4", 320, 240)
        assert info.video.frame_rate == pytest.approx(25.0)
        assert (info.audio.codec, info.audio.channels, info.audio.sample_rate) == (
            "aac",
            2,
            44100,
        )

    async def test_an_audio_file_is_described_without_video(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        source = await self.stored(storage, audio_file(3.0, rate=22050, channels=1))

        info = await adapter.probe(source)

        assert info.container == "mp3"
        assert info.duration_seconds == pytest.approx(3.0, abs=1152 / 22050)
        assert info.video is None
        assert info.audio is not None
        assert (info.audio.codec, info.audio.channels, info.audio.sample_rate) == (
            "mp3",
            1,
            22050,
        )

    async def test_a_video_without_sound_has_no_audio(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        source = await self.stored(storage, video_file(1.0, container="matroska", audio=False))

        info = await adapter.probe(source)

        assert "matroska" in info.container
        assert info.video is not None
        assert info.audio is None

    # --- pictures ------------------------------------------------------------------

    async def test_a_video_poster_is_a_jpeg_frame_from_a_tenth_in(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        frames = 100
        source = await self.stored(storage, video_file(4.0, width=1280, height=720, audio=False))

        _, picture = await self.read(adapter, source)

        assert picture.content_type == JPEG
        facts = PictureFacts(picture.data)
        assert facts.codec == "mjpeg"
        assert (facts.width, facts.height) == (POSTER_WIDTH, 360)
        # Frame 10 of 100; each frame is about 2.5 gray levels brighter than the one before.
        assert facts.mean() == pytest.approx(full_range(brightness_at(10, frames)), abs=4)

    async def test_a_small_video_poster_keeps_its_size(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        source = await self.stored(storage, video_file(1.0, width=320, height=240))

        _, picture = await self.read(adapter, source)

        facts = PictureFacts(picture.data)
        assert (facts.width, facts.height) == (320, 240)

    async def test_a_poster_keeps_the_display_aspect_of_non_square_pixels(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        data = video_file(1.0, width=480, height=360, audio=False, sample_aspect=Fraction(4, 3))
        source = await self.stored(storage, data)

        _, picture = await self.read(adapter, source)

        facts = PictureFacts(picture.data)
        assert (facts.width, facts.height) == (640, 360)  # 480 x 4/3 wide: 16:9

    async def test_an_audio_picture_is_a_png_waveform(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        source = await self.stored(storage, audio_file(3.0))  # silence rising to loud

        _, picture = await self.read(adapter, source)

        assert picture.content_type == PNG
        assert picture.data.startswith(b"\x89PNG\r\n\x1a\n")
        facts = PictureFacts(picture.data)
        assert facts.codec == "png"
        assert facts.width == POSTER_WIDTH
        assert 0 < facts.height <= POSTER_WIDTH
        quiet, loud = facts.mean(0.0, 0.1), facts.mean(0.9, 1.0)
        assert quiet > loud + 50  # more ink where it is loud

    # --- what cannot be read ---------------------------------------------------------

    @pytest.mark.parametrize(
        ("name", "make"),
        [
            ("an mp4 header followed by garbage", lambda: video_file(1.0)[:64] + GARBAGE),
            ("an mp3 start followed by garbage", lambda: audio_file(1.0)[:3000] + GARBAGE),
            ("garbage", lambda: GARBAGE),
        ],
    )
    async def test_a_file_nothing_can_read_is_unreadable(
        self, adapter: MediaProbe, storage: MediaStorage, name: str, make: object
    ) -> None:
        assert callable(make)
        source = await self.stored(storage, make())

        with pytest.raises(UnreadableMedia):
            await self.read(adapter, source)

    async def test_absurdly_large_frames_are_unreadable(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        source = await self.stored(storage, huge_frames_file(10_000, 10_000))

        with pytest.raises(UnreadableMedia):
            await self.read(adapter, source)

    async def test_a_key_with_no_blob_is_blob_missing(
        self, adapter: MediaProbe, storage: MediaStorage
    ) -> None:
        with pytest.raises(BlobMissing):
            await adapter.probe(StoredMedia(storage, "never-stored", 1000))
