"""Shared fixtures: real servers where a test needs them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.services import MARIADB_URL, REDIS_URL, require


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis database flushed before and after the test."""
    require("Redis", REDIS_URL)
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    try:
        yield REDIS_URL
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
def mariadb_url() -> str:
    """The URL of the MariaDB test database (created by the SQL fixtures)."""
    require("MariaDB", MARIADB_URL)
    return MARIADB_URL
