"""MediaProbe with PyAV (FFmpeg's libraries in the wheel), bounded in time and memory.

Each call runs in a worker thread of the probe's own small pool (so probes never
crowd the event loop's default pool, and at most ``workers`` run at once). A file
on local disk is opened by path; any other store is read through
:class:`~klantroef_adapters.media.blob_reader.BlobReader`, ranged reads of one block at a
time, so an object in S3 is probed where it lies, without a temporary copy.

Bounds:

- time: a deadline checked before every block read and every packet (and FFmpeg's
  own I/O interrupt set to it); past it the file is :class:`UnreadableMedia`;
- memory: one decoder thread per stream; frames over ``max_pixels`` (or a side over
  ``max_side``) are refused before any is decoded; a poster decodes from the
  keyframe before its moment to the first frame at or after it (at most
  ``MAX_POSTER_FRAMES``); a waveform streams the audio, reading about 8,000 samples
  a second of its first channel in place, into at most ``2 x WAVE_WIDTH`` running
  peaks, never keeping samples.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

import av
import av.container

from klantroef_adapters.media.blob_reader import (
    BLOCK,
    BlobReader,
    ProbeTimeout,
    check_deadline,
    read_all,
)
from klantroef_core.domain.media_info import (
    JPEG,
    PNG,
    POSTER_WIDTH,
    AudioInfo,
    MediaInfo,
    Picture,
    VideoInfo,
)
from klantroef_core.errors import InvalidInput, Unavailable, UnreadableMedia
from klantroef_core.ports import StoredMedia

T = TypeVar("T")

MAX_SIDE = 16_384
MAX_PIXELS = 8192 * 4352  # 8K UHD and a little more
MAX_POSTER_FRAMES = 300
"""Frames decoded at most from the keyframe before the poster's moment (12 s at 25 fps)."""
MAX_BAD_PACKETS = 100
POSTER_AT = 0.1
"""Where the poster frame is taken, as a fraction of the duration."""
WAVE_WIDTH = POSTER_WIDTH
WAVE_HEIGHT = 128
WAVE_RATE = 8000
"""About how many samples a second the waveform reads (of one channel): enough for an envelope."""
MIN_DECODED_SHARE = 0.5
"""Audio that decodes to less than this share of its stated duration is not readable."""
JPEG_QUALITY = 4
"""FFmpeg's qscale for the poster JPEG: 2 (best) to 31."""
BACKGROUND, INK = 0xFF, 0x33


@dataclass(frozen=True, slots=True)
class _Limits:
    deadline: float
    seconds: float
    max_side: int
    max_pixels: int
    closed: threading.Event

    def check(self) -> None:
        if self.closed.is_set():
            raise Unavailable("the service is shutting down")
        check_deadline(self.deadline, self.seconds)

    def remaining(self) -> float:
        return max(0.001, self.deadline - time.monotonic())


