"""MediaRepository: the shipped contract, once per implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.sql.engine import SqlEngine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_adapters.testing import MediaRepositoryContract
from tests.sql_engines import mariadb_engine, sqlite_engine, unreachable_engine


class TestInMemoryMediaRepository(MediaRepositoryContract):
    @pytest.fixture
    async def adapter(self) -> InMemoryMediaRepository:
        return InMemoryMediaRepository()

    @pytest.fixture
    def view_log(self, adapter: InMemoryMediaRepository) -> InMemoryViewLog:
        return InMemoryViewLog(adapter)


class TestSqliteMediaRepository(MediaRepositoryContract):
    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[SqlEngine]:
        async with sqlite_engine(tmp_path) as engine:
            yield engine

    @pytest.fixture
    async def adapter(self, engine: SqlEngine) -> SqlMediaRepository:
        return SqlMediaRepository(engine)

    @pytest.fixture
    def view_log(self, engine: SqlEngine) -> SqlViewLog:
        return SqlViewLog(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlMediaRepository]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield SqlMediaRepository(engine)


@pytest.mark.mariadb
class TestMariadbMediaRepository(MediaRepositoryContract):
    @pytest.fixture
    async def engine(self) -> AsyncIterator[SqlEngine]:
        async with mariadb_engine() as engine:
            yield engine

    @pytest.fixture
    async def adapter(self, engine: SqlEngine) -> SqlMediaRepository:
        return SqlMediaRepository(engine)

    @pytest.fixture
    def view_log(self, engine: SqlEngine) -> SqlViewLog:
        return SqlViewLog(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlMediaRepository]:
        async with unreachable_engine("mariadb", tmp_path) as engine:
            yield SqlMediaRepository(engine)
