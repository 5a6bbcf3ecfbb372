"""Revocations kept in the database and answered by Redis: a logout outlives Redis's data.

Redis without persistence, a failover or an eviction can lose keys; a logged-out
token must stay refused all the same. The database is the source of truth; Redis
holds a copy for the one-round-trip check, and a marker saying the copy is whole.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol, cast

from redis.asyncio import Redis

from klantroef_adapters.redis.client import unavailable_on_failure
from klantroef_adapters.redis.token_store import FORGET_AFTER_MS, RedisTokenStore
from klantroef_core.ports import Clock


class RevocationSource(Protocol):
    """The durable store behind the copy (``SqlTokenStore`` has this shape)."""

    async def revoke(self, token_id: str, expires_at: datetime) -> None: ...

    async def active(self) -> list[tuple[str, datetime]]: ...


class DurableRedisTokenStore:
    """A :class:`~klantroef_core.ports.token_store.TokenStore`: the database decides, Redis answers.

    ``revoke`` commits to the database first, then copies into Redis. ``is_revoked``
    reads the token's key and a marker in one ``MGET``: with the marker there,
    Redis's copy is whole and its answer stands; without it (Redis came back empty,
    or evicted it) every active revocation is copied back from the database before
    the answer is given, and the marker set again. The check stays one round trip
    to Redis while Redis keeps its data.
    """

    def __init__(
        self,
        client: Redis,
        clock: Clock,
        durable: RevocationSource,
        *,
        prefix: str = "klantroef:",
    ) -> None:
        self._client = client
        self._clock = clock
        self._durable = durable
        self._copy = RedisTokenStore(client, clock, prefix=prefix)
        self._marker = f"{prefix}revoked:copy-is-whole"

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        await self._durable.revoke(token_id, expires_at)
        await self._copy.revoke(token_id, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        with unavailable_on_failure("token store"):
            marker, stored = cast(
                "list[bytes | None]",
                await self._client.mget([self._marker, self._copy.key(token_id)]),
            )
        if marker is None:
            await self._restore()
            return await self._copy.is_revoked(token_id)
        return self._copy.counts(stored)

    async def _restore(self) -> None:
        """Copy every active revocation back into Redis, then mark the copy whole."""
        revocations = await self._durable.active()
        with unavailable_on_failure("token store"):
            async with self._client.pipeline(transaction=False) as pipe:
                for token_id, expires_at in revocations:
                    at_ms = math.ceil(expires_at.timestamp() * 1000)
                    pipe.set(self._copy.key(token_id), str(at_ms), pxat=at_ms + FORGET_AFTER_MS)
                pipe.set(self._marker, b"1")
                await pipe.execute()
