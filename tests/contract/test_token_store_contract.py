"""TokenStore: the shipped contract once per implementation, then the mirror's own promise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_adapters.redis.client import create_redis
from klantroef_adapters.redis.durable_token_store import DurableRedisTokenStore
from klantroef_adapters.redis.token_store import RedisTokenStore
from klantroef_adapters.sql.engine import SqlEngine
from klantroef_adapters.sql.token_store import MirroredSqlTokenStore, SqlTokenStore
from klantroef_adapters.testing import ManualClock, TokenStoreContract
from tests.sql_engines import mariadb_engine, sqlite_engine, unreachable_engine


class TestInMemoryTokenStore(TokenStoreContract):
    @pytest.fixture
    async def adapter(self, clock: ManualClock) -> InMemoryTokenStore:
        return InMemoryTokenStore(clock)


class TestInMemoryTokenStoreSweepingEveryRevocation(TokenStoreContract):
    @pytest.fixture
    async def adapter(self, clock: ManualClock) -> InMemoryTokenStore:
        return InMemoryTokenStore(clock, sweep_every=1)


class TestSqliteTokenStore(TokenStoreContract):
    @pytest.fixture
    async def adapter(self, tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqlTokenStore]:
        async with sqlite_engine(tmp_path) as engine:
            yield SqlTokenStore(engine, clock)

    @pytest.fixture
    async def unreachable_adapter(
        self, tmp_path: Path, clock: ManualClock
    ) -> AsyncIterator[SqlTokenStore]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield SqlTokenStore(engine, clock)


class TestMirroredSqliteTokenStore(TokenStoreContract):
    @pytest.fixture
    async def adapter(
        self, tmp_path: Path, clock: ManualClock
    ) -> AsyncIterator[MirroredSqlTokenStore]:
        async with sqlite_engine(tmp_path) as engine:
            yield MirroredSqlTokenStore(SqlTokenStore(engine, clock), clock)

    @pytest.fixture
    async def unreachable_adapter(
        self, tmp_path: Path, clock: ManualClock
    ) -> AsyncIterator[MirroredSqlTokenStore]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield MirroredSqlTokenStore(SqlTokenStore(engine, clock), clock)


@pytest.mark.mariadb
class TestMariadbTokenStore(TokenStoreContract):
    @pytest.fixture
    async def adapter(self, clock: ManualClock) -> AsyncIterator[SqlTokenStore]:
        async with mariadb_engine() as engine:
            yield SqlTokenStore(engine, clock)

    @pytest.fixture
    async def unreachable_adapter(
        self, tmp_path: Path, clock: ManualClock
    ) -> AsyncIterator[SqlTokenStore]:
        async with unreachable_engine("mariadb", tmp_path) as engine:
            yield SqlTokenStore(engine, clock)


@pytest.mark.redis
class TestRedisTokenStore(TokenStoreContract):
    @pytest.fixture
    async def adapter(self, redis_url: str, clock: ManualClock) -> AsyncIterator[RedisTokenStore]:
        client = create_redis(redis_url)
        try:
            yield RedisTokenStore(client, clock, prefix="test:")
        finally:
            await client.aclose()

    @pytest.fixture
    async def unreachable_adapter(self, clock: ManualClock) -> AsyncIterator[RedisTokenStore]:
        client = create_redis("redis://127.0.0.1:1/0")
        try:
            yield RedisTokenStore(client, clock)
        finally:
            await client.aclose()


@pytest.mark.redis
@pytest.mark.mariadb
class TestDurableRedisTokenStore(TokenStoreContract):
    """Redis in front of MariaDB, as deployed with both."""

    @pytest.fixture
    async def adapter(
        self, redis_url: str, clock: ManualClock
    ) -> AsyncIterator[DurableRedisTokenStore]:
        client = create_redis(redis_url)
        try:
            async with mariadb_engine() as engine:
                yield DurableRedisTokenStore(
                    client, clock, SqlTokenStore(engine, clock), prefix="test:"
                )
        finally:
            await client.aclose()

    @pytest.fixture
    async def unreachable_adapter(
        self, tmp_path: Path, clock: ManualClock
    ) -> AsyncIterator[DurableRedisTokenStore]:
        client = create_redis("redis://127.0.0.1:1/0")
        try:
            async with unreachable_engine("mariadb", tmp_path) as engine:
                yield DurableRedisTokenStore(client, clock, SqlTokenStore(engine, clock))
        finally:
            await client.aclose()


async def test_a_logout_outlives_redis_coming_back_empty(redis_url: str, tmp_path: Path) -> None:
    """Redis without persistence restarts empty (here: FLUSHDB); the database remembers."""
    clock = ManualClock()
    client = create_redis(redis_url)
    try:
        async with sqlite_engine(tmp_path) as engine:
            store = DurableRedisTokenStore(client, clock, SqlTokenStore(engine, clock))
            await store.revoke("jti-out", clock.now() + timedelta(minutes=10))
            assert await store.is_revoked("jti-out")

            await client.flushdb()

            # Another process, or this one, asks again: the copy is restored first.
            again = DurableRedisTokenStore(client, clock, SqlTokenStore(engine, clock))
            assert await again.is_revoked("jti-out")
            assert not await again.is_revoked("jti-never")
            assert await client.exists("klantroef:revoked:jti-out") == 1
            clock.advance(600)
            assert not await again.is_revoked("jti-out")
    finally:
        await client.aclose()


class CountingSource:
    """The database behind a durable store, counting how often all of it is read."""

    def __init__(self, inner: SqlTokenStore) -> None:
        self.inner = inner
        self.whole_reads = 0

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        await self.inner.revoke(token_id, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        return await self.inner.is_revoked(token_id)

    async def active(self) -> list[tuple[str, datetime]]:
        self.whole_reads += 1
        return await self.inner.active()


async def test_while_another_restore_runs_each_check_reads_one_row_not_the_table(
    redis_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    client = create_redis(redis_url)
    try:
        async with sqlite_engine(tmp_path) as engine:
            source = CountingSource(SqlTokenStore(engine, clock))
            store = DurableRedisTokenStore(client, clock, source)
            await source.revoke("jti-out", clock.now() + timedelta(minutes=10))  # not copied
            await client.flushdb()
            await client.set("klantroef:revoked:copy-is-whole", "restoring:elsewhere", px=10_000)

            assert await store.is_revoked("jti-out")  # the database answers, at once
            assert not await store.is_revoked("jti-never")
            assert source.whole_reads == 0
    finally:
        await client.aclose()


class LosingDataWhileRead:
    """The database behind a durable store; while a restore reads it, another process
    logs a token out, and then Redis loses its data again (a restart loop, a failover)."""

    def __init__(self, inner: SqlTokenStore) -> None:
        self.inner = inner
        self.meanwhile: list[Callable[[], Awaitable[None]]] = []

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        await self.inner.revoke(token_id, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        return await self.inner.is_revoked(token_id)

    async def active(self) -> list[tuple[str, datetime]]:
        snapshot = await self.inner.active()
        for happen in self.meanwhile:
            await happen()
        self.meanwhile.clear()
        return snapshot


async def test_a_logout_outlives_redis_losing_its_data_during_a_restore(
    redis_url: str, tmp_path: Path
) -> None:
    # Found by the soak: a logged-out token was accepted once right after its
    # logout, when Redis lost its data while another request was restoring it.
    clock = ManualClock()
    client = create_redis(redis_url)
    out_at = clock.now() + timedelta(minutes=10)
    try:
        async with sqlite_engine(tmp_path) as engine:
            other = DurableRedisTokenStore(client, clock, SqlTokenStore(engine, clock))
            source = LosingDataWhileRead(SqlTokenStore(engine, clock))
            store = DurableRedisTokenStore(client, clock, source)

            async def logout_elsewhere_then_lose_data() -> None:
                await other.revoke("jti-out", out_at)  # committed after the snapshot
                await client.flushdb()

            source.meanwhile.append(logout_elsewhere_then_lose_data)
            assert not await store.is_revoked("jti-never")  # Redis empty: a restore runs

            assert await store.is_revoked("jti-out")
            assert await other.is_revoked("jti-out")
    finally:
        await client.aclose()


# --- the mirror's own promise: a restart revives nothing --------------------------------------


async def test_a_mirrored_store_loads_earlier_revocations_from_sql(tmp_path: Path) -> None:
    clock = ManualClock()
    in_ten_minutes = clock.now() + timedelta(minutes=10)
    engine: SqlEngine
    async with sqlite_engine(tmp_path) as engine:
        await SqlTokenStore(engine, clock).revoke("jti-before-restart", in_ten_minutes)
        restarted = MirroredSqlTokenStore(SqlTokenStore(engine, clock), clock)
        assert await restarted.is_revoked("jti-before-restart")
        await restarted.revoke("jti-after", in_ten_minutes)
        assert await SqlTokenStore(engine, clock).is_revoked("jti-after")


# --- Redis: an upgrade revives nothing ---------------------------------------------------


async def test_a_revocation_written_by_the_earlier_redis_format_still_counts(
    redis_url: str,
) -> None:
    """Earlier versions stored b"1" with the key expiring when the token did."""
    client = create_redis(redis_url)
    try:
        await client.set("test:revoked:jti-old", b"1", px=600_000)
        store = RedisTokenStore(client, ManualClock(), prefix="test:")
        assert await store.is_revoked("jti-old")
        assert not await store.is_revoked("jti-never")
    finally:
        await client.aclose()
