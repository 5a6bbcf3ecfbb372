"""Media bytes in a dict: the MediaStorage port for tests and throwaway runs."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from klantroef_adapters.storage.keys import check_key
from klantroef_core.errors import AlreadyExists, BlobMissing
from klantroef_core.ports import StoredBlob


class InMemoryMediaStorage:
    """Blobs for one process. A save lands only once its last chunk arrived.

    ``writes_in_progress`` counts saves still reading their chunks, so tests can
    see that an aborted upload left nothing half-written behind.
    """

    def __init__(self, *, read_chunk: int = 64 * 1024) -> None:
        self._blobs: dict[str, bytes] = {}
        self._read_chunk = read_chunk
        self.writes_in_progress = 0

    def keys(self) -> set[str]:
        """The keys of every complete blob."""
        return set(self._blobs)

    def content(self, key: str) -> bytes:
        """A stored blob's bytes (tests only: this does load it whole)."""
        return self._blobs[check_key(key)]

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        check_key(key)
        if key in self._blobs:
            raise AlreadyExists(f"blob {key}")
        data = bytearray()
        digest = hashlib.sha256()
        self.writes_in_progress += 1
        try:
            async for chunk in chunks:
                data += chunk
                digest.update(chunk)
        finally:
            self.writes_in_progress -= 1
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

    async def exists(self, key: str) -> bool:
        return check_key(key) in self._blobs
