"""RateLimiter: the shipped contract once per implementation, then what only Redis has.

What only the SQL limiter has is in ``test_sql_rate_limiter.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.redis.client import create_redis
from klantroef_adapters.redis.rate_limiter import RedisRateLimiter
from klantroef_adapters.sql.rate_limiter import SqlRateLimiter
from klantroef_adapters.testing import RateLimiterContract
from klantroef_adapters.testing.rate_limiter import T0, THREE_IN_TEN
from tests.sql_engines import mariadb_engine, sqlite_engine, unreachable_engine


class TestInMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self) -> InMemoryRateLimiter:
        return InMemoryRateLimiter()


class TestInMemoryRateLimiterSweepingEveryHit(RateLimiterContract):
    """The sweep of idle keys, run on every hit, must not change a single decision."""

    @pytest.fixture
    async def adapter(self) -> InMemoryRateLimiter:
        return InMemoryRateLimiter(sweep_every=1)


class TestSqliteRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SqlRateLimiter]:
        async with sqlite_engine(tmp_path) as engine:
            yield SqlRateLimiter(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlRateLimiter]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield SqlRateLimiter(engine)


@pytest.mark.mariadb
class TestMariadbRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[SqlRateLimiter]:
        async with mariadb_engine() as engine:
            yield SqlRateLimiter(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlRateLimiter]:
        async with unreachable_engine("mariadb", tmp_path) as engine:
            yield SqlRateLimiter(engine)


@pytest.mark.redis
class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self, redis_url: str) -> AsyncIterator[RedisRateLimiter]:
        client = create_redis(redis_url)
        try:
            yield RedisRateLimiter(client, prefix="test:")
        finally:
            await client.aclose()

    @pytest.fixture
    async def unreachable_adapter(self) -> AsyncIterator[RedisRateLimiter]:
        client = create_redis("redis://127.0.0.1:1/0")
        try:
            yield RedisRateLimiter(client)
        finally:
            await client.aclose()


# --- what only Redis has ------------------------------------------------------------------


@pytest.mark.redis
async def test_the_redis_log_expires_two_periods_after_its_last_accepted_attempt(
    redis_url: str,
) -> None:
    client = create_redis(redis_url)
    try:
        await RedisRateLimiter(client, prefix="test:").hit("k", THREE_IN_TEN, T0)

        ttl_ms = await client.pttl("test:rate:k")
    finally:
        await client.aclose()

    assert 19_000 < ttl_ms <= 20_001  # kept for attempts landing up to a period late
