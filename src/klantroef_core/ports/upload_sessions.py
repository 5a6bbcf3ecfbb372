"""The state of resumable uploads: offsets, lengths, metadata, expiry and owner."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from klantroef_core.domain.upload_session import UploadSession


class UploadSessions(Protocol):
    """Resumable uploads in progress, keyed by their id.

    Promises (each checked by ``klantroef_adapters.testing.UploadSessionsContract``):

    - ``add`` stores a session and ``get`` returns it equal (times to the
      microsecond, in UTC); ``get`` of an unknown id is None. Adding a taken id
      raises :class:`~klantroef_core.errors.AlreadyExists`.
    - ``advance`` moves the offset from ``expected`` to ``offset`` only if the
      stored offset is still ``expected`` and the session is not complete, and
      says whether it did: of two racing advances from one offset exactly one wins.
    - ``complete`` records the media id the upload became; ``advance`` then refuses.
    - ``delete`` removes a session and says whether it was there.
    - ``expired(now, limit)`` lists up to ``limit`` sessions whose ``expires_at``
      is at or before ``now``, oldest expiry first.
    - When the store cannot be used, every method raises
      :class:`~klantroef_core.errors.Unavailable`.
    """

    async def add(self, session: UploadSession) -> None: ...

    async def get(self, upload_id: str) -> UploadSession | None: ...

    async def advance(self, upload_id: str, expected: int, offset: int) -> bool: ...

    async def complete(self, upload_id: str, media_id: str) -> None: ...

    async def delete(self, upload_id: str) -> bool: ...

    async def expired(self, now: datetime, limit: int) -> list[UploadSession]: ...
