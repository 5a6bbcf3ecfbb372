"""Media bytes in a dict: the MediaStorage port for tests and throwaway runs."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from klantroef_adapters.storage.keys import check_key
from klantroef_core.errors import AlreadyExists, BlobMissing
from klantroef_core.ports import StoredBlob


class InMemoryMediaStorage:
    """A :class:`~klantroef_core.ports.media_storage.MediaStorage` for one process.

    A save collects its chunks aside and lands only once its last chunk arrived,
    so an aborted save leaves nothing behind. Reads yield ``read_chunk`` bytes at
    a time (blobs are held whole in memory, so keep them small).
    """

    def __init__(self, *, read_chunk: int = 64 * 1024) -> None:
        self._blobs: dict[str, bytes] = {}
        self._read_chunk = read_chunk

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        check_key(key)
        if key in self._blobs:
            raise AlreadyExists(f"blob {key}")
        data = bytearray()
        digest = hashlib.sha256()
        async for chunk in chunks:
            data += chunk
            digest.update(chunk)
        if key in self._blobs:  # another save of the same key finished first
            raise AlreadyExists(f"blob {key}")
        self._blobs[key] = bytes(data)
        return StoredBlob(key=key, size=len(data), sha256=digest.hexdigest())

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        check_key(key)
        if start < 0 or end < start:
            raise ValueError(f"not a byte range: {start}-{end}")
        blob = self._blobs.get(key)
        if blob is None:
            raise BlobMissing(key)
        stop = min(end + 1, len(blob))
        for position in range(start, stop, self._read_chunk):
            yield blob[position : min(position + self._read_chunk, stop)]

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    async def delete(self, key: str) -> None:
        self._blobs.pop(check_key(key), None)
