"""HLS packaging with PyAV: remux H.264/AAC into CMAF (fMP4) segments, no re-encoding.

The item's bytes are read from its local file when the store has one, else
through :class:`StoreFile`, ranged reads of the store a block at a time (S3: no
temporary copy, and a refusal reads only the header and index); FFmpeg's ``hls`` muxer, fed
the demuxed packets unchanged, cuts segments at video keyframes (about
``segment_seconds`` each) and writes the init segment and the playlist. Each
file is then saved through ``MediaStorage`` under a key derived from the item's
storage key and a per-run tag, and a small JSON manifest (the parts, their
sizes, hashes and durations) is saved last under ``<key>.hls.json``. The
manifest is the commit point: a store never replaces a blob, so of two
processes packaging at once exactly one manifest wins and the loser deletes its
own parts. Inside one process a lock per item makes the second request wait for
the first one's package instead.

A refusal (codecs that would need transcoding) is stored as a manifest too, so
it is decided once. The CPU work runs in a worker thread, checked against a
deadline between packets; a packaging that outlives it is ``Unavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av

from klantroef_core.domain.hls import INIT_NAME, HlsPackage, HlsPart, segment_name
from klantroef_core.domain.media import Media
from klantroef_core.errors import (
    AlreadyExists,
    BlobMissing,
    KlantroefError,
    NeedsTranscoding,
    Unavailable,
)
from klantroef_core.ports import MediaStorage

logger = logging.getLogger("klantroef.hls")

MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
READ_CHUNK = 1024 * 1024
VIDEO_CODECS = frozenset({"h264"})
AUDIO_CODECS = frozenset({"aac"})
_EXTINF = re.compile(r"#EXTINF:([0-9.]+),")


class PackagingTimedOut(Exception):
    """The remux passed its deadline (or its caller went away)."""


def manifest_key(media: Media) -> str:
    return f"{media.storage_key}.hls.json"


def _part_key(media: Media, run: str, name: str) -> str:
    return f"{media.storage_key}.hls.{run}.{name}"


class PyAvPackager:
    """``MediaPackager`` over any ``MediaStorage``, remuxing with PyAV in a worker thread."""

    def __init__(
        self,
        storage: MediaStorage,
        *,
        timeout: float = 300.0,
        segment_seconds: int = 4,
        concurrent: int = 2,
        cache_size: int = 1024,
    ) -> None:
        self._storage = storage
        self._timeout = timeout
        self._segment_seconds = segment_seconds
        self._slots = asyncio.Semaphore(concurrent)
        self._locks: dict[str, asyncio.Lock] = {}
        self._known: OrderedDict[str, HlsPackage | str] = OrderedDict()
        self._cache_size = cache_size

    async def package(self, media: Media) -> HlsPackage:
        outcome = await self.known(media)
        if outcome is None:
            lock = self._locks.setdefault(media.storage_key, asyncio.Lock())
            try:
                async with lock:
                    outcome = await self.known(media)
                    if outcome is None:
                        outcome = await self._make(media)
            finally:
                if not lock.locked() and self._locks.get(media.storage_key) is lock:
                    del self._locks[media.storage_key]
        if isinstance(outcome, str):
            raise NeedsTranscoding(outcome)
        return outcome

    async def known(self, media: Media) -> HlsPackage | str | None:
        cached = self._known.get(media.storage_key)
        if cached is not None:
            self._known.move_to_end(media.storage_key)
            return cached
        raw = await self._read_manifest(manifest_key(media))
        if raw is None:
            return None
        outcome = _parse_manifest(raw)
        self._remember(media, outcome)
        return outcome

    async def delete(self, media: Media) -> None:
        self._known.pop(media.storage_key, None)
        raw = await self._read_manifest(manifest_key(media))
        if raw is not None:
            outcome = _parse_manifest(raw)
            if isinstance(outcome, HlsPackage):
                for part in (outcome.init, *outcome.segments):
                    await self._storage.delete(part.key)
        await self._storage.delete(manifest_key(media))

    def _remember(self, media: Media, outcome: HlsPackage | str) -> None:
        self._known[media.storage_key] = outcome
        self._known.move_to_end(media.storage_key)
        while len(self._known) > self._cache_size:
            self._known.popitem(last=False)

    async def _read_manifest(self, key: str) -> bytes | None:
        data = bytearray()
        try:
            async for chunk in self._storage.read_range(key, 0, MAX_MANIFEST_BYTES - 1):
                data += chunk
        except BlobMissing:
            return None
        return bytes(data)

    async def _make(self, media: Media) -> HlsPackage | str:
        async with self._slots:
            with tempfile.TemporaryDirectory(prefix="klantroef-hls-") as work:
                folder = Path(work)
                source: Path | StoreFile | None = self._storage.local_path(media.storage_key)
                if source is None:  # S3: PyAV reads ranges of the object, a block at a time
                    await _ensure_blob(self._storage, media.storage_key)
                    source = StoreFile(
                        self._storage, media, asyncio.get_running_loop(), self._timeout
                    )
                out = folder / "out"
                out.mkdir()
                started = time.monotonic()
                try:
                    remuxed = await _in_thread(
                        _remux, source, out, started + self._timeout, self._segment_seconds
                    )
                except NeedsTranscoding as refusal:
                    logger.info("media %s cannot be packaged for HLS: %s", media.id, refusal)
                    return await self._commit(media, {"refused": refusal.reason}, [])
                except PackagingTimedOut:
                    raise Unavailable("HLS packaging ran out of time") from None
                logger.info(
                    "media %s packaged for HLS in %.2f s (%d segments)",
                    media.id,
                    time.monotonic() - started,
                    len(remuxed[1]),
                )
                return await self._store(media, out, *remuxed)

    async def _store(
        self, media: Media, out: Path, content_type: str, segments: list[tuple[str, float]]
    ) -> HlsPackage | str:
        run = secrets.token_hex(4)
        saved: list[str] = []
        try:
            init = await self._save_part(
                media, run, out / INIT_NAME, INIT_NAME, duration=0.0, saved=saved
            )
            parts = [
                await self._save_part(
                    media, run, out / file, segment_name(index), duration=duration, saved=saved
                )
                for index, (file, duration) in enumerate(segments)
            ]
            HlsPackage(content_type, init, tuple(parts))  # its rules checked before it is committed
            manifest = {
                "content_type": content_type,
                "parts": [_part_json(part) for part in (init, *parts)],
            }
            return await self._commit(media, manifest, saved)
        except BaseException:
            await _forget(self._storage, saved)
            raise

    async def _save_part(
        self, media: Media, run: str, path: Path, name: str, *, duration: float, saved: list[str]
    ) -> HlsPart:
        key = _part_key(media, run, name)
        blob = await self._storage.save(key, _file_chunks(path))
        saved.append(key)
        return HlsPart(name, key, blob.size, blob.sha256, duration)

    async def _commit(
        self, media: Media, manifest: dict[str, Any], saved: list[str]
    ) -> HlsPackage | str:
        body = json.dumps({"v": MANIFEST_VERSION, **manifest}, separators=(",", ":")).encode()
        try:
            await self._storage.save(manifest_key(media), _one(body))
        except AlreadyExists:  # another process packaged it first: theirs stands
            await _forget(self._storage, saved)
            saved.clear()
            raw = await self._read_manifest(manifest_key(media))
            if raw is None:
                raise Unavailable("the HLS manifest vanished while it was being read") from None
            body = raw
        outcome = _parse_manifest(body)
        self._remember(media, outcome)
        return outcome


def _part_json(part: HlsPart) -> dict[str, Any]:
    return {
        "name": part.name,
        "key": part.key,
        "size": part.size,
        "sha256": part.sha256,
        "duration": part.duration,
    }


def _parse_manifest(raw: bytes) -> HlsPackage | str:
    """The outcome a manifest records; ``Unavailable`` for one this code cannot read."""
    try:
        return _outcome(json.loads(raw))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, KlantroefError) as exc:
        raise Unavailable(f"an HLS manifest that cannot be read ({exc})") from None


def _outcome(document: dict[str, Any]) -> HlsPackage | str:
    if document.get("v") != MANIFEST_VERSION:
        raise ValueError(f"version {document.get('v')!r}")
    if "refused" in document:
        return str(document["refused"])
    parts = [
        HlsPart(p["name"], p["key"], int(p["size"]), p["sha256"], float(p["duration"]))
        for p in document["parts"]
    ]
    return HlsPackage(document["content_type"], parts[0], tuple(parts[1:]))


async def _forget(storage: MediaStorage, keys: list[str]) -> None:
    """Delete parts no manifest will name; shielded, logged when the store refuses."""
    for key in keys:
        try:
            await asyncio.shield(storage.delete(key))
        except Exception:
            logger.exception("could not delete the unused HLS part %s", key)


async def _one(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, READ_CHUNK):
            yield chunk


async def _in_thread(
    remux: Any, source: Path | StoreFile, out: Path, deadline: float, segment_seconds: int
) -> tuple[str, list[tuple[str, float]]]:
    """Run ``remux`` in a worker thread; a cancelled caller stops it at the next packet
    (and waits for that, so the thread never writes into a folder being removed)."""
    stop = source.stopped if isinstance(source, StoreFile) else threading.Event()
    running = asyncio.ensure_future(
        asyncio.to_thread(remux, source, out, deadline, segment_seconds, stop)
    )
    try:
        result: tuple[str, list[tuple[str, float]]] = await asyncio.shield(running)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(BaseException):
            await running
        raise
    return result


async def _ensure_blob(storage: MediaStorage, key: str) -> None:
    """BlobMissing now, rather than from inside FFmpeg's read callback."""
    async for _ in storage.read_range(key, 0, 0):
        break


