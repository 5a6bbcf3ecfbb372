"""Partial uploads in a dict: the PartialUploads port for tests and throwaway runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

from klantroef_adapters.storage.keys import check_key
from klantroef_core.errors import BlobMissing, UploadBusy


class InMemoryPartialUploads:
    """A :class:`~klantroef_core.ports.PartialUploads` for one process (keep uploads small)."""

    def __init__(self, *, read_chunk: int = 64 * 1024) -> None:
        self._bytes: dict[str, bytearray] = {}
        self._busy: set[str] = set()
        self._read_chunk = read_chunk

    async def create(self, upload_id: str) -> None:
        self._bytes.setdefault(check_key(upload_id), bytearray())

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterator[bytes]) -> int:
        data = self._bytes.get(check_key(upload_id))
        if data is None or len(data) < offset:
            raise BlobMissing(upload_id)
        if upload_id in self._busy:
            raise UploadBusy(upload_id)
        self._busy.add(upload_id)
        try:
            del data[offset:]
            try:
                async for chunk in chunks:
                    data += chunk
            except BaseException:
                del data[offset:]
                raise
            return len(data)
        finally:
            self._busy.discard(upload_id)

    async def read(self, upload_id: str, length: int) -> AsyncIterator[bytes]:
        data = self._bytes.get(check_key(upload_id))
        if data is None or len(data) < length:
            raise BlobMissing(upload_id)
        for position in range(0, length, self._read_chunk):
            yield bytes(data[position : min(position + self._read_chunk, length)])

    async def discard(self, upload_id: str) -> None:
        self._bytes.pop(check_key(upload_id), None)

    def held(self) -> int:
        """How many uploads hold bytes (for tests: nothing left behind)."""
        return len(self._bytes)
