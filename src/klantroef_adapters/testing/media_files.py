"""Real media files, encoded by PyAV in memory, for the MediaProbe contract and tests.

Each is small and made in milliseconds. Their content is known: a video's
brightness rises frame by frame (so a poster tells the moment it was taken
from), an audio file's loudness rises from silence to full scale (so a waveform
tells left from right).
"""

from __future__ import annotations

import array
import io
import math
from fractions import Fraction

import av

FRAME_SAMPLES = 1024


def brightness_at(index: int, frames: int) -> int:
    """The luma of frame ``index`` of ``frames``: 16 (black) rising to 235 (white)."""
    return 16 + (219 * index) // max(1, frames - 1)


def video_file(
    seconds: float = 2.0,
    *,
    width: int = 320,
    height: int = 240,
    rate: int = 25,
    audio: bool = True,
    container: str = "mp4",
    codec: str = "mpeg4",
    sample_aspect: Fraction | None = None,
) -> bytes:
    """A video of flat frames growing brighter, with a stereo AAC tone unless ``audio`` is False."""
    out = io.BytesIO()
    frames = max(1, round(seconds * rate))
    with av.open(out, "w", format=container) as muxer:
        video = muxer.add_stream(codec, rate=rate)
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if sample_aspect is not None:
            video.codec_context.sample_aspect_ratio = sample_aspect
        sound = muxer.add_stream("aac", rate=44100, layout="stereo") if audio else None
        assert sound is None or isinstance(sound, av.AudioStream)
        for index in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            luma = brightness_at(index, frames)
            for number, plane in enumerate(frame.planes):
                plane.update(bytes([luma if number == 0 else 128]) * plane.buffer_size)
            frame.pts = index
            muxer.mux(video.encode(frame))
        muxer.mux(video.encode())
        if sound is not None:
            _tone(muxer, sound, seconds, rising=False)
    return out.getvalue()


def audio_file(
    seconds: float = 3.0,
    *,
    rate: int = 44100,
    channels: int = 2,
    container: str = "mp3",
    codec: str = "libmp3lame",
) -> bytes:
    """A 440 Hz tone rising from silence to near full scale over ``seconds``."""
    out = io.BytesIO()
    layout = "stereo" if channels == 2 else "mono"
    with av.open(out, "w", format=container) as muxer:
        sound = muxer.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(sound, av.AudioStream)
        _tone(muxer, sound, seconds, rising=True)
    return out.getvalue()


def _tone(
    muxer: av.container.OutputContainer, stream: av.AudioStream, seconds: float, *, rising: bool
) -> None:
    rate = stream.codec_context.sample_rate
    layout = stream.codec_context.layout.name
    total = round(seconds * rate)
    size = stream.codec_context.frame_size or FRAME_SAMPLES
    made = 0
    while made < total:
        count = min(size, total - made)
        level = 0.9 * made / total if rising else 0.3
        samples = array.array(
            "f", (level * math.sin(2 * math.pi * 440 * (made + i) / rate) for i in range(count))
        )
        frame = av.AudioFrame(format="fltp", layout=layout, samples=count)
        for plane in frame.planes:
            plane.update(samples.tobytes().ljust(plane.buffer_size, b"\0"))
        frame.sample_rate, frame.pts = rate, made
        muxer.mux(stream.encode(frame))
        made += count
    muxer.mux(stream.encode())


def huge_frames_file(width: int = 10_000, height: int = 10_000) -> bytes:
    """A YUV4MPEG stream whose header states ``width`` x ``height`` frames (and holds none)."""
    header = f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode()
    return header + b"FRAME\n" + bytes(4096)


class PictureFacts:
    """A decoded picture: its FFmpeg codec, size, and its gray levels (row-major, 0-255)."""

    def __init__(self, data: bytes) -> None:
        with av.open(io.BytesIO(data), "r") as container:
            stream = container.streams.video[0]
            self.codec: str = stream.codec_context.codec.canonical_name
            frame = next(container.decode(stream))
        self.width: int = frame.width
        self.height: int = frame.height
        gray = frame.reformat(format="gray")
        plane = gray.planes[0]
        rows = bytes(plane)
        self.pixels = b"".join(
            rows[y * plane.line_size : y * plane.line_size + self.width] for y in range(self.height)
        )

    def mean(self, left: float = 0.0, right: float = 1.0) -> float:
        """The mean gray level of the columns from ``left`` to ``right`` (fractions of the width)."""
        first, last = (
            int(left * self.width),
            max(int(left * self.width) + 1, int(right * self.width)),
        )
        total = count = 0
        for y in range(self.height):
            row = self.pixels[y * self.width + first : y * self.width + last]
            total += sum(row)
            count += len(row)
        return total / count
