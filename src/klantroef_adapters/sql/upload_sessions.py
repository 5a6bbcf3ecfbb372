"""Resumable-upload sessions in SQL: one row each, the offset moved by compare-and-set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from klantroef_adapters.sql.engine import SqlEngine, database_errors, from_db_time, to_db_time
from klantroef_adapters.sql.media_repository import is_storable_id
from klantroef_adapters.sql.tables import upload_sessions as table
from klantroef_core.domain.media import MediaType
from klantroef_core.domain.upload_session import UploadSession
from klantroef_core.errors import AlreadyExists

_BY_ID = select(table).where(table.c.id == bindparam("upload_id"))


def _row_to_session(row: Any) -> UploadSession:
    return UploadSession(
        id=row.id,
        owner=row.owner,
        length=row.length,
        offset=row.received,
        filename=row.filename,
        title=row.title,
        type=MediaType(row.type) if row.type else None,
        created_at=from_db_time(row.created_at),
        expires_at=from_db_time(row.expires_at),
        media_id=row.media_id,
    )


class SqlUploadSessions:
    """The ``upload_sessions`` table; ``expires_at`` is indexed for the sweep."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def add(self, session: UploadSession) -> None:
        values = {
            "id": session.id,
            "owner": session.owner,
            "length": session.length,
            "received": session.offset,
            "filename": session.filename,
            "title": session.title,
            "type": session.type.value if session.type else None,
            "created_at": to_db_time(session.created_at),
            "expires_at": to_db_time(session.expires_at),
            "media_id": session.media_id,
        }
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(table).values(values))
            except IntegrityError as exc:
                raise AlreadyExists(f"upload {session.id}") from exc

    async def get(self, upload_id: str) -> UploadSession | None:
        if not is_storable_id(upload_id):
            return None
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(_BY_ID, {"upload_id": upload_id})).first()
        # MySQL compares strings case-insensitively; ids are exact.
        return _row_to_session(row) if row is not None and row.id == upload_id else None

    async def advance(self, upload_id: str, expected: int, offset: int) -> bool:
        if not is_storable_id(upload_id):
            return False
        query = (
            update(table)
            .where(
                table.c.id == upload_id,
                table.c.received == expected,
                table.c.media_id.is_(None),
            )
            .values(received=offset)
        )
        async with database_errors(), self._engine.begin() as conn:
            result = await conn.execute(query)
        return bool(result.rowcount == 1)

    async def complete(self, upload_id: str, media_id: str) -> None:
        if not is_storable_id(upload_id):
            return
        query = (
            update(table)
            .where(table.c.id == upload_id)
            .values(received=table.c.length, media_id=media_id)
        )
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(query)

    async def delete(self, upload_id: str) -> bool:
        if not is_storable_id(upload_id):
            return False
        async with database_errors(), self._engine.begin() as conn:
            result = await conn.execute(delete(table).where(table.c.id == upload_id))
        return bool(result.rowcount == 1)

    async def expired(self, now: datetime, limit: int) -> list[UploadSession]:
        if limit <= 0:
            return []
        query = (
            select(table)
            .where(table.c.expires_at <= to_db_time(now))
            .order_by(table.c.expires_at, table.c.id)
            .limit(limit)
        )
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_row_to_session(row) for row in rows]