class StoreFile(io.RawIOBase):
    """A blob in any ``MediaStorage`` as a seekable binary file, for PyAV in a worker thread.

    Each read is served from one cached block of ``BLOCK`` bytes, fetched on the
    event loop with ``read_range`` (so memory stays one block, and an MP4 whose
    index is at its end costs a few ranged reads, not a download).
    """

    BLOCK = 1024 * 1024

    def __init__(
        self, storage: MediaStorage, media: Media, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        super().__init__()
        self._storage = storage
        self._key = media.storage_key
        self._size = media.size_bytes
        self._loop = loop
        self._timeout = timeout
        self._position = 0
        self._block_start = -1
        self._block = b""
        self.stopped = threading.Event()
        """Set when the caller went away: the next block fetch fails."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size or not len(view):
            return 0
        start = self._position - self._position % self.BLOCK
        if start != self._block_start:
            if self.stopped.is_set():
                raise PackagingTimedOut
            end = min(start + self.BLOCK, self._size) - 1
            pending = asyncio.run_coroutine_threadsafe(self._fetch(start, end), self._loop)
            try:
                self._block = pending.result(self._timeout)
            except TimeoutError:
                pending.cancel()
                raise PackagingTimedOut from None
            self._block_start = start
        offset = self._position - start
        count = min(len(view), len(self._block) - offset)
        if count <= 0:
            return 0
        view[:count] = self._block[offset : offset + count]
        self._position += count
        return count

    async def _fetch(self, start: int, end: int) -> bytes:
        return b"".join([chunk async for chunk in self._storage.read_range(self._key, start, end)])


def _first(streams: Iterator[Any]) -> Any:
    for stream in streams:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _remux(
    source: Path | StoreFile,
    out: Path,
    deadline: float,
    segment_seconds: int,
    stop: threading.Event,
) -> tuple[str, list[tuple[str, float]]]:
    """Remux ``source`` into ``out`` (init.mp4, seg-*.m4s, index.m3u8); codecs checked first.

    Returns the package's content type and each segment's file name and duration.
    """
    try:
        container = av.open(
            str(source) if isinstance(source, Path) else source, "r", metadata_errors="ignore"
        )
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise NeedsTranscoding(f"FFmpeg cannot read it: {exc}") from None
    with container:
        video = _first(iter(container.streams.video))
        audio = _first(iter(container.streams.audio))
        if video is None and audio is None:
            raise NeedsTranscoding("it has no audio or video stream")
        if video is not None and video.codec_context.name not in VIDEO_CODECS:
            raise NeedsTranscoding(f"its video is {video.codec_context.name}, not H.264")
        if audio is not None and audio.codec_context.name not in AUDIO_CODECS:
            raise NeedsTranscoding(f"its audio is {audio.codec_context.name}, not AAC")
        chosen = [s for s in (video, audio) if s is not None]
        options = {
            "hls_time": str(segment_seconds),
            "hls_segment_type": "fmp4",
            "hls_playlist_type": "vod",
            "hls_fmp4_init_filename": INIT_NAME,
            "hls_segment_filename": str(out / "seg-%05d.m4s"),
            "hls_flags": "independent_segments",
        }
        try:
            with av.open(str(out / "index.m3u8"), "w", format="hls", options=options) as output:
                streams = {s.index: output.add_stream_from_template(s) for s in chosen}
                for packet in container.demux(chosen):
                    if stop.is_set() or time.monotonic() > deadline:
                        raise PackagingTimedOut
                    if packet.dts is None:
                        continue
                    packet.stream = streams[packet.stream.index]
                    output.mux(packet)
        except av.FFmpegError as exc:
            raise NeedsTranscoding(f"FFmpeg cannot remux it: {exc}") from None
    return ("video/mp4" if video is not None else "audio/mp4"), _segments(out / "index.m3u8")


def _segments(playlist: Path) -> list[tuple[str, float]]:
    """The segment files and durations FFmpeg's playlist lists, in order."""
    found: list[tuple[str, float]] = []
    duration: float | None = None
    for line in playlist.read_text().splitlines():
        match = _EXTINF.match(line)
        if match:
            duration = float(match.group(1))
        elif line and not line.startswith("#") and duration is not None:
            found.append((line, duration))
            duration = None
    if not found:
        raise NeedsTranscoding("it holds no media to play")
    return found
