"""Partial uploads as files in one local folder, durable across restarts.

Each upload is ``<folder>/<id>.part``. An append takes an exclusive ``flock``
(so a second writer, in any process on this host, is refused rather than
interleaved), cuts the file back to the caller's offset, writes, and fsyncs
before it returns: the caller records the new offset only once the bytes are on
disk, so after a crash the recorded offset never promises bytes that are not.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from klantroef_adapters.storage.keys import check_key
from klantroef_adapters.storage.local import fsync_folder, remove_untouched
from klantroef_core.errors import BlobMissing, Unavailable, UploadBusy

MIB = 1024 * 1024
SUFFIX = ".part"
T = TypeVar("T")


def _unavailable(exc: OSError) -> Unavailable:
    return Unavailable(
        f"the upload folder cannot be used: {exc.strerror or exc}", code="storage_unavailable"
    )


async def _on_disk(call: Callable[..., T], *args: Any) -> T:
    """``call`` in a worker thread; a failing disk (full, read-only, gone) is Unavailable."""
    try:
        return await asyncio.to_thread(call, *args)
    except OSError as exc:
        raise _unavailable(exc) from exc


class LocalPartialUploads:
    """Partial uploads under ``folder`` (created on first use)."""

    def __init__(
        self, folder: Path | str, *, write_buffer: int = MIB, read_chunk: int = MIB
    ) -> None:
        self.folder = Path(folder)
        self._write_buffer = write_buffer
        self._read_chunk = read_chunk

    def _path(self, upload_id: str) -> Path:
        return self.folder / f"{check_key(upload_id)}{SUFFIX}"

    async def create(self, upload_id: str) -> None:
        path = self._path(upload_id)

        def create() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_folder(self.folder)

        try:
            await asyncio.to_thread(create)
        except OSError as exc:
            raise _unavailable(exc) from exc

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterator[bytes]) -> int:
        path = self._path(upload_id)
        try:
            fd = await asyncio.to_thread(_open_locked, path, offset)
        except (FileNotFoundError, BlobMissing) as exc:
            raise BlobMissing(upload_id) from exc
        except BlockingIOError as exc:
            raise UploadBusy(upload_id) from exc
        except OSError as exc:
            raise _unavailable(exc) from exc
        position = offset
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= self._write_buffer:
                    data, pending, buffered = b"".join(pending), [], 0
                    position = await _on_disk(_write, fd, data, position)
            if pending:
                position = await _on_disk(_write, fd, b"".join(pending), position)
            await _on_disk(os.fsync, fd)
        except BaseException:
            # Whole or nothing: back to the offset the caller still has on record.
            await asyncio.shield(asyncio.to_thread(_cut_and_close, fd, offset))
            raise
        os.close(fd)  # also releases the lock
        return position

    async def read(self, upload_id: str, length: int) -> AsyncIterator[bytes]:
        path = self._path(upload_id)
        try:
            fd = await asyncio.to_thread(os.open, path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise BlobMissing(upload_id) from exc
        try:
            position = 0
            while position < length:
                chunk = await asyncio.to_thread(
                    os.pread, fd, min(self._read_chunk, length - position), position
                )
                if not chunk:
                    raise BlobMissing(upload_id)
                position += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def discard(self, upload_id: str) -> None:
        try:
            await asyncio.to_thread(self._path(upload_id).unlink, missing_ok=True)
        except OSError as exc:
            raise _unavailable(exc) from exc

    async def remove_idle(self, older_than: float) -> int:
        """Remove upload files untouched for ``older_than`` seconds; return how many.

        Every append touches its file and an upload expires a fixed time after its
        creation, so a file idle for longer than that belongs to an expired upload
        (swept on another host, or left by a crash between its row and its bytes).
        """
        return await asyncio.to_thread(remove_untouched, self.folder, f"*{SUFFIX}", older_than)


def _open_locked(path: Path, offset: int) -> int:
    """Open the upload for writing under an exclusive lock, cut back to ``offset``."""
    fd = os.open(path, os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        short = os.fstat(fd).st_size < offset
        if not short:
            os.ftruncate(fd, offset)
    except BaseException:
        os.close(fd)
        raise
    if short:
        os.close(fd)
        raise BlobMissing(str(path))
    return fd


def _write(fd: int, data: bytes, position: int) -> int:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, position)
        view = view[written:]
        position += written
    return position


def _cut_and_close(fd: int, offset: int) -> None:
    try:
        os.ftruncate(fd, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
