"""Fixtures shared by the contract suites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.sql.engine import SqlEngine
from tests.sql_engines import mariadb_engine, sqlite_engine


@pytest.fixture(params=["sqlite", "mariadb"])
async def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlEngine]:
    """Each SQL engine in turn, with the schema and no rows."""
    if request.param == "sqlite":
        async with sqlite_engine(tmp_path) as engine:
            yield engine
    else:
        async with mariadb_engine() as engine:
            yield engine
