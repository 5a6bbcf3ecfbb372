"""Small builders of test data, and the media/view stores the contract suites run against."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.sql.engine import SqlEngine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.tables import media, view_clients, view_days, view_totals, views
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.views import View
from klantroef_core.ports import MediaRepository, ViewLog
from tests.sql_engines import mariadb_engine, sqlite_engine

A_MOMENT = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


def new_id() -> str:
    """A fresh media or admin id, shaped as in production."""
    return str(uuid.uuid4())


def make_media(
    *,
    media_id: str | None = None,
    title: str = "Opening night",
    media_type: MediaType = MediaType.VIDEO,
    content_type: str = "video/mp4",
    size_bytes: int = 1_048_576,
    created_at: datetime = A_MOMENT,
    uploaded_by: str | None = None,
) -> Media:
    """A valid media item; every field can be overridden."""
    media_id = media_id or new_id()
    return Media(
        id=media_id,
        title=title,
        type=media_type,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=hashlib.sha256(media_id.encode()).hexdigest(),
        storage_key=f"{media_id}.bin",
        created_at=created_at,
        uploaded_by=uploaded_by or new_id(),
    )


def make_view(
    media_id: str, *, client: str = "203.0.113.7", viewed_at: datetime = A_MOMENT
) -> View:
    """A view of ``media_id``."""
    return View(media_id=media_id, client=client, viewed_at=viewed_at)


# The stores a media repository and a view log can live in, as the contract suites name them.
MEDIA_STORES = ("memory", "sqlite", "mariadb")


@dataclass
class MediaAndViews:
    """A media repository and the view log beside it, over one store."""

    media: MediaRepository
    views: ViewLog
    engine: SqlEngine | None = field(default=None)

    async def fresh(self) -> MediaAndViews:
        """The same store emptied: new objects in memory, rows deleted in SQL."""
        if self.engine is None:
            return in_memory_media_and_views()
        async with self.engine.begin() as conn:
            for table in (views, view_days, view_clients, view_totals, media):
                await conn.execute(delete(table))
        return self


def in_memory_media_and_views() -> MediaAndViews:
    """The in-memory pair, linked as the SQL schema's foreign keys link the tables."""
    repository = InMemoryMediaRepository()
    return MediaAndViews(repository, InMemoryViewLog(repository))


@asynccontextmanager
async def open_media_and_views(kind: str, folder: Path) -> AsyncIterator[MediaAndViews]:
    """The pair over ``kind`` (one of :data:`MEDIA_STORES`), empty; skips if the server is down."""
    if kind == "memory":
        yield in_memory_media_and_views()
        return
    opener = sqlite_engine(folder) if kind == "sqlite" else mariadb_engine()
    async with opener as engine:
        yield MediaAndViews(SqlMediaRepository(engine), SqlViewLog(engine), engine)
