"""The database deadline gives up on time even when a library swallows a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from klantroef_adapters.sql.engine import Deadline


async def swallow_one_cancellation() -> None:
    """What Python 3.11's ``wait_for`` can do when its inner call completes as the
    cancellation arrives: the cancellation is lost and the caller waits on."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(60)
    await asyncio.sleep(60)  # e.g. the server's greeting, which never comes


async def test_a_swallowed_cancellation_is_repeated_until_the_block_gives_up() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with Deadline(0.1):
            await swallow_one_cancellation()
    assert time.monotonic() - started < 5
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # nothing left pending


async def test_a_block_that_ends_in_time_is_left_alone() -> None:
    async with Deadline(5):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # no late cancellation arrives


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def guarded() -> None:
        async with Deadline(5):
            await asyncio.sleep(60)

    task = asyncio.create_task(guarded())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
