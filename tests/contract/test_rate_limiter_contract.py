"""The RateLimiter contract, run unchanged against every implementation.

To add an implementation, add a factory to ``FACTORIES``: it gets the pytest
request (to reach fixtures) and returns an async context manager that yields a
fresh limiter that remembers no attempt.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.redis.client import create_redis
from klantroef_adapters.redis.rate_limiter import RedisRateLimiter
from klantroef_adapters.sql.engine import SqlEngine
from klantroef_adapters.sql.rate_limiter import SqlRateLimiter
from klantroef_core.domain.rates import Rate
from klantroef_core.errors import Unavailable
from klantroef_core.ports.rate_limiter import RateDecision, RateLimiter
from tests.sql_engines import mariadb_engine, sqlite_engine

Factory = Callable[[pytest.FixtureRequest], AbstractAsyncContextManager[RateLimiter]]


@asynccontextmanager
async def in_memory() -> AsyncIterator[RateLimiter]:
    yield InMemoryRateLimiter()


@asynccontextmanager
async def in_redis(url: str) -> AsyncIterator[RateLimiter]:
    client = create_redis(url)
    try:
        yield RedisRateLimiter(client, prefix="test:")
    finally:
        await client.aclose()


@asynccontextmanager
async def in_sql(opened: AbstractAsyncContextManager[SqlEngine]) -> AsyncIterator[RateLimiter]:
    async with opened as engine:
        yield SqlRateLimiter(engine)


FACTORIES: dict[str, Factory] = {
    "memory": lambda request: in_memory(),
    "redis": lambda request: in_redis(request.getfixturevalue("redis_url")),
    "sqlite": lambda request: in_sql(sqlite_engine(request.getfixturevalue("tmp_path"))),
    "mariadb": lambda request: in_sql(mariadb_engine()),
}
MARKS = {"redis": pytest.mark.redis, "mariadb": pytest.mark.mariadb}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in FACTORIES])
def open_limiter(request: pytest.FixtureRequest) -> AbstractAsyncContextManager[RateLimiter]:
    """Each implementation in turn (resolved here: async fixtures cannot ask for fixtures)."""
    return FACTORIES[request.param](request)


@pytest.fixture
async def limiter(
    open_limiter: AbstractAsyncContextManager[RateLimiter],
) -> AsyncIterator[RateLimiter]:
    async with open_limiter as opened:
        yield opened


THREE_IN_TEN = Rate(limit=3, period=10.0)
T0 = 1_700_000_000.0


async def hits(limiter: RateLimiter, key: str, rate: Rate, *times: float) -> list[RateDecision]:
    return [await limiter.hit(key, rate, t) for t in times]


async def test_attempts_within_the_limit_are_allowed_and_count_down(limiter: RateLimiter) -> None:
    decisions = await hits(limiter, "k", THREE_IN_TEN, T0, T0 + 1, T0 + 2)

    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.limit == 3 and d.retry_after == 0 for d in decisions)
    assert all(d.reset_after == pytest.approx(10.0) for d in decisions)


async def test_an_attempt_over_the_limit_is_refused_with_a_positive_retry_after(
    limiter: RateLimiter,
) -> None:
    await hits(limiter, "k", THREE_IN_TEN, T0, T0 + 1, T0 + 2)

    refused = await limiter.hit("k", THREE_IN_TEN, T0 + 3)

    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.retry_after == pytest.approx(7.0)
    assert refused.reset_after == pytest.approx(9.0)


async def test_an_attempt_is_allowed_again_once_the_oldest_leaves_the_window(
    limiter: RateLimiter,
) -> None:
    await hits(limiter, "k", THREE_IN_TEN, T0, T0 + 1, T0 + 2)

    assert not (await limiter.hit("k", THREE_IN_TEN, T0 + 9.999)).allowed
    again = await limiter.hit("k", THREE_IN_TEN, T0 + 10)

    assert again.allowed
    assert again.remaining == 0


async def test_attempts_at_the_same_instant_each_count(limiter: RateLimiter) -> None:
    decisions = await hits(limiter, "k", THREE_IN_TEN, T0, T0, T0, T0)

    assert [d.allowed for d in decisions] == [True, True, True, False]


async def test_keys_are_independent(limiter: RateLimiter) -> None:
    await hits(limiter, "a", THREE_IN_TEN, T0, T0, T0)

    other = await limiter.hit("b", THREE_IN_TEN, T0)

    assert other.allowed
    assert other.remaining == 2


async def test_a_refused_attempt_is_not_counted(limiter: RateLimiter) -> None:
    one_in_ten = Rate(limit=1, period=10.0)
    await limiter.hit("k", one_in_ten, T0)
    refused = await hits(limiter, "k", one_in_ten, T0 + 5, T0 + 6, T0 + 7)

    later = await limiter.hit("k", one_in_ten, T0 + 10)

    assert not any(d.allowed for d in refused)
    assert later.allowed


async def test_reset_forgets_every_attempt_of_the_key(limiter: RateLimiter) -> None:
    await hits(limiter, "k", THREE_IN_TEN, T0, T0, T0)
    await hits(limiter, "other", THREE_IN_TEN, T0, T0, T0)

    await limiter.reset("k")

    assert (await limiter.hit("k", THREE_IN_TEN, T0)).remaining == 2
    assert not (await limiter.hit("other", THREE_IN_TEN, T0)).allowed


async def test_resetting_an_unknown_key_is_harmless(limiter: RateLimiter) -> None:
    await limiter.reset("never-seen")


async def test_a_random_sequence_never_overfills_a_window_and_refuses_only_when_full(
    limiter: RateLimiter,
) -> None:
    rate = Rate(limit=4, period=5.0)
    draw = random.Random(20240601)
    times, t = [], T0
    for _ in range(120):
        t += draw.choice([0.0, 0.0, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 7.0]) + draw.random() / 8
        times.append(t)

    decisions = await hits(limiter, "k", rate, *times)

    accepted: list[float] = []
    for at, decision in zip(times, decisions, strict=True):
        in_window = [s for s in accepted if s > at - rate.period]
        assert decision.allowed == (len(in_window) < rate.limit)
        if decision.allowed:
            accepted.append(at)
        else:
            assert decision.retry_after == pytest.approx(min(in_window) + rate.period - at)
            assert decision.retry_after > 0
    for end in accepted:
        assert sum(end - rate.period < s <= end for s in accepted) <= rate.limit


async def test_every_method_of_an_unreachable_redis_limiter_raises_unavailable() -> None:
    client = create_redis("redis://127.0.0.1:1/0")
    limiter = RedisRateLimiter(client)
    try:
        with pytest.raises(Unavailable):
            await limiter.hit("k", THREE_IN_TEN, T0)
        with pytest.raises(Unavailable):
            await limiter.reset("k")
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_the_redis_log_expires_a_period_after_its_last_accepted_attempt(
    redis_url: str,
) -> None:
    client = create_redis(redis_url)
    try:
        await RedisRateLimiter(client, prefix="test:").hit("k", THREE_IN_TEN, T0)

        ttl_ms = await client.pttl("test:rate:k")
    finally:
        await client.aclose()

    assert 9_000 < ttl_ms <= 10_001
