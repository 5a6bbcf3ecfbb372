"""Media bytes as files in one local folder.

Writes go to a hidden temporary file in the same folder, are flushed to disk and
then hard-linked into place, so a blob appears complete or not at all and an
existing blob is never replaced. Writes run in worker threads in large pieces,
so the event loop only ever holds one write buffer per upload.

Reads hand on small chunks (64 KiB): a slow client's server buffers hold a few
chunks, so memory per stream stays small (see ARCHITECTURE.md, backpressure); a
range of up to 1 MiB (a player's seek) is read and handed on whole.
A chunk already in the page cache is read on the event loop (``preadv2`` with
``RWF_NOWAIT``, which never waits for the disk: microseconds); only a chunk that
must come from the disk costs a hop to a worker thread.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from klantroef_adapters.storage.keys import check_key
from klantroef_core.errors import AlreadyExists, BlobMissing, Unavailable
from klantroef_core.ports import StoredBlob

MIB = 1024 * 1024
STREAM_CHUNK = 64 * 1024
"""How much a read hands on at a time: what one slow client pins per buffered chunk."""
WHOLE_RANGE = MIB
"""A range up to this long (a player's seek, a segment) is read and handed on in one
piece: one read and one message, and a slow client pins at most this much of it."""
PARTIAL_SUFFIX = ".part"
_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)
_NOT_NOW = frozenset({errno.EAGAIN, errno.EWOULDBLOCK})
T = TypeVar("T")


class _PartialFile:
    """A temporary file being written by worker threads, one piece at a time.

    The lock lets the event loop abandon the file (close and unlink it) even
    while a worker is writing, without ever closing a descriptor under a write.
    """

    def __init__(self, folder: Path, key: str) -> None:
        self.path = folder / f".{key}.{secrets.token_hex(8)}{PARTIAL_SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        self._lock = threading.Lock()
        self._hash = hashlib.sha256()
        self._published: Path | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        with self._lock:
            self._hash.update(data)  # hashlib releases the GIL for large buffers
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            self.size += len(data)

    def publish(self, final: Path) -> str:
        """Flush, link into place (never over an existing file) and return the SHA-256."""
        with self._lock:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            try:
                os.link(self.path, final)  # fails with FileExistsError: never replaces
            except OSError as exc:  # a file system without hard links
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                if final.exists():
                    raise FileExistsError(errno.EEXIST, "blob exists", str(final)) from exc
                os.replace(self.path, final)
            else:
                os.unlink(self.path)
            self._published = final
            fsync_folder(final.parent)
            return self._hash.hexdigest()

    def abandon(self) -> None:
        """Close and remove the file, even if a cancelled worker published it meanwhile.

        Safe to call at any point, more than once.
        """
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self.path.unlink(missing_ok=True)
            if self._published is not None:
                self._published.unlink(missing_ok=True)
                self._published = None


async def _on_disk(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call`` in a worker thread; a failing disk (full, read-only, gone) is Unavailable.

    FileExistsError passes through: it is an answer (the key is taken), not a failure.
    """
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except FileExistsError:
        raise
    except OSError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: OSError) -> Unavailable:
    return Unavailable(
        f"the media folder cannot be used: {exc.strerror or exc}", code="storage_unavailable"
    )


def fsync_folder(folder: Path) -> None:
    """Make the names just created, linked or renamed in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalMediaStorage:
    """Blobs as files named by their key under ``root`` (created on first write)."""

    def __init__(
        self,
        root: Path | str,
        *,
        write_buffer: int = MIB,
        read_chunk: int = STREAM_CHUNK,
        whole_range: int = WHOLE_RANGE,
    ) -> None:
        self.root = Path(root)
        self._write_buffer = write_buffer
        self._read_chunk = read_chunk
        self._whole_range = whole_range
        self._scratch = bytearray(max(read_chunk, whole_range))

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        final = self._path(key)
        await _on_disk(self.root.mkdir, parents=True, exist_ok=True)
        if await _on_disk(final.exists):
            raise AlreadyExists(f"blob {key}")
        try:
            partial = _PartialFile(self.root, key)  # one open(2), not worth a thread
        except OSError as exc:
            raise _unavailable(exc) from exc
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= self._write_buffer:
                    data, pending, buffered = b"".join(pending), [], 0
                    await _on_disk(partial.write, data)
            if pending:
                await _on_disk(partial.write, b"".join(pending))
            digest = await _on_disk(partial.publish, final)
        except FileExistsError as exc:
            partial.abandon()
            raise AlreadyExists(f"blob {key}") from exc
        except BaseException:
            # Also on cancellation (a client that went away): nothing may stay behind.
            partial.abandon()
            raise
        return StoredBlob(key=key, size=partial.size, sha256=digest)

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        path = self._path(key)
        if start < 0 or end < start:
            raise ValueError(f"not a byte range: {start}-{end}")
        length = end - start + 1
        first = length if length <= self._whole_range else min(self._read_chunk, length)
        try:  # a name the dentry cache knows opens in microseconds: on the loop
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        try:
            position, size = start, first
            while True:
                chunk = _read_cached(fd, size, position, self._scratch)
                if chunk is None:  # not in the page cache: wait for the disk in a thread
                    chunk = await asyncio.to_thread(os.pread, fd, size, position)
                elif position != start:  # read without suspending: let the loop run others
                    await asyncio.sleep(0)  # (and see a disconnect)
                if not chunk:
                    return
                position += len(chunk)
                yield chunk
                if position > end:
                    return
                size = min(self._read_chunk, end - position + 1)
        finally:
            os.close(fd)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key).absolute()
        return path if path.is_file() else None  # one stat, on the loop: microseconds

    async def delete(self, key: str) -> None:
        await _on_disk(self._path(key).unlink, missing_ok=True)

    async def remove_stale_partials(self, older_than: float = 24 * 3600) -> int:
        """Remove temporary files left by a crash (not by a live upload); return how many."""
        return await asyncio.to_thread(
            remove_untouched, self.root, f".*{PARTIAL_SUFFIX}", older_than
        )


def remove_untouched(folder: Path, pattern: str, older_than: float) -> int:
    """Remove the files in ``folder`` matching ``pattern`` that nobody has written to for
    ``older_than`` seconds; return how many (blocking: call it in a thread)."""
    if not folder.is_dir():
        return 0
    cutoff, removed = time.time() - older_than, 0
    for path in folder.glob(pattern):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:  # removed meanwhile (another host, another sweep)
            continue
    return removed


def _read_cached(fd: int, size: int, position: int, scratch: bytearray) -> bytes | None:
    """Up to ``size`` bytes at ``position`` if the page cache has them, else None.

    ``preadv2(RWF_NOWAIT)`` returns what is cached without touching the disk; where
    the flag or the call is missing (not Linux, an old kernel, a file system that
    refuses it) the answer is None and the caller reads in a thread. The bytes land
    in ``scratch`` (at least ``size`` long, reused: only the event loop reads
    through here) and are copied out once: a fresh zeroed buffer per read cost
    five times the read itself for 1 MiB (page faults on a new mapping, twice).
    """
    if _RWF_NOWAIT is None:
        return None
    buffer = memoryview(scratch)[:size]
    try:
        count = os.preadv(fd, [buffer], position, _RWF_NOWAIT)
    except OSError as exc:
        if exc.errno in _NOT_NOW or exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return None
        raise
    if count == 0 and size > 0:
        return None  # nothing cached, or the end of the file: let pread tell which
    return bytes(buffer[:count])
