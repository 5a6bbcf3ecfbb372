"""How the local store reads: small chunks, and the event loop never held for a whole file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from klantroef_adapters.storage.local import STREAM_CHUNK, LocalMediaStorage, _read_cached

MIB = 1024 * 1024


async def test_a_cached_file_is_read_in_small_chunks_while_others_run(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path)
    data = os.urandom(16 * MIB)
    (tmp_path / "big").write_bytes(data)  # just written: in the page cache
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(ticker())
    sizes, received = [], bytearray()
    async for chunk in storage.read_range("big", 0, len(data) - 1):
        sizes.append(len(chunk))
        received += chunk
    stop.set()
    await other

    assert bytes(received) == data
    assert max(sizes) <= STREAM_CHUNK
    # Each chunk gave the loop back at least once: the other task ran all along.
    assert ticks >= len(sizes) // 2, (ticks, len(sizes))


def test_a_cached_read_returns_the_bytes_or_none(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY)
    try:
        scratch = bytearray(8)
        cached = _read_cached(fd, 4, 3, scratch)
        assert cached in (b"3456", None)  # None only where RWF_NOWAIT is not offered
        assert _read_cached(fd, 4, 10, scratch) is None  # at the end: pread tells
        again = _read_cached(fd, 3, 0, scratch)  # the scratch is reused, the bytes are not
        assert again in (b"012", None)
        assert cached in (b"3456", None)
    finally:
        os.close(fd)
