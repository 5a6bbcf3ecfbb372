"""Resumable-upload sessions in a dict: the UploadSessions port for one process."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from klantroef_core.domain.upload_session import UploadSession
from klantroef_core.errors import AlreadyExists


class InMemoryUploadSessions:
    """A :class:`~klantroef_core.ports.UploadSessions` for one process."""

    def __init__(self) -> None:
        self._sessions: dict[str, UploadSession] = {}

    async def add(self, session: UploadSession) -> None:
        if session.id in self._sessions:
            raise AlreadyExists(f"upload {session.id}")
        self._sessions[session.id] = session

    async def get(self, upload_id: str) -> UploadSession | None:
        return self._sessions.get(upload_id)

    async def advance(self, upload_id: str, expected: int, offset: int) -> bool:
        session = self._sessions.get(upload_id)
        if session is None or session.complete or session.offset != expected:
            return False
        self._sessions[upload_id] = replace(session, offset=offset)
        return True

    async def complete(self, upload_id: str, media_id: str) -> None:
        session = self._sessions.get(upload_id)
        if session is not None:
            self._sessions[upload_id] = replace(session, offset=session.length, media_id=media_id)

    async def delete(self, upload_id: str) -> bool:
        return self._sessions.pop(upload_id, None) is not None

    async def expired(self, now: datetime, limit: int) -> list[UploadSession]:
        due = [s for s in self._sessions.values() if s.expires_at <= now]
        return sorted(due, key=lambda s: s.expires_at)[:limit]
