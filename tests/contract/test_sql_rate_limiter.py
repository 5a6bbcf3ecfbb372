"""The SQL rate limiter beyond the contract: one limit shared by several processes,
the sweep of expired keys, and what its rows hold."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from klantroef_adapters.sql.engine import SqlEngine, create_engine
from klantroef_adapters.sql.rate_limiter import SqlRateLimiter, key_hash
from klantroef_adapters.sql.tables import rate_limits
from klantroef_core.domain.rates import Rate
from tests.services import MARIADB_URL
from tests.sql_engines import mariadb_engine, sqlite_engine

KINDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
THIRTY_A_MINUTE = Rate(limit=30, period=60.0)
T0 = 1_700_000_000.0


@asynccontextmanager
async def two_engines(kind: str, folder: Path) -> AsyncIterator[tuple[SqlEngine, SqlEngine]]:
    """Two engine objects on one database (with the schema, empty): two processes' worth."""
    opened = sqlite_engine(folder) if kind == "sqlite" else mariadb_engine()
    url = f"sqlite:///{folder / 'contract.db'}" if kind == "sqlite" else MARIADB_URL
    async with opened as first:
        second = create_engine(url)
        try:
            yield first, second
        finally:
            await second.dispose()


async def stored_times(engine: SqlEngine, key: str) -> list[float]:
    query = select(rate_limits.c.accepted).where(rate_limits.c.key_hash == key_hash(key))
    async with engine.connect() as conn:
        stored = (await conn.execute(query)).scalar_one_or_none()
    return [float(t) for t in stored.split()] if stored else []


async def row_count(engine: SqlEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(rate_limits))).scalar_one())


@pytest.mark.parametrize("kind", KINDS)
async def test_forty_concurrent_hits_from_two_engines_allow_exactly_the_limit(
    kind: str, tmp_path: Path
) -> None:
    async with two_engines(kind, tmp_path) as (one, two):
        limiters = [SqlRateLimiter(one), SqlRateLimiter(two)]

        decisions = await asyncio.gather(
            *(limiters[n % 2].hit("view:shared", THIRTY_A_MINUTE, T0 + n / 1000) for n in range(40))
        )

        assert sum(d.allowed for d in decisions) == 30
        assert len(await stored_times(one, "view:shared")) == 30
        assert not (await limiters[0].hit("view:shared", THIRTY_A_MINUTE, T0 + 1)).allowed


def test_two_threads_on_one_sqlite_file_allow_exactly_the_limit(tmp_path: Path) -> None:
    """Each thread has its own loop and engine, so their transactions really overlap."""
    asyncio.run(_schema(tmp_path))
    allowed: list[bool] = []
    start = threading.Barrier(2)

    def process() -> None:
        async def run() -> None:
            engine = create_engine(f"sqlite:///{tmp_path / 'contract.db'}")
            limiter = SqlRateLimiter(engine)
            try:
                start.wait()
                for n in range(200):
                    decision = await limiter.hit("view:shared", Rate(300, 60.0), T0 + n / 1000)
                    allowed.append(decision.allowed)
            finally:
                await engine.dispose()

        asyncio.run(run())

    threads = [threading.Thread(target=process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(allowed) == 400
    assert sum(allowed) == 300


async def _schema(folder: Path) -> None:
    async with sqlite_engine(folder):
        pass


@pytest.mark.parametrize("kind", KINDS)
async def test_the_sweep_deletes_only_keys_with_no_attempt_in_two_periods(
    kind: str, tmp_path: Path
) -> None:
    async with two_engines(kind, tmp_path) as (engine, _):
        limiter = SqlRateLimiter(engine, sweep_every=1_000_000)
        for n in range(5):
            await limiter.hit(f"old:{n}", THIRTY_A_MINUTE, T0)
        await limiter.hit("young", THIRTY_A_MINUTE, T0 + 30)

        # Two periods: an attempt landing up to a period late may still count them.
        assert await limiter.sweep(T0 + 119) == 0
        assert await limiter.sweep(T0 + 120) == 5

        assert await row_count(engine) == 1
        assert await stored_times(engine, "young") == [T0 + 30]


@pytest.mark.parametrize("kind", KINDS)
async def test_every_so_many_hits_sweep_on_their_own(kind: str, tmp_path: Path) -> None:
    async with two_engines(kind, tmp_path) as (engine, _):
        limiter = SqlRateLimiter(engine, sweep_every=10)
        for n in range(9):
            await limiter.hit(f"client:{n}", THIRTY_A_MINUTE, T0)
        assert await row_count(engine) == 9

        await limiter.hit("late", THIRTY_A_MINUTE, T0 + 121)  # the tenth hit sweeps

        assert await row_count(engine) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_row_holds_the_hashed_key_and_only_the_accepted_times_of_two_periods(
    kind: str, tmp_path: Path
) -> None:
    async with two_engines(kind, tmp_path) as (engine, _):
        limiter = SqlRateLimiter(engine)
        two_in_ten = Rate(limit=2, period=10.0)
        for t in (T0, T0 + 1, T0 + 2, T0 + 10.5, T0 + 20.2):
            await limiter.hit("login:email:ann@example.com", two_in_ten, t)

        async with engine.connect() as conn:
            (stored_key,) = (await conn.execute(select(rate_limits.c.key_hash))).scalars()
        assert stored_key == key_hash("login:email:ann@example.com") != "ann@example.com"
        # T0 + 2 was refused (not stored); T0 went when T0 + 20.2 came, two periods on.
        assert await stored_times(engine, "login:email:ann@example.com") == [
            T0 + 1,
            T0 + 10.5,
            T0 + 20.2,
        ]
