"""Real media for the HLS tests, made with PyAV: H.264/AAC, AAC alone, and MPEG-4 Part 2.

Small frames keep encoding fast; a keyframe every 2 s gives 4 s segments.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import cast

import av
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

RATE = 25
SAMPLE_RATE = 48000
KEYFRAME_EVERY = 2 * RATE


def _tone(samples: int, start: int) -> bytes:
    """A 440 Hz float32 tone (one plane of ``fltp``)."""
    values = (0.2 * math.sin(2 * math.pi * 440 * (start + i) / SAMPLE_RATE) for i in range(samples))
    return struct.pack(f"<{samples}f", *values)


def encode(
    path: Path,
    seconds: int,
    *,
    video: str | None = "libx264",
    audio: bool = True,
    size: tuple[int, int] = (320, 180),
) -> None:
    """``seconds`` of video (``video`` codec, ``size``, 25 fps) and/or AAC stereo into ``path``."""
    width, height = size
    with av.open(str(path), "w") as output:
        vstream = _video_stream(output, video, size) if video is not None else None
        astream = _audio_stream(output) if audio else None
        if vstream is not None:
            for index in range(RATE * seconds):
                picture = av.VideoFrame(width, height, "yuv420p")
                for number, plane in enumerate(picture.planes):
                    shade = (index * 3 + number * 40) % 256
                    plane.update(bytes([shade]) * plane.buffer_size)
                picture.pts = index
                output.mux(vstream.encode(picture))
            output.mux(vstream.encode())
        if astream is not None:
            samples = 1024
            for block in range(SAMPLE_RATE * seconds // samples):
                sound = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
                tone = _tone(samples, block * samples)
                for channel in sound.planes:
                    channel.update(tone)
                sound.sample_rate = SAMPLE_RATE
                sound.pts = block * samples
                output.mux(astream.encode(sound))
            output.mux(astream.encode())


def _video_stream(
    output: av.container.OutputContainer, codec: str, size: tuple[int, int]
) -> VideoStream:
    stream = cast("VideoStream", output.add_stream(codec, rate=RATE))
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.gop_size = KEYFRAME_EVERY
    if codec == "libx264":
        stream.options = {
            "keyint_min": str(KEYFRAME_EVERY),
            "sc_threshold": "0",
            "preset": "ultrafast",
        }
    return stream


def _audio_stream(output: av.container.OutputContainer) -> AudioStream:
    stream = output.add_stream("aac", rate=SAMPLE_RATE)
    stream.layout = "stereo"
    return stream


def video_frames(source: str | Path) -> int:
    """How many video frames PyAV decodes from a file or URL (an HLS playlist too)."""
    with av.open(str(source)) as container:
        return sum(1 for _ in container.decode(video=0))


def audio_samples(source: str | Path) -> int:
    with av.open(str(source)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))
