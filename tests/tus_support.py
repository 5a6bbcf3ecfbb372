"""Shared by the tus tests: a real MP4 with sound, and looking for what an upload left behind."""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

MP4_SECONDS = 4
MP4_SIZE = (640, 360)


def encode_av_mp4(path: Path) -> None:
    """A real MP4 of a few MB: H.264 video (640x360, noisy so it stays big) and AAC sound."""
    import av

    width, height = MP4_SIZE
    with av.open(str(path), "w", options={"movflags": "faststart"}) as output:
        video = output.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = 6_000_000
        audio = output.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        for index in range(25 * MP4_SECONDS):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                noise = bytes((index * 7 + i * 13 + i * i) % 251 for i in range(4099))
                plane.update((noise * (plane.buffer_size // 4099 + 1))[: plane.buffer_size])
            frame.pts = index
            output.mux(video.encode(frame))
        output.mux(video.encode())
        samples = 1024
        for index in range(44100 * MP4_SECONDS // samples):
            tone = array(
                "f",
                (
                    0.3 * math.sin(2 * math.pi * 440 * (n + index * samples) / 44100)
                    for n in range(samples)
                ),
            ).tobytes()
            sound = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
            for channel in sound.planes:
                channel.update(tone)
            sound.sample_rate = 44100
            sound.pts = index * samples
            sound.time_base = Fraction(1, 44100)
            output.mux(audio.encode(sound))
        output.mux(audio.encode())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def partials_dir(data_dir: Path, *, s3: bool = False) -> Path:
    """Where a server keeps unfinished uploads on disk: its media folder's; on S3 its data
    folder's is where older versions kept them (swept at start; today they wait in the bucket)."""
    return data_dir / "uploads" if s3 else data_dir / "media" / ".uploads"


def leftover_partials(data_dir: Path) -> list[Path]:
    """The partial-upload files under a server's data folder (none once uploads end)."""
    folders = [partials_dir(data_dir), partials_dir(data_dir, s3=True)]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.glob("*"))


def found(document: Any, *names: str) -> Iterator[Any]:
    """Every value in a JSON document under a key containing one of ``names``."""
    if isinstance(document, dict):
        for key, value in document.items():
            if any(name in key for name in names) and not isinstance(value, dict | list):
                yield value
            yield from found(value, *names)
    elif isinstance(document, list):
        for value in document:
            yield from found(value, *names)


def check_probed_metadata(item: dict[str, Any]) -> None:
    """Duration, codecs and size, where the media JSON has them (once probing is merged)."""
    for duration in found(item, "duration"):
        assert abs(float(duration) - MP4_SECONDS) < 0.5, item
    for width in found(item, "width"):
        assert width == MP4_SIZE[0], item
    for height in found(item, "height"):
        assert height == MP4_SIZE[1], item
    codecs = {str(codec).lower() for codec in found(item, "codec")}
    if codecs:
        assert any("h264" in c or "avc" in c for c in codecs), item
        assert any("aac" in c for c in codecs), item
