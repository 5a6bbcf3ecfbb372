"""ViewLog: the shipped contract once per implementation, then what only SQL must handle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.sql.engine import BoundedEngine, SqlEngine, create_engine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.tables import metadata, view_days, view_totals
from klantroef_adapters.sql.tables import views as view_rows
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_adapters.testing import ViewLogContract
from klantroef_adapters.testing.analytics_cache import CountingViewLog
from klantroef_adapters.testing.samples import a_media, a_view
from klantroef_adapters.testing.view_log import DAY_OF, MIDNIGHT, counts
from klantroef_core.domain.views import DayRange
from klantroef_core.errors import Unavailable
from klantroef_core.ports import MediaRepository
from tests.sql_engines import mariadb_engine, sqlite_engine, unreachable_engine

NAIVE_MIDNIGHT = MIDNIGHT.replace(tzinfo=None)  # as stored


class TestInMemoryViewLog(ViewLogContract):
    # media_repository: the contract's default, an InMemoryMediaRepository.
    @pytest.fixture
    async def adapter(self, media_repository: InMemoryMediaRepository) -> InMemoryViewLog:
        return InMemoryViewLog(media_repository)


class TestSqliteViewLog(ViewLogContract):
    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[SqlEngine]:
        async with sqlite_engine(tmp_path) as engine:
            yield engine

    @pytest.fixture
    async def adapter(self, engine: SqlEngine) -> SqlViewLog:
        return SqlViewLog(engine)

    @pytest.fixture
    def media_repository(self, engine: SqlEngine) -> SqlMediaRepository:
        return SqlMediaRepository(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlViewLog]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield SqlViewLog(engine)


@pytest.mark.mariadb
class TestMariadbViewLog(ViewLogContract):
    @pytest.fixture
    async def engine(self) -> AsyncIterator[SqlEngine]:
        async with mariadb_engine() as engine:
            yield engine

    @pytest.fixture
    async def adapter(self, engine: SqlEngine) -> SqlViewLog:
        return SqlViewLog(engine)

    @pytest.fixture
    def media_repository(self, engine: SqlEngine) -> SqlMediaRepository:
        return SqlMediaRepository(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlViewLog]:
        async with unreachable_engine("mariadb", tmp_path) as engine:
            yield SqlViewLog(engine)


# --- what only the SQL implementations must handle: lost lock races ----------------------


async def test_a_view_that_loses_a_deadlock_is_retried_and_counted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="klantroef_adapters.sql.view_log")
    async with mariadb_engine() as engine:
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        item = a_media()
        await media.add(item)
        await views.record(a_view(item.id, viewed_at=MIDNIGHT))
        assert isinstance(engine, BoundedEngine)  # MariaDB: the async engine, bounded
        async with engine.begin() as rival:
            # Weigh the rival down, so InnoDB picks the view as the deadlock victim.
            await rival.execute(
                insert(view_rows),
                [
                    {"media_id": item.id, "client": f"r{n}", "viewed_at": NAIVE_MIDNIGHT}
                    for n in range(100)
                ],
            )
            mine = view_totals.c.media_id == item.id
            await rival.execute(update(view_totals).where(mine).values(total_views=0))
            recording = asyncio.create_task(views.record(a_view(item.id, viewed_at=MIDNIGHT)))
            await asyncio.sleep(0.3)  # the view holds its day row now, and waits for the totals
            await rival.execute(
                update(view_days).where(view_days.c.media_id == item.id).values(views=0)
            )
            await rival.rollback()
        await recording

        assert counts(await views.report(item.id, DayRange())) == (2, 1, ((DAY_OF, 2),))
        assert any("lost a lock race" in message for message in caplog.messages)


# --- the total a shared analytics cache checks its hits against ----------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite", "mariadb"])
async def test_the_total_of_views_moves_with_every_view_and_knows_unknown_items(
    kind: str, tmp_path: Path
) -> None:
    media: MediaRepository
    views: CountingViewLog
    async with AsyncExitStack() as stack:
        if kind == "memory":
            memory = InMemoryMediaRepository()
            media, views = memory, InMemoryViewLog(memory)
        else:
            engine = await stack.enter_async_context(
                sqlite_engine(tmp_path) if kind == "sqlite" else mariadb_engine()
            )
            media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        item = a_media()
        await media.add(item)

        assert await views.total_views(item.id) == 0
        for n in range(3):
            await views.record(a_view(item.id, client=f"203.0.113.{n % 2}"))
            assert await views.total_views(item.id) == n + 1
        assert (await views.report(item.id, DayRange())).total_views == 3
        assert await views.total_views(item.id.upper()) is None  # ids are exact
        assert await views.total_views("no-such-item") is None
        assert await views.total_views("x" * 400) is None
        await media.delete(item.id)
        assert await views.total_views(item.id) is None


# --- group commit: views that arrive together share one transaction --------------------


@pytest.mark.parametrize("kind", ["sqlite", "mariadb"])
async def test_views_arriving_together_share_transactions_and_each_counts_once(
    kind: str, tmp_path: Path
) -> None:
    async with sqlite_engine(tmp_path) if kind == "sqlite" else mariadb_engine() as engine:
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        first, second = a_media(), a_media()
        await media.add(first)
        await media.add(second)
        clients = [f"10.0.0.{n % 40}" for n in range(300)]  # 40 clients, most seen again
        await asyncio.gather(
            *(
                views.record(a_view((first if n % 3 else second).id, client=client))
                for n, client in enumerate(clients)
            )
        )
        assert sum(size * count for size, count in views.batches.items()) == 300
        assert max(views.batches) > 1, views.batches  # they did share transactions
        assert len(views.batches) < 300
        got = {item.id: await views.report(item.id, DayRange()) for item in (first, second)}
        firsts = {c for n, c in enumerate(clients) if n % 3}
        seconds = {c for n, c in enumerate(clients) if not n % 3}
        assert (got[first.id].total_views, got[first.id].unique_ips) == (200, len(firsts))
        assert (got[second.id].total_views, got[second.id].unique_ips) == (100, len(seconds))


@pytest.mark.parametrize("kind", ["sqlite", "mariadb"])
async def test_a_view_of_an_unknown_item_fails_alone_in_its_batch(
    kind: str, tmp_path: Path
) -> None:
    async with sqlite_engine(tmp_path) if kind == "sqlite" else mariadb_engine() as engine:
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        known, gone = a_media(), a_media()  # ``gone`` is never added
        await media.add(known)
        outcomes = await asyncio.gather(
            *(views.record(a_view(known.id, client=f"c{n}")) for n in range(5)),
            views.record(a_view(gone.id)),
            *(views.record(a_view(known.id, client=f"d{n}")) for n in range(5)),
            return_exceptions=True,
        )
        assert [type(o).__name__ for o in outcomes] == ["NoneType"] * 5 + ["UnknownMedia"] + [
            "NoneType"
        ] * 5
        assert counts(await views.report(known.id, DayRange()))[:2] == (10, 10)


# --- reports: the day counts come as one JSON object, with the rows as a fallback ------


def test_the_days_object_decodes_ascending_and_a_cut_one_is_refused() -> None:
    from klantroef_adapters.sql.view_log import _decoded_days

    assert _decoded_days('{"2026-03-01": 2, "2025-12-31": 5}') == (
        (date(2025, 12, 31), 5),
        (date(2026, 3, 1), 2),
    )
    assert _decoded_days(None) == ()
    assert _decoded_days('{"2026-03-01": 2, "2025-12') is None  # cut at the server's limit


@pytest.mark.parametrize("kind", ["sqlite", "mariadb"])
async def test_a_report_whose_days_object_was_cut_reads_the_rows_instead(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from klantroef_adapters.sql import view_log

    async with sqlite_engine(tmp_path) if kind == "sqlite" else mariadb_engine() as engine:
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        item = a_media()
        await media.add(item)
        for n in range(3):
            await views.record(a_view(item.id, client=f"c{n}", viewed_at=MIDNIGHT))
        whole = await views.report(item.id, DayRange())
        monkeypatch.setattr(view_log, "_decoded_days", lambda raw: None)
        assert await views.report(item.id, DayRange()) == whole
        assert counts(whole) == (3, 3, ((DAY_OF, 3),))


# --- group commit stays bounded: an unavailable database fails the queue at once --------


async def test_views_queued_behind_an_unavailable_database_fail_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_engine(tmp_path) as engine:
        views = SqlViewLog(engine, batch_limit=10)
        writes = 0

        async def frozen(batch: list[object]) -> None:
            nonlocal writes
            writes += 1
            await asyncio.sleep(0.2)  # a frozen server, up to its deadline
            raise Unavailable("the database did not answer in time")

        monkeypatch.setattr(views, "_record_batch", frozen)
        outcomes = await asyncio.gather(
            *(views.record(a_view("m1", client=f"c{n}")) for n in range(100)),
            return_exceptions=True,
        )
        assert all(isinstance(outcome, Unavailable) for outcome in outcomes)
        assert writes == 1  # not ten batches, each waiting out the deadline in turn


async def test_views_beyond_the_queue_limit_are_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_engine(tmp_path) as engine:
        views = SqlViewLog(engine, batch_limit=2, queue_limit=4)
        release = asyncio.Event()

        async def slow(batch: list[object]) -> None:
            await release.wait()

        monkeypatch.setattr(views, "_record_batch", slow)

        def view(n: int) -> asyncio.Task[None]:
            return asyncio.create_task(views.record(a_view("m1", client=f"c{n}")))

        waiting = [view(n) for n in range(4)]
        await asyncio.sleep(0.05)  # the writer took two, and waits on the database
        waiting += [view(n) for n in range(4, 6)]
        await asyncio.sleep(0.05)  # four wait in the queue: its limit
        with pytest.raises(Unavailable):
            await views.record(a_view("m1", client="one too many"))
        release.set()
        await asyncio.gather(*waiting)  # the queued ones are written all the same


def test_a_view_log_keeps_working_on_a_new_event_loop(tmp_path: Path) -> None:
    async def setup() -> tuple[SqlMediaRepository, SqlViewLog, str]:
        engine = create_engine(f"sqlite:///{tmp_path / 'loops.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        media = SqlMediaRepository(engine)
        item = a_media()
        await media.add(item)
        return media, SqlViewLog(engine), item.id

    _, views, item_id = asyncio.run(setup())

    async def one_view(client: str) -> None:
        await asyncio.wait_for(views.record(a_view(item_id, client=client)), 5)

    asyncio.run(one_view("first loop"))
    asyncio.run(one_view("second loop"))  # the first loop's writer is gone with it

    async def total() -> int:
        return (await views.report(item_id, DayRange())).total_views

    assert asyncio.run(total()) == 2
