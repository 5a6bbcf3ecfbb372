"""AdminRepository: the shipped contract, once per implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.memory.admin_repository import InMemoryAdminRepository
from klantroef_adapters.sql.admin_repository import SqlAdminRepository
from klantroef_adapters.testing import AdminRepositoryContract
from tests.sql_engines import mariadb_engine, sqlite_engine, unreachable_engine


class TestInMemoryAdminRepository(AdminRepositoryContract):
    @pytest.fixture
    async def adapter(self) -> InMemoryAdminRepository:
        return InMemoryAdminRepository()


class TestSqliteAdminRepository(AdminRepositoryContract):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SqlAdminRepository]:
        async with sqlite_engine(tmp_path) as engine:
            yield SqlAdminRepository(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlAdminRepository]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield SqlAdminRepository(engine)


@pytest.mark.mariadb
class TestMariadbAdminRepository(AdminRepositoryContract):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[SqlAdminRepository]:
        async with mariadb_engine() as engine:
            yield SqlAdminRepository(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlAdminRepository]:
        async with unreachable_engine("mariadb", tmp_path) as engine:
            yield SqlAdminRepository(engine)