class PyAvMediaProbe:
    """:class:`~klantroef_core.ports.MediaProbe` over FFmpeg (PyAV).

    ``timeout`` bounds each call (seconds); ``workers`` how many run at once.
    """

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        workers: int = 2,
        max_side: int = MAX_SIDE,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        if timeout <= 0 or workers < 1:
            raise ValueError("a probe needs a positive timeout and at least one worker")
        self.timeout = timeout
        self._max_side = max_side
        self._max_pixels = max_pixels
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="klantroef-probe")
        self._closed = threading.Event()

    async def probe(self, source: StoredMedia) -> MediaInfo:
        return await self._run(source, _probe)

    async def picture(self, source: StoredMedia, info: MediaInfo) -> Picture:
        return await self._run(source, functools.partial(_picture, info=info))

    async def _run(self, source: StoredMedia, work: Callable[[Any, _Limits], T]) -> T:
        limits = _Limits(
            time.monotonic() + self.timeout,
            self.timeout,
            self._max_side,
            self._max_pixels,
            self._closed,
        )
        path = source.storage.local_path(source.key)
        file: Any
        if path is not None:
            file = str(path)
        else:  # read the first block here: a missing blob is BlobMissing, on the loop
            first = await read_all(source, 0, min(BLOCK, source.size) - 1) if source.size else b""
            if not first:
                raise UnreadableMedia("the file is empty")
            file = BlobReader(source, limits.deadline, self.timeout, first_block=first)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, _guarded, work, file, limits)
        except ProbeTimeout as exc:  # the service's limit, not proof the file is bad: 503
            raise Unavailable(f"the media could not be read in time: {exc}") from None

    def close(self) -> None:
        """Stop: probes waiting for a thread are dropped, running ones end at their next
        packet (so a process shutting down does not wait out their time limit)."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _guarded(work: Callable[[Any, _Limits], T], file: Any, limits: _Limits) -> T:
    """``work``, with any way FFmpeg or PyAV can fail worded as UnreadableMedia."""
    try:
        return work(file, limits)
    except (UnreadableMedia, Unavailable):
        raise
    except InvalidInput as exc:  # the file's values break a rule of MediaInfo
        raise UnreadableMedia(f"the file states impossible values: {exc}") from exc
    except Exception as exc:  # FFmpeg's errors, and whatever a corrupt file makes PyAV raise
        raise UnreadableMedia(f"the file cannot be read as media ({exc})") from exc


def _open(file: Any, limits: _Limits) -> av.container.InputContainer:
    limits.check()
    try:
        opened: av.container.InputContainer = av.open(file, "r", timeout=limits.remaining())
    except ProbeTimeout:
        raise
    except Exception as exc:
        raise UnreadableMedia(
            "no demuxer can read the file: it is not a media file we know"
        ) from exc
    return opened


def _main_video(container: av.container.InputContainer) -> av.VideoStream | None:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:  # cover art is no video
            return stream
    return None


def _main_audio(container: av.container.InputContainer) -> av.AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def _seconds(value: int | None, base: Fraction | None) -> float | None:
    if value is None or base is None or value <= 0:
        return None
    return float(value * base)


def _duration(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    durations = [_seconds(s.duration, s.time_base) for s in container.streams]
    known = [d for d in durations if d is not None]
    return max(known) if known else None


def _check_size(width: int, height: int, limits: _Limits) -> None:
    if width <= 0 or height <= 0:
        raise UnreadableMedia("the video stream states no frame size")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise UnreadableMedia(f"frames of {width}x{height} pixels are larger than we read")


def _video_info(stream: av.VideoStream, limits: _Limits) -> VideoInfo:
    context = stream.codec_context
    _check_size(context.width, context.height, limits)
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(
        codec=context.codec.canonical_name,
        width=context.width,
        height=context.height,
        frame_rate=round(float(rate), 3) if rate else None,
    )


def _audio_info(stream: av.AudioStream) -> AudioInfo:
    context = stream.codec_context
    return AudioInfo(
        codec=context.codec.canonical_name,
        channels=context.layout.nb_channels,
        sample_rate=context.sample_rate,
    )


def _probe(file: Any, limits: _Limits) -> MediaInfo:
    with _open(file, limits) as container:
        video, audio = _main_video(container), _main_audio(container)
        if video is None and audio is None:
            raise UnreadableMedia("the file holds no audio or video stream")
        duration = _duration(container)
        return MediaInfo(
            container=container.format.name[:64],
            duration_seconds=round(duration, 6) if duration else None,
            bit_rate=container.bit_rate or None,
            video=_video_info(video, limits) if video is not None else None,
            audio=_audio_info(audio) if audio is not None else None,
        )


def _picture(file: Any, limits: _Limits, *, info: MediaInfo) -> Picture:
    with _open(file, limits) as container:
        video = _main_video(container)
        if video is not None:
            return _poster(container, video, info, limits)
        audio = _main_audio(container)
        if audio is None:
            raise UnreadableMedia("the file holds no audio or video stream")
        return _waveform(container, audio, info, limits)


def _decoded(packet: Any, bad: list[int]) -> list[Any]:
    """The packet's frames; a packet the decoder refuses counts as bad (too many: unreadable)."""
    try:
        return list(packet.decode())
    except av.FFmpegError:
        bad[0] += 1
        if bad[0] > MAX_BAD_PACKETS:
            raise UnreadableMedia("too much of the file cannot be decoded") from None
        return []


# --- the poster: one frame of the video ------------------------------------------------


def _poster(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    info: MediaInfo,
    limits: _Limits,
) -> Picture:
    context = stream.codec_context
    _check_size(context.width, context.height, limits)
    context.thread_count = 1  # one frame in flight, not one per core
    start = _seconds(stream.start_time, stream.time_base) or 0.0
    moment = start + POSTER_AT * (info.duration_seconds or 0.0)
    if moment > start and stream.time_base:
        try:
            container.seek(int(moment / stream.time_base), stream=stream, backward=True)
        except av.FFmpegError:
            container.seek(0)
    chosen, decoded, bad = None, 0, [0]
    for packet in container.demux(stream):
        limits.check()
        for frame in _decoded(packet, bad):
            chosen, decoded = frame, decoded + 1
            if frame.time is None or frame.time >= moment or decoded >= MAX_POSTER_FRAMES:
                break
        else:
            continue
        break
    if chosen is None:
        raise UnreadableMedia("no frame of the video can be decoded")
    return Picture(JPEG, _jpeg(chosen, context.sample_aspect_ratio))


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _jpeg(frame: av.VideoFrame, aspect: Fraction | None) -> bytes:
    pixel_aspect = float(aspect) if aspect else 1.0
    display_width = frame.width * pixel_aspect
    width = _even(min(POSTER_WIDTH, display_width))
    height = _even(width * frame.height / display_width)
    scaled = frame.reformat(width=width, height=height, format="yuvj420p", interpolation="AREA")
    scaled.pts = None
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.qscale = True
    encoder.global_quality = JPEG_QUALITY * 118  # FF_QP2LAMBDA
    return b"".join(bytes(p) for p in [*encoder.encode(scaled), *encoder.encode(None)])


