"""Engines for SQLite (the embedded default) and MySQL/MariaDB, tuned for each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from klantroef_core.errors import Unavailable


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine; connects lazily, on first use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=280,  # below MariaDB's wait_timeout in any sane setup
        pool_timeout=5,
        isolation_level="READ COMMITTED",  # fewer gap locks on the hot view upserts
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=10000",
    ):
        cursor.execute(pragma)
    cursor.close()


def to_db_time(moment: datetime) -> datetime:
    """Aware UTC -> naive UTC, as stored."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db_time(stored: datetime) -> datetime:
    """Naive UTC, as stored -> aware UTC."""
    return stored.replace(tzinfo=UTC)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn a lost or refused connection into the core's Unavailable; let the rest through."""
    try:
        yield
    except (OperationalError, PoolTimeout, OSError, ConnectionError) as exc:
        raise Unavailable("the database is unreachable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("the database connection was lost") from exc
        raise
