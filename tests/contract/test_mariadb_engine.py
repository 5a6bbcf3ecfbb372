"""The served MariaDB engine: a read is one round trip, a transaction is explicit, an idle
connection that died is replaced before anyone uses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, insert, select, text

from klantroef_adapters.sql import engine as engine_module
from klantroef_adapters.sql.engine import SqlEngine, create_engine
from klantroef_adapters.sql.tables import admins
from klantroef_adapters.testing.samples import an_admin
from tests.services import MARIADB_URL
from tests.sql_engines import mariadb_engine

pytestmark = pytest.mark.mariadb


@pytest.fixture
async def one_connection() -> AsyncIterator[SqlEngine]:
    """The test database with the schema, through an engine of one pooled connection."""
    async with mariadb_engine():
        engine = create_engine(MARIADB_URL, pool_size=1)
        try:
            yield engine
        finally:
            await engine.dispose()


async def _status(engine: SqlEngine, name: str) -> int:
    async with engine.connect() as conn:
        row = (await conn.execute(text(f"SHOW SESSION STATUS LIKE '{name}'"))).one()
    return int(row[1])


async def test_reads_send_no_ping_and_no_rollback(one_connection: SqlEngine) -> None:
    before = {name: await _status(one_connection, name) for name in ("Com_rollback", "Questions")}
    for _ in range(20):
        async with one_connection.connect() as conn:
            await conn.execute(select(func.count()).select_from(admins))
    assert await _status(one_connection, "Com_rollback") == before["Com_rollback"]
    # Twenty reads, and the one SHOW between: nothing else went to the server.
    assert await _status(one_connection, "Questions") - before["Questions"] == 20 + 2


async def test_a_transaction_commits_whole_or_rolls_back_whole(one_connection: SqlEngine) -> None:
    def row(n: int) -> dict[str, object]:
        admin = an_admin(n)
        return {
            "id": admin.id,
            "email": str(admin.email),
            "password_hash": admin.password_hash,
            "created_at": admin.created_at.replace(tzinfo=None),
        }

    async with one_connection.begin() as conn:
        await conn.execute(insert(admins).values(row(1)))

    async def fails_after_its_first_statement() -> None:
        async with one_connection.begin() as conn:
            await conn.execute(insert(admins).values(row(2)))
            raise RuntimeError("the block fails")

    with pytest.raises(RuntimeError):
        await fails_after_its_first_statement()
    async with one_connection.begin() as conn:
        await conn.execute(insert(admins).values(row(3)))
        await conn.rollback()  # asked for: nothing of this block stays
    async with one_connection.connect() as conn:
        ids = (await conn.execute(select(admins.c.id))).scalars().all()
    assert sorted(ids) == [an_admin(1).id]
    assert await _status(one_connection, "Com_rollback") >= 2


async def test_a_pooled_connection_killed_while_idle_is_replaced_unseen(
    one_connection: SqlEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with one_connection.connect() as conn:
        victim = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
    killer = create_engine(MARIADB_URL, pool_size=1)
    try:
        async with killer.connect() as conn:
            await conn.execute(text(f"KILL {int(victim)}"))
    finally:
        await killer.dispose()
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING", 0.05)
    await asyncio.sleep(0.1)  # idle longer than that: the checkout pings, and replaces it
    async with one_connection.connect() as conn:
        now = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
    assert now != victim
