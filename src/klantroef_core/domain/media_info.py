"""What a media file holds, read from its bytes: container, duration, streams; and its picture."""

from __future__ import annotations

import math
from dataclasses import dataclass

from klantroef_core.errors import InvalidInput

MAX_NAME_LENGTH = 64
POSTER_WIDTH = 640
"""The widest a poster is (pixels); its height follows the picture's aspect."""

JPEG = "image/jpeg"
PNG = "image/png"
PICTURE_TYPES = (JPEG, PNG)


def _name(value: str, what: str) -> None:
    if not 0 < len(value) <= MAX_NAME_LENGTH or not value.isprintable():
        raise InvalidInput(f"{what} must be 1 to {MAX_NAME_LENGTH} printable characters")


def _positive(value: float | None, what: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InvalidInput(f"{what} must be a positive number")


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """The main video stream: codec name (FFmpeg's), frame size in pixels, frames a second."""

    codec: str
    width: int
    height: int
    frame_rate: float | None

    def __post_init__(self) -> None:
        _name(self.codec, "a codec name")
        if self.width <= 0 or self.height <= 0:
            raise InvalidInput("a video's width and height must be positive")
        _positive(self.frame_rate, "a frame rate")


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """The main audio stream: codec name (FFmpeg's), channel count, samples a second."""

    codec: str
    channels: int
    sample_rate: int

    def __post_init__(self) -> None:
        _name(self.codec, "a codec name")
        if self.channels <= 0 or self.sample_rate <= 0:
            raise InvalidInput("channels and sample rate must be positive")


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What probing a stored file found; ``None`` where the file does not say.

    ``container`` is the demuxer's name as FFmpeg reports it (``mov,mp4,m4a,3gp,3g2,mj2``
    for the ISO family); ``bit_rate`` in bits a second over the whole file. At least
    one of ``video`` and ``audio`` is present: a file with neither is not media.
    """

    container: str
    duration_seconds: float | None
    bit_rate: int | None
    video: VideoInfo | None
    audio: AudioInfo | None

    def __post_init__(self) -> None:
        _name(self.container, "a container name")
        _positive(self.duration_seconds, "a duration")
        if self.bit_rate is not None and self.bit_rate <= 0:
            raise InvalidInput("a bit rate must be positive")
        if self.video is None and self.audio is None:
            raise InvalidInput("media has a video or an audio stream")


@dataclass(frozen=True, slots=True)
class Picture:
    """A picture made from a media file: a JPEG frame of a video, a PNG waveform of audio."""

    content_type: str
    data: bytes

    def __post_init__(self) -> None:
        if self.content_type not in PICTURE_TYPES:
            raise InvalidInput(f"a picture is one of {', '.join(PICTURE_TYPES)}")
        if not self.data:
            raise InvalidInput("a picture has bytes")


@dataclass(frozen=True, slots=True)
class Poster:
    """A stored picture of a media item: its blob key, type, size and SHA-256 (hex)."""

    key: str
    content_type: str
    size_bytes: int
    sha256: str

    def __post_init__(self) -> None:
        if self.content_type not in PICTURE_TYPES:
            raise InvalidInput(f"a poster is one of {', '.join(PICTURE_TYPES)}")
        if self.size_bytes <= 0:
            raise InvalidInput("a poster has bytes")
        if len(self.sha256) != 64:
            raise InvalidInput("sha256 must be 64 hex digits")

    @property
    def etag(self) -> str:
        """A strong entity tag: the picture's hash (a poster is never rewritten in place)."""
        return f'"{self.sha256}"'
