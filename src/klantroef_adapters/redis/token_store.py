"""Revoked access tokens in Redis, seen by every instance at once."""

from __future__ import annotations

import math
from datetime import datetime

from redis.asyncio import Redis

from klantroef_adapters.redis.client import unavailable_on_failure


class RedisTokenStore:
    """A :class:`~klantroef_core.ports.token_store.TokenStore` with one key per revoked id.

    Each key expires, by Redis's own clock, when its token would have: the store
    forgets on its own, and no instance's clock decides. Revoking again may extend
    a revocation, never shorten it; one already past its expiry is not stored.
    """

    def __init__(self, client: Redis, *, prefix: str = "klantroef:") -> None:
        self._client = client
        self._prefix = prefix

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        key = self._key(token_id)
        at_ms = math.ceil(expires_at.timestamp() * 1000)
        with unavailable_on_failure("token store"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(key, b"1", pxat=at_ms, nx=True)
                pipe.pexpireat(key, at_ms, gt=True)
                await pipe.execute()

    async def is_revoked(self, token_id: str) -> bool:
        with unavailable_on_failure("token store"):
            return bool(await self._client.exists(self._key(token_id)))

    async def ping(self) -> None:
        with unavailable_on_failure("token store"):
            await self._client.ping()

    def _key(self, token_id: str) -> str:
        return f"{self._prefix}revoked:{token_id}"
