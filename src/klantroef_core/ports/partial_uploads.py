"""Where the bytes of unfinished resumable uploads wait for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class PartialUploads(Protocol):
    """The bytes received so far of each resumable upload, keyed by upload id.

    Promises (each checked by ``klantroef_adapters.testing.PartialUploadsContract``):

    - ``create`` starts an empty upload; ``append(id, offset, chunks)`` first cuts
      the stored bytes back to ``offset`` (a crash may have left more than the
      caller recorded), then writes every chunk, makes them durable (fsync, or
      the store's acknowledgement) and returns the new size. A caller may cut
      back as far as where its previous append started (the use cases never go
      further back: an upload's recorded offset only grows; a store may allow
      more). ``read(id, length)`` yields the first ``length`` bytes in chunks,
      never the whole upload at once.
    - An append is whole or nothing: if iterating ``chunks`` raises (a limit, a
      disconnect, a cancellation), the upload is cut back to ``offset`` and the
      exception propagates.
    - Of two appends to one upload at the same time, the second raises
      :class:`~klantroef_core.errors.UploadBusy` and writes nothing.
    - ``append`` and ``read`` of an upload that holds fewer than ``offset`` (or
      ``length``) bytes, or none at all, raise :class:`~klantroef_core.errors.BlobMissing`.
    - ``discard`` removes an upload's bytes and is idempotent.
    - An upload id that is not a safe token is refused with ``ValueError``.
    - When the store cannot be used, ``create`` and ``append`` raise
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def create(self, upload_id: str) -> None: ...

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterator[bytes]) -> int: ...

    def read(self, upload_id: str, length: int) -> AsyncIterator[bytes]: ...

    async def discard(self, upload_id: str) -> None: ...
