"""The inline SQLite engine: statements on the loop's thread, transactions never interleaved."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, insert, select, text, update
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import IntegrityError, ResourceClosedError
from sqlalchemy.pool import StaticPool

from klantroef_adapters.sql.engine import BUSY_TIMEOUT_MS, create_engine
from klantroef_adapters.sql.inline_sqlite import InlineSqliteEngine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.tables import metadata
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_core.domain.views import DayRange
from klantroef_core.errors import Unavailable
from tests.factories import make_media, make_view

scratch = MetaData()
counter = Table("counter", scratch, Column("id", Integer, primary_key=True), Column("n", Integer))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[InlineSqliteEngine]:
    """A fresh file with one counter at 0."""
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    assert isinstance(made, InlineSqliteEngine)
    async with made.begin() as conn:
        await conn.run_sync(scratch.create_all)
        await conn.execute(insert(counter).values(id=1, n=0))
    try:
        yield made
    finally:
        await made.dispose()


async def count(engine: InlineSqliteEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(counter.c.n))).scalar_one())


async def bump(engine: InlineSqliteEngine) -> None:
    """Read, then write what was read plus one: loses updates if two ever interleave."""
    async with engine.begin() as conn:
        seen = (await conn.execute(select(counter.c.n))).scalar_one()
        await conn.execute(update(counter).values(n=seen + 1))


@contextmanager
def write_lock_held_elsewhere(path: Path) -> Iterator[None]:
    """Another connection (as another process would) holding the write lock."""
    rival = sqlite3.connect(path, isolation_level=None)
    rival.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        rival.execute("ROLLBACK")
        rival.close()


async def test_any_sqlite_url_gets_the_inline_engine_with_the_pragmas(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'a.db'}", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"):
        engine = create_engine(url)
        assert isinstance(engine, InlineSqliteEngine)
        assert (engine.dialect.name, engine.dialect.driver) == ("sqlite", "pysqlite")
        try:
            async with engine.connect() as conn:
                settings = [
                    (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
                ]
            assert settings == ["wal", 1, 1, BUSY_TIMEOUT_MS]
        finally:
            await engine.dispose()


async def test_concurrent_read_then_write_transactions_lose_no_update(
    engine: InlineSqliteEngine,
) -> None:
    await asyncio.gather(*(bump(engine) for _ in range(300)))

    assert await count(engine) == 300


async def test_concurrent_views_are_all_counted(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'views.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        item = make_media()
        await media.add(item)

        await asyncio.gather(
            *(views.record(make_view(item.id, client=f"c{n % 7}")) for n in range(250))
        )

        report = await views.report(item.id, DayRange())
        assert (report.total_views, report.unique_ips) == (250, 7)
    finally:
        await engine.dispose()


async def test_an_exception_inside_begin_rolls_the_transaction_back(
    engine: InlineSqliteEngine,
) -> None:
    async def update_then_fail() -> None:
        async with engine.begin() as conn:
            await conn.execute(update(counter).values(n=99))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await update_then_fail()

    assert await count(engine) == 0
    await bump(engine)  # and the engine goes on working
    assert await count(engine) == 1


async def test_a_failing_statement_rolls_back_the_statements_before_it(
    engine: InlineSqliteEngine,
) -> None:
    async def update_then_break_a_key() -> None:
        async with engine.begin() as conn:
            await conn.execute(update(counter).values(n=5))
            await conn.execute(insert(counter).values(id=1, n=6))  # the key is taken

    with pytest.raises(IntegrityError):
        await update_then_break_a_key()

    assert await count(engine) == 0


async def test_connect_keeps_only_what_was_committed(engine: InlineSqliteEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(update(counter).values(n=7))
    assert await count(engine) == 0

    async with engine.connect() as conn:
        await conn.execute(update(counter).values(n=8))
        await conn.commit()
    assert await count(engine) == 8


async def test_rows_can_be_read_after_the_block_as_with_an_async_engine(
    engine: InlineSqliteEngine,
) -> None:
    async with engine.connect() as conn:
        result = await conn.execute(select(counter.c.id, counter.c.n))

    assert [tuple(row) for row in result] == [(1, 0)]


async def test_a_connection_refuses_work_once_its_block_has_ended(
    engine: InlineSqliteEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(counter).values(n=1))

    with pytest.raises(ResourceClosedError):
        await conn.execute(update(counter).values(n=2))
    assert await count(engine) == 1


async def test_a_block_that_suspends_is_refused_a_second_block_not_interleaved(
    engine: InlineSqliteEngine,
) -> None:
    async def suspends_inside_a_transaction() -> None:
        async with engine.begin() as conn:
            await conn.execute(update(counter).values(n=1))
            await asyncio.sleep(0.01)

    holder = asyncio.create_task(suspends_inside_a_transaction())
    await asyncio.sleep(0)  # the holder is now inside its block
    with pytest.raises(RuntimeError, match="in use"):
        await bump(engine)
    await holder

    assert await count(engine) == 1  # the holder's transaction is untouched
    await bump(engine)
    assert await count(engine) == 2


async def test_a_disposed_engine_reconnects_on_next_use(engine: InlineSqliteEngine) -> None:
    await bump(engine)
    await engine.dispose()

    await bump(engine)

    assert await count(engine) == 2


async def test_a_database_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    engine = create_engine(f"sqlite:///{folder}")
    try:
        with pytest.raises(Unavailable):
            await SqlMediaRepository(engine).get("some-id")
    finally:
        await engine.dispose()


async def test_a_view_blocked_by_another_process_is_retried_then_unavailable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klantroef_adapters.sql.view_log")
    path = tmp_path / "locked.db"
    # The engine create_engine makes, but waiting 50 ms for a lock instead of 5 s.
    sync_engine = create_sync_engine(
        f"sqlite:///{path}", poolclass=StaticPool, connect_args={"timeout": 0.05}
    )
    event.listen(sync_engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
    engine = InlineSqliteEngine(sync_engine)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        item = make_media()
        await media.add(item)

        with write_lock_held_elsewhere(path), pytest.raises(Unavailable):
            await views.record(make_view(item.id))
        await views.record(make_view(item.id))

        assert (await views.report(item.id, DayRange())).total_views == 1
        assert any("lost a lock race" in message for message in caplog.messages)
    finally:
        await engine.dispose()
