"""Readiness: does each backing service answer right now?"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from klantroef_adapters.sql.engine import SqlEngine

CHECK_TIMEOUT = 2.0
logger = logging.getLogger("klantroef.health")


class BackendReadiness:
    """Pings the database and Redis, where configured, each with a short timeout.

    A store kept in memory needs no check: with neither, the service is ready.
    """

    def __init__(self, engine: SqlEngine | None, redis: Redis | None) -> None:
        self._engine = engine
        self._redis = redis

    async def check(self) -> Mapping[str, bool]:
        checks: dict[str, bool] = {}
        if self._engine is not None:
            checks["database"] = await _answers("database", _ping_database(self._engine))
        if self._redis is not None:
            checks["redis"] = await _answers("redis", _ping_redis(self._redis))
        return checks


async def _ping_database(engine: SqlEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _ping_redis(redis: Redis) -> None:
    await redis.ping()


async def _answers(name: str, probe: Coroutine[Any, Any, None]) -> bool:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except Exception as exc:  # any failure means "not ready"; say which and why
        logger.warning("readiness: %s does not answer: %s", name, repr(exc))
        return False
    return True
