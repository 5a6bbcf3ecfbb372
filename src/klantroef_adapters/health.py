"""Readiness: does each backing service answer right now?"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from klantroef_adapters.sql.engine import SqlEngine

CHECK_TIMEOUT = 2.0


class BackendReadiness:
    """Pings the database and, when configured, Redis, each with a short timeout."""

    def __init__(self, engine: SqlEngine, redis: Redis | None) -> None:
        self._engine = engine
        self._redis = redis

    async def check(self) -> Mapping[str, bool]:
        checks = {"database": await _answers(self._ping_database())}
        if self._redis is not None:
            checks["redis"] = await _answers(self._ping_redis())
        return checks

    async def _ping_database(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _ping_redis(self) -> None:
        assert self._redis is not None
        await self._redis.ping()


async def _answers(probe: Coroutine[Any, Any, None]) -> bool:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception:  # any failure means "not ready"; the reason goes to the logs elsewhere
        return False
    return True
