"""The Redis client: commands issued together travel as one pipeline, each with its own answer."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from klantroef_adapters.redis.client import PipeliningRedis, create_redis
from tests.services import REDIS_URL, require

pytestmark = pytest.mark.redis


@pytest.fixture
async def client() -> AsyncIterator[PipeliningRedis]:
    require("Redis", REDIS_URL)
    made = create_redis(REDIS_URL)
    assert isinstance(made, PipeliningRedis)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many commands each write to Redis carried."""
    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    async def counted(self: Any, command: Any, *args: Any, **kwargs: Any) -> None:
        sent.append(len(command) if isinstance(command, list) else 1)
        await original(self, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


async def test_commands_issued_together_share_one_write_and_keep_their_own_answers(
    client: PipeliningRedis, writes: list[int]
) -> None:
    prefix = f"klantroef-test:{secrets.token_hex(4)}:"
    await client.set(prefix + "a", b"1")
    writes.clear()
    answers = await asyncio.gather(*(client.incr(prefix + "a") for _ in range(50)))
    assert sorted(answers) == list(range(2, 52))  # each got its own reply, none lost
    assert len(writes) < 5, writes  # not fifty round trips
    await client.delete(prefix + "a")


async def test_one_failing_command_fails_alone(client: PipeliningRedis) -> None:
    prefix = f"klantroef-test:{secrets.token_hex(4)}:"
    await client.set(prefix + "text", b"not a number")
    results = await asyncio.gather(
        client.incr(prefix + "n"),
        client.incr(prefix + "text"),  # ERR value is not an integer
        client.get(prefix + "text"),
        return_exceptions=True,
    )
    assert results[0] == 1
    assert isinstance(results[1], ResponseError)
    assert results[2] == b"not a number"
    await client.delete(prefix + "n", prefix + "text")


async def test_scripts_missing_from_the_server_are_loaded_again(client: PipeliningRedis) -> None:
    script = client.register_script(f"return ARGV[1] .. '{secrets.token_hex(4)}'")
    await client.script_flush()  # as after a Redis restart: no script is cached
    answers = await asyncio.gather(*(script(args=[str(n)]) for n in range(10)))
    assert [a[: len(str(n))] for n, a in enumerate(answers)] == [str(n).encode() for n in range(10)]


async def test_a_cancelled_caller_does_not_disturb_the_others(client: PipeliningRedis) -> None:
    prefix = f"klantroef-test:{secrets.token_hex(4)}:"

    async def bump() -> int:
        return await client.incr(prefix + "c")

    calls = [asyncio.create_task(bump()) for _ in range(10)]
    calls[3].cancel()
    done = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(done[3], asyncio.CancelledError)
    others = [answer for n, answer in enumerate(done) if n != 3]
    assert all(isinstance(answer, int) for answer in others)
    assert len(set(others)) == 9  # each its own increment
    assert int(await client.get(prefix + "c") or 0) == 9  # the cancelled one was never sent
    await client.delete(prefix + "c")


async def test_a_turn_whose_connection_breaks_fails_whole_and_is_never_sent_again(
    client: PipeliningRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py's Pipeline re-sends every command after a broken connection; a
    rate-limit script would then count a hit twice. A turn is sent once."""
    prefix = f"klantroef-test:{secrets.token_hex(4)}:"
    parse = PipeliningRedis.parse_response
    replies_read = 0

    async def breaks_on_the_third(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal replies_read
        replies_read += 1
        if replies_read == 3:
            raise RedisConnectionError("the connection broke mid-turn")
        return await parse(self, *args, **kwargs)

    monkeypatch.setattr(PipeliningRedis, "parse_response", breaks_on_the_third)
    outcomes = await asyncio.gather(
        *(client.incr(prefix + "hits") for _ in range(5)), return_exceptions=True
    )
    monkeypatch.setattr(PipeliningRedis, "parse_response", parse)
    assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes)
    assert int(await client.get(prefix + "hits") or 0) == 5  # each ran once, none again
    await client.delete(prefix + "hits")
