"""An upload handed over from Python rather than from a form: a file, a path or bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from klantroef_core.domain.media import MediaType
from klantroef_core.use_cases.media_upload import TITLE_FIELD, TYPE_FIELD

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileUpload:
    """What :class:`~klantroef_core.use_cases.media_upload.UploadMedia` takes from a Python caller.

    ``body`` yields the file's bytes once; ``title`` defaults to the file name
    without its extension, ``type`` to what the bytes are.
    """

    body: AsyncIterable[bytes]
    filename: str | None = None
    title: str | None = None
    type: MediaType | None = None

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        title: str | None = None,
        type: MediaType | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> FileUpload:
        """The file at ``path``, read a chunk at a time in a worker thread."""
        path = Path(path)
        return cls(_read(path, chunk_size), path.name, title, type)

    @classmethod
    def from_chunks(
        cls,
        chunks: Iterable[bytes],
        *,
        filename: str | None = None,
        title: str | None = None,
        type: MediaType | None = None,
    ) -> FileUpload:
        """Bytes already in memory (or any iterable of them)."""
        return cls(_aiter(chunks), filename, title, type)

    @property
    def leading_fields(self) -> Mapping[str, str]:
        fields = {TITLE_FIELD: self.title, TYPE_FIELD: self.type.value if self.type else None}
        return {name: value for name, value in fields.items() if value is not None}

    def chunks(self) -> AsyncIterator[bytes]:
        return aiter(self.body)

    async def all_fields(self) -> Mapping[str, str]:
        return self.leading_fields


async def _read(path: Path, chunk_size: int) -> AsyncIterator[bytes]:
    with await asyncio.to_thread(path.open, "rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
