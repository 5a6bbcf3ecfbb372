"""Fixtures for HTTP tests: the full app over a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from klantroef_app.container import Container
from tests.app_support import app_client, migrated_container


@pytest.fixture
async def container(tmp_path: Path) -> Container:
    return migrated_container(tmp_path)


@pytest.fixture
async def client(container: Container) -> AsyncIterator[AsyncTestClient[Any]]:
    async with app_client(container) as client:
        yield client
