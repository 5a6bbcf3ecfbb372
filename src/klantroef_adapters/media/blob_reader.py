"""A blocking, seekable file over a store's ranged reads, for code that runs in a thread.

FFmpeg (through PyAV) wants a file it can read and seek. A store without local
files (S3, memory) is reached through its ``read_range`` coroutine on the event
loop: each miss of the one block held here is one ranged read, handed to the loop
and waited for with the time left before the deadline.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from typing import TYPE_CHECKING

from klantroef_core.errors import UnreadableMedia
from klantroef_core.ports import StoredMedia

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

BLOCK = 512 * 1024


class ProbeTimeout(UnreadableMedia):
    """The file could not be read within the probe's time limit."""


def check_deadline(deadline: float, limit: float) -> None:
    """Raise :class:`ProbeTimeout` once ``time.monotonic()`` passed ``deadline``."""
    if time.monotonic() > deadline:
        raise ProbeTimeout(f"the file could not be read within {limit:g} seconds")


class BlobReader(io.RawIOBase):
    """Reads ``source`` from its store, one block of ``block`` bytes at a time.

    Built on the event loop's thread (it remembers the loop); read from a worker
    thread only. Holds at most one block; ``first_block`` is the file's start,
    when the caller already read it.
    """

    def __init__(
        self,
        source: StoredMedia,
        deadline: float,
        limit: float,
        *,
        first_block: bytes = b"",
        block: int = BLOCK,
    ) -> None:
        super().__init__()
        self._source = source
        self._loop = asyncio.get_running_loop()
        self._deadline = deadline
        self._limit = limit
        self._block_size = block
        self._position = 0
        self._block_start = 0
        self._block = first_block

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._position + offset
        elif whence == os.SEEK_END:
            position = self._source.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if position < 0:
            raise OSError("seek before the start of the file")
        self._position = position
        return position

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        if self._position >= self._source.size or not len(target):
            return 0
        offset = self._position - self._block_start
        if not 0 <= offset < len(self._block):
            self._fetch(self._position)
            offset = 0
        piece = self._block[offset : offset + len(target)]
        target[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)

    def _fetch(self, start: int) -> None:
        check_deadline(self._deadline, self._limit)
        end = min(start + self._block_size, self._source.size) - 1
        ask = read_all(self._source, start, end)
        future = asyncio.run_coroutine_threadsafe(ask, self._loop)
        try:
            block = future.result(timeout=max(0.0, self._deadline - time.monotonic()))
        except TimeoutError:
            future.cancel()
            raise ProbeTimeout(
                f"the file could not be read within {self._limit:g} seconds"
            ) from None
        self._block_start, self._block = start, block


async def read_all(source: StoredMedia, start: int, end: int) -> bytes:
    parts = [chunk async for chunk in source.storage.read_range(source.key, start, end)]
    return b"".join(parts)
