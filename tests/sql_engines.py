"""Real SQL engines for the contract suites: a SQLite file and a MariaDB database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from klantroef_adapters.sql.engine import SqlConnection, SqlEngine, create_engine
from klantroef_adapters.sql.tables import metadata
from tests.services import MARIADB_URL, require


@asynccontextmanager
async def sqlite_engine(folder: Path) -> AsyncIterator[SqlEngine]:
    """A fresh SQLite database file with the schema."""
    engine = create_engine(f"sqlite:///{folder / 'contract.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


async def ensure_mariadb_database(url: str) -> None:
    """Create the URL's database if it is missing."""
    parsed = make_url(url)
    server = create_async_engine(parsed.set(database=""))
    try:
        async with server.begin() as conn:
            name = parsed.database
            await conn.execute(
                text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
            )
    finally:
        await server.dispose()


_REBUILT: set[str] = set()
"""The test databases whose tables this run has dropped and built from ``metadata``."""


@asynccontextmanager
async def mariadb_engine(url: str = MARIADB_URL) -> AsyncIterator[SqlEngine]:
    """The MariaDB test database with the schema, emptied again afterwards."""
    require("MariaDB", url)
    await ensure_mariadb_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        if url not in _REBUILT:  # an earlier run may have left an older schema: once per run
            await conn.run_sync(metadata.drop_all)
            _REBUILT.add(url)
        await conn.run_sync(metadata.create_all)
        await _empty(conn)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await _empty(conn)
        await engine.dispose()


async def _empty(conn: SqlConnection) -> None:
    for table in reversed(metadata.sorted_tables):
        await conn.execute(table.delete())


@asynccontextmanager
async def unreachable_engine(kind: str, folder: Path) -> AsyncIterator[SqlEngine]:
    """An engine whose database cannot be reached: nothing listens (MariaDB), or the
    SQLite file is a folder and cannot be opened."""
    if kind == "sqlite":
        blocked = folder / "not-a-file.db"
        blocked.mkdir()
        engine = create_engine(f"sqlite:///{blocked}")
    else:
        engine = create_engine("mysql+aiomysql://root@127.0.0.1:9/nowhere")  # nothing on 9
    try:
        yield engine
    finally:
        await engine.dispose()


async def fresh_database(url: str, suffix: str = "servers") -> str:
    """A private, empty database beside the test database; its URL."""
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    server = create_async_engine(parsed.set(database=""))
    try:
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    finally:
        await server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)