# --- the waveform: peaks of the whole audio ----------------------------------------------


class _Peaks:
    """Running peaks (0 to 1) over blocks of samples, halving resolution as the audio goes on.

    Holds between ``columns`` and ``2 x columns`` peaks however long the audio is: when
    the list is full, neighbours merge and blocks double.
    """

    def __init__(self, columns: int, block: int = 32) -> None:
        self._columns = columns
        self._block = block
        self._peaks: list[float] = []
        self._current = 0.0
        self._filled = 0

    def add(self, samples: memoryview, scale: float, centre: float) -> None:
        """Samples in their own unit: ``centre`` is silence, ``scale`` full scale from it."""
        index, count = 0, len(samples)
        while index < count:
            take = min(self._block - self._filled, count - index)
            piece = samples[index : index + take]
            peak = max(max(piece) - centre, centre - min(piece)) / scale
            self._current = max(self._current, peak)
            self._filled += take
            index += take
            if self._filled == self._block:
                self._close_block()

    def _close_block(self) -> None:
        self._peaks.append(min(1.0, self._current))
        self._current, self._filled = 0.0, 0
        if len(self._peaks) >= 2 * self._columns:
            pairs = self._peaks
            self._peaks = [max(pairs[i], pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)]
            self._block *= 2

    def columns(self) -> list[float]:
        """One peak per column, the whole audio spread over ``columns``."""
        if self._filled:
            self._close_block()
        peaks = self._peaks or [0.0]
        count, width = len(peaks), self._columns
        spans = ((x * count // width, (x + 1) * count // width) for x in range(width))
        return [max(peaks[start : max(start + 1, stop)]) for start, stop in spans]


# Sample formats read in place: typecode, full scale, silence.
_SAMPLES = {
    "flt": ("f", 1.0, 0.0),
    "dbl": ("d", 1.0, 0.0),
    "s16": ("h", 32768.0, 0.0),
    "s32": ("i", 2147483648.0, 0.0),
    "u8": ("B", 128.0, 128.0),
}


def _first_channel(frame: av.AudioFrame) -> tuple[memoryview, float, float] | None:
    """The frame's first channel, about ``WAVE_RATE`` samples a second, read in place.

    None for a sample format not read in place (then a resampler converts it). Every
    n-th sample rather than a filtered resampling: a waveform shows the envelope, and
    PyAV's resampler costs more than the decoder per frame.
    """
    planar = frame.format.is_planar
    kind = _SAMPLES.get(frame.format.name.removesuffix("p") if planar else frame.format.name)
    if kind is None:
        return None
    typecode, scale, centre = kind
    stride = 1 if planar else len(frame.layout.channels)
    step = max(1, (frame.sample_rate or WAVE_RATE) // WAVE_RATE) * stride
    width = frame.format.bytes
    raw: Any = memoryview(frame.planes[0]).cast("B")[: frame.samples * stride * width]
    return raw.cast(typecode)[::step], scale, centre  # a typecode the stubs cannot narrow


def _waveform(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    info: MediaInfo,
    limits: _Limits,
) -> Picture:
    stream.codec_context.thread_count = 1
    resampler: av.AudioResampler | None = None
    peaks = _Peaks(WAVE_WIDTH)
    decoded, bad = 0.0, [0]

    def take(frame: av.AudioFrame) -> None:
        nonlocal resampler
        direct = _first_channel(frame)
        if direct is not None:
            peaks.add(*direct)
            return
        resampler = resampler or av.AudioResampler(format="s16", layout="mono", rate=WAVE_RATE)
        for out in resampler.resample(frame):
            peaks.add(memoryview(out.planes[0]).cast("B")[: 2 * out.samples].cast("h"), 32768, 0)

    for packet in container.demux(stream):
        limits.check()
        for frame in _decoded(packet, bad):
            decoded += frame.samples / (frame.sample_rate or WAVE_RATE)
            take(frame)
    stated = info.duration_seconds
    if decoded == 0 or (stated is not None and decoded < MIN_DECODED_SHARE * stated):
        raise UnreadableMedia(
            f"only {decoded:.1f} of the {stated or 0:.1f} seconds of audio can be decoded"
        )
    return Picture(PNG, _png(peaks.columns()))


def _png(columns: list[float]) -> bytes:
    frame = av.VideoFrame(WAVE_WIDTH, WAVE_HEIGHT, "gray")
    plane = frame.planes[0]
    line = plane.line_size
    pixels = bytearray([BACKGROUND]) * plane.buffer_size
    middle = WAVE_HEIGHT // 2
    for x, peak in enumerate(columns):
        half = max(1, round(peak * (middle - 1)))
        for y in range(middle - half, middle + half):
            pixels[y * line + x] = INK
    plane.update(bytes(pixels))
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WAVE_WIDTH, WAVE_HEIGHT, "gray"
    encoder.time_base = Fraction(1, 1)
    return b"".join(bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)])
