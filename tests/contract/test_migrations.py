"""One set of migrations builds exactly the schema the adapters use, on every engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from klantroef_adapters.migrate import upgrade
from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.tables import metadata
from tests.services import MARIADB_URL, require
from tests.sql_engines import ensure_mariadb_database


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _fresh_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    require("MariaDB", MARIADB_URL)
    # Beside the test database, so suites run at once on one server use their own.
    parsed = make_url(MARIADB_URL)
    url = parsed.set(database=f"{parsed.database}_migrations").render_as_string(False)
    await ensure_mariadb_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for name in [*(t.name for t in metadata.sorted_tables), "alembic_version"]:
            await conn.execute(text(f"DROP TABLE IF EXISTS `{name}`"))
    await engine.dispose()
    return url


@pytest.mark.parametrize("kind", ["sqlite", "mariadb"])
async def test_migrating_an_empty_database_matches_the_tables(kind: str, tmp_path: Path) -> None:
    url = await _fresh_url(kind, tmp_path)
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(upgrade, url)  # idempotent: a second run changes nothing
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
