"""Where media bytes live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What was written: the key, its size and SHA-256 (hex)."""

    key: str
    size: int
    sha256: str


class MediaStorage(Protocol):
    """A blob store keyed by names the core generates (never client file names).

    Promises (each checked by ``klantroef_adapters.testing.MediaStorageContract``):

    - ``save`` returns the key, size and SHA-256 of what it wrote, and the bytes
      read back unchanged; an empty blob can be stored.
    - ``read_range`` yields exactly the bytes ``start`` to ``end`` inclusive, in
      chunks no larger than the store's read chunk (never the whole blob at once),
      stopping at the last byte when ``end`` lies past it. A store may hand on a
      short range (at most its own bound, 1 MiB for local files) as one chunk.
    - Reading a key with no blob raises :class:`~klantroef_core.errors.BlobMissing`
      on first iteration.
    - Writes are atomic: a blob is invisible until its last chunk arrived; a save
      whose chunks raise (a size limit, a disconnect) or that is cancelled leaves
      nothing behind and lets the exception propagate.
    - A stored blob is never replaced: saving a taken key raises
      :class:`~klantroef_core.errors.AlreadyExists`, and of two concurrent saves of
      one key exactly one wins, whole.
    - ``delete`` removes a blob and is idempotent.
    - A key that is not a safe token (letters, digits, ``.``, ``_``, ``-``; not
      starting with a dot; at most 128 characters) is refused with ``ValueError``
      by every method.
    - ``local_path``, when not None, is an absolute path holding the blob's bytes;
      it is None for a key with no blob (so a caller never sends a missing file).
    - When the store cannot be used, ``save`` raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        """Write every chunk under ``key`` atomically, hashing while writing.

        If iterating ``chunks`` raises (a size limit, a disconnect, a
        cancellation), the partial data is removed and the exception propagates.
        If ``key`` is taken, raises :class:`~klantroef_core.errors.AlreadyExists` and
        the stored blob stays as it was.
        """
        ...

    def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks (fewer if the blob is shorter).

        Raises :class:`~klantroef_core.errors.BlobMissing` on first iteration if no
        blob is stored under ``key``.
        """
        ...

    def local_path(self, key: str) -> Path | None:
        """The blob's file on local disk (for zero-copy sends), or None.

        None when the store keeps no files, and when no blob is stored under
        ``key``. Synchronous: at most one ``stat`` of a local file.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it is already gone."""
        ...
