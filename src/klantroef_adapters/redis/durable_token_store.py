"""Revocations kept in the database and answered by Redis: a logout outlives Redis's data.

Redis without persistence, a failover or an eviction can lose keys; a logged-out
token must stay refused all the same. The database is the source of truth; Redis
holds a copy for the one-round-trip check, and a marker saying the copy is whole.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from typing import Protocol, cast

from redis.asyncio import Redis

from klantroef_adapters.redis.client import unavailable_on_failure
from klantroef_adapters.redis.token_store import FORGET_AFTER_MS, RedisTokenStore
from klantroef_core.ports import Clock

WHOLE = b"1"
CLAIM_MS = 10_000  # a restore that dies midway stops holding the claim after this
# KEYS[1]: the marker. ARGV: this restore's claim. Marks the copy whole only if the
# claim, set before the database was read, is still there: Redis lost nothing since.
_MARK_WHOLE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], '1')
  return 1
end
return 0
"""


class RevocationSource(Protocol):
    """The durable store behind the copy (``SqlTokenStore`` has this shape)."""

    async def revoke(self, token_id: str, expires_at: datetime) -> None: ...

    async def active(self) -> list[tuple[str, datetime]]: ...

    async def is_revoked(self, token_id: str) -> bool: ...


class DurableRedisTokenStore:
    """A :class:`~klantroef_core.ports.token_store.TokenStore`: the database decides, Redis answers.

    ``revoke`` commits to the database first, then copies into Redis. ``is_revoked``
    reads the token's key and a marker in one ``MGET``: with the marker saying
    whole, Redis's copy is whole and its answer stands; otherwise (Redis came back
    empty, or evicted it) every active revocation is read from the database, the
    answer given from what was read, and the copy restored. The check stays one
    round trip to Redis while Redis keeps its data.

    A restore first claims the marker (if no other restore holds it; the claim
    lapses after ``CLAIM_MS``), then reads the database, copies, and turns its
    claim into "whole" only if the claim is still there. Redis losing its data
    again meanwhile (a restart loop, a failover) takes the claim with it, so a
    copy that misses a logout committed after the read is never marked whole.
    Checks that find another restore's claim answer from the database alone.
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
        self._mark_whole = client.register_script(_MARK_WHOLE)

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        await self._durable.revoke(token_id, expires_at)
        await self._copy.revoke(token_id, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        with unavailable_on_failure("token store"):
            marker, stored = cast(
                "list[bytes | None]",
                await self._client.mget([self._marker, self._copy.key(token_id)]),
            )
        if marker != WHOLE:
            # Read after this check began, so every logout answered before it is in.
            revocations = await self._restore()
            if revocations is None:  # another request is refilling: one primary-key read
                return await self._durable.is_revoked(token_id)
            now = self._clock.now()
            return any(found == token_id and until > now for found, until in revocations)
        return self._copy.counts(stored)

    async def _restore(self) -> list[tuple[str, datetime]] | None:
        """Copy every active revocation back into Redis and mark the copy whole, unless
        Redis lost data meanwhile; return what the database said. None when another
        restore is under way (or just finished): the caller asks about its one token,
        rather than every request reading the whole table while the claim lasts."""
        claim = f"restoring:{secrets.token_hex(8)}"
        with unavailable_on_failure("token store"):
            claimed = await self._client.set(self._marker, claim, nx=True, px=CLAIM_MS)
        if not claimed:
            return None
        revocations = await self._durable.active()
        with unavailable_on_failure("token store"):
            async with self._client.pipeline(transaction=False) as pipe:
                for token_id, expires_at in revocations:
                    at_ms = math.ceil(expires_at.timestamp() * 1000)
                    pipe.set(self._copy.key(token_id), str(at_ms), pxat=at_ms + FORGET_AFTER_MS)
                await pipe.execute()
            await self._mark_whole(keys=[self._marker], args=[claim])
        return revocations
