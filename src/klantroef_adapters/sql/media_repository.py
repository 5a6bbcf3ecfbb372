"""Media records in SQL, paged by keyset over ``(created_at, id)``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from klantroef_adapters.sql.engine import SqlEngine, database_errors, from_db_time, to_db_time
from klantroef_adapters.sql.tables import (
    ID_LENGTH,
    view_clients,
    view_days,
    view_totals,
    views,
)
from klantroef_adapters.sql.tables import media as media_table
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.media_info import AudioInfo, MediaInfo, Poster, VideoInfo
from klantroef_core.errors import AlreadyExists

# Children first, so the explicit delete does not lean on ON DELETE CASCADE
# (which SQLite only honours with PRAGMA foreign_keys=ON).
_LOGGED_ABOUT_MEDIA = (views, view_days, view_clients, view_totals)

# Built once: constructing and cache-keying a select costs more CPU than running it.
_BY_ID = select(media_table).where(media_table.c.id == bindparam("media_id"))


def is_storable_id(media_id: str) -> bool:
    """Whether ``media_id`` could be a key at all: 1 to 36 visible ASCII characters.

    Anything else cannot name a row and is answered without a query, so that no
    driver trips over its length or encoding.
    """
    return 0 < len(media_id) <= ID_LENGTH and all("!" <= ch <= "~" for ch in media_id)


def _same_id(row: Any, media_id: str) -> bool:
    # MySQL compares strings case- and trailing-space-insensitively; ids are exact.
    return row is not None and row.id == media_id


def _info(row: Any) -> MediaInfo | None:
    if row.container is None:
        return None
    video = audio = None
    if row.video_codec is not None:
        video = VideoInfo(row.video_codec, row.video_width, row.video_height, row.video_frame_rate)
    if row.audio_codec is not None:
        audio = AudioInfo(row.audio_codec, row.audio_channels, row.audio_sample_rate)
    return MediaInfo(row.container, row.duration_seconds, row.bit_rate, video, audio)


def _poster(row: Any) -> Poster | None:
    if row.poster_key is None:
        return None
    return Poster(row.poster_key, row.poster_content_type, row.poster_size, row.poster_sha256)


def _details(info: MediaInfo | None, poster: Poster | None) -> dict[str, Any]:
    video = info.video if info is not None else None
    audio = info.audio if info is not None else None
    return {
        "container": info.container if info else None,
        "duration_seconds": info.duration_seconds if info else None,
        "bit_rate": info.bit_rate if info else None,
        "video_codec": video.codec if video else None,
        "video_width": video.width if video else None,
        "video_height": video.height if video else None,
        "video_frame_rate": video.frame_rate if video else None,
        "audio_codec": audio.codec if audio else None,
        "audio_channels": audio.channels if audio else None,
        "audio_sample_rate": audio.sample_rate if audio else None,
        "poster_key": poster.key if poster else None,
        "poster_content_type": poster.content_type if poster else None,
        "poster_size": poster.size_bytes if poster else None,
        "poster_sha256": poster.sha256 if poster else None,
    }


def _row_to_media(row: Any) -> Media:
    return Media(
        id=row.id,
        title=row.title,
        type=MediaType(row.type),
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        storage_key=row.storage_key,
        created_at=from_db_time(row.created_at),
        uploaded_by=row.uploaded_by,
        info=_info(row),
        poster=_poster(row),
    )


def _values(item: Media) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "type": item.type.value,
        "content_type": item.content_type,
        "size_bytes": item.size_bytes,
        "sha256": item.sha256,
        "storage_key": item.storage_key,
        "created_at": to_db_time(item.created_at),
        "uploaded_by": item.uploaded_by,
        **_details(item.info, item.poster),
    }


class SqlMediaRepository:
    """One row per media item; the ``(created_at, id)`` index serves the catalogue pages."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def add(self, media: Media) -> None:
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(media_table).values(_values(media)))
            except IntegrityError as exc:
                raise AlreadyExists(f"media {media.id}") from exc

    async def get(self, media_id: str) -> Media | None:
        if not is_storable_id(media_id):
            return None
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(_BY_ID, {"media_id": media_id})).first()
        return _row_to_media(row) if _same_id(row, media_id) else None

    async def list_page(self, limit: int, after: tuple[datetime, str] | None) -> list[Media]:
        if limit <= 0:
            return []
        query = (
            select(media_table)
            .order_by(media_table.c.created_at.desc(), media_table.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            created_at, last_id = to_db_time(after[0]), after[1]
            query = query.where(
                or_(
                    media_table.c.created_at < created_at,
                    and_(media_table.c.created_at == created_at, media_table.c.id < last_id),
                )
            )
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_row_to_media(row) for row in rows]

    async def set_details(self, media_id: str, info: MediaInfo, poster: Poster | None) -> bool:
        if not is_storable_id(media_id):
            return False
        query = (
            update(media_table).where(media_table.c.id == media_id).values(_details(info, poster))
        )
        async with database_errors(), self._engine.begin() as conn:
            row = (await conn.execute(_BY_ID, {"media_id": media_id})).first()
            if not _same_id(row, media_id):
                return False
            await conn.execute(query)
        return True

    async def delete(self, media_id: str) -> Media | None:
        if not is_storable_id(media_id):
            return None
        async with database_errors(), self._engine.begin() as conn:
            # Lock the row first: a concurrent view then waits and fails its
            # foreign key instead of deadlocking with us (no-op on SQLite).
            query = select(media_table).where(media_table.c.id == media_id).with_for_update()
            row = (await conn.execute(query)).first()
            if not _same_id(row, media_id):
                return None
            for table in _LOGGED_ABOUT_MEDIA:
                await conn.execute(delete(table).where(table.c.media_id == media_id))
            gone = await conn.execute(delete(media_table).where(media_table.c.id == media_id))
            if gone.rowcount != 1:
                return None  # a concurrent delete got there first
        return _row_to_media(row)
