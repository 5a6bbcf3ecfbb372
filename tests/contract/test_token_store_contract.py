"""The TokenStore contract, run unchanged against every implementation.

To add an implementation, add a factory to ``FACTORIES``: it gets the pytest
request (to reach fixtures such as ``tmp_path`` or ``mariadb_url``) and returns an
async context manager that yields a fresh, empty store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_adapters.redis.client import create_redis
from klantroef_adapters.redis.token_store import RedisTokenStore
from klantroef_adapters.sql.token_store import MirroredSqlTokenStore, SqlTokenStore
from klantroef_core.errors import Unavailable
from klantroef_core.ports.token_store import TokenStore
from tests.fakes import FakeClock
from tests.sql_engines import mariadb_engine, sqlite_engine

# One clock for every store: the contract's times are the Clock port's, so
# expiry is tested by moving it, not by sleeping.
CLOCK = FakeClock(datetime.now(UTC).replace(microsecond=0))

Factory = Callable[[pytest.FixtureRequest], AbstractAsyncContextManager[TokenStore]]


@asynccontextmanager
async def in_memory() -> AsyncIterator[TokenStore]:
    yield InMemoryTokenStore(CLOCK)


@asynccontextmanager
async def in_redis(url: str) -> AsyncIterator[TokenStore]:
    client = create_redis(url)
    try:
        yield RedisTokenStore(client, CLOCK, prefix="test:")
    finally:
        await client.aclose()


@asynccontextmanager
async def in_sqlite(folder: Path) -> AsyncIterator[TokenStore]:
    async with sqlite_engine(folder) as engine:
        yield SqlTokenStore(engine, CLOCK)


@asynccontextmanager
async def in_mariadb() -> AsyncIterator[TokenStore]:
    async with mariadb_engine() as engine:
        yield SqlTokenStore(engine, CLOCK)


@asynccontextmanager
async def in_sqlite_mirrored(folder: Path) -> AsyncIterator[TokenStore]:
    async with sqlite_engine(folder) as engine:
        yield MirroredSqlTokenStore(SqlTokenStore(engine, CLOCK), CLOCK)


FACTORIES: dict[str, Factory] = {
    "memory": lambda request: in_memory(),
    "sqlite": lambda request: in_sqlite(request.getfixturevalue("tmp_path")),
    "mariadb": lambda request: in_mariadb(),
    "sqlite-mirrored": lambda request: in_sqlite_mirrored(request.getfixturevalue("tmp_path")),
    "redis": lambda request: in_redis(request.getfixturevalue("redis_url")),
}
MARKS = {"redis": pytest.mark.redis, "mariadb": pytest.mark.mariadb}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in FACTORIES])
def open_store(request: pytest.FixtureRequest) -> AbstractAsyncContextManager[TokenStore]:
    """Each implementation in turn (resolved here: async fixtures cannot ask for fixtures)."""
    return FACTORIES[request.param](request)


@pytest.fixture
async def store(open_store: AbstractAsyncContextManager[TokenStore]) -> AsyncIterator[TokenStore]:
    async with open_store as opened:
        yield opened


def in_(seconds: float) -> datetime:
    return CLOCK.now() + timedelta(seconds=seconds)


async def test_a_token_never_revoked_is_not_revoked(store: TokenStore) -> None:
    assert not await store.is_revoked("jti-1")


async def test_a_revoked_token_is_revoked(store: TokenStore) -> None:
    await store.revoke("jti-1", in_(600))

    assert await store.is_revoked("jti-1")


async def test_revoking_one_token_leaves_the_others_alone(store: TokenStore) -> None:
    await store.revoke("jti-1", in_(600))

    assert not await store.is_revoked("jti-2")


async def test_revoking_twice_is_the_same_as_once(store: TokenStore) -> None:
    expires_at = in_(600)
    await store.revoke("jti-1", expires_at)
    await store.revoke("jti-1", expires_at)

    assert await store.is_revoked("jti-1")


async def test_a_revocation_that_already_expired_is_not_kept(store: TokenStore) -> None:
    await store.revoke("jti-1", in_(-1))

    assert not await store.is_revoked("jti-1")


async def test_a_revocation_is_forgotten_once_the_token_expires(store: TokenStore) -> None:
    await store.revoke("jti-1", in_(30))
    assert await store.is_revoked("jti-1")

    CLOCK.advance(29)
    assert await store.is_revoked("jti-1")
    CLOCK.advance(1)
    assert not await store.is_revoked("jti-1")


async def test_every_method_of_an_unreachable_redis_store_raises_unavailable() -> None:
    client = create_redis("redis://127.0.0.1:1/0")
    store = RedisTokenStore(client, CLOCK)
    try:
        with pytest.raises(Unavailable):
            await store.revoke("jti-1", in_(600))
        with pytest.raises(Unavailable):
            await store.is_revoked("jti-1")
    finally:
        await client.aclose()


async def test_a_mirrored_store_loads_earlier_revocations_from_sql(tmp_path: Path) -> None:
    async with sqlite_engine(tmp_path) as engine:
        await SqlTokenStore(engine, CLOCK).revoke("jti-before-restart", in_(600))
        restarted = MirroredSqlTokenStore(SqlTokenStore(engine, CLOCK), CLOCK)
        assert await restarted.is_revoked("jti-before-restart")
        await restarted.revoke("jti-after", in_(600))
        assert await SqlTokenStore(engine, CLOCK).is_revoked("jti-after")
