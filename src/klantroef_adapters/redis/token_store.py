"""Revoked access tokens in Redis, seen by every instance at once."""

from __future__ import annotations

import math
from datetime import datetime
from typing import cast

from redis.asyncio import Redis

from klantroef_adapters.redis.client import unavailable_on_failure
from klantroef_core.ports import Clock

# Redis forgets a revocation this long after its token expired. The check itself
# compares the stored expiry with the Clock port, so a Redis clock up to this far
# ahead of ours cannot forget a revocation early; the margin also bounds memory.
FORGET_AFTER_MS = 60_000
LEGACY_MARK = b"1"
"""What versions before the expiry-valued keys stored (with the key expiring when the
token did): still revoked, so an upgrade revives no logged-out token."""

# KEYS[1]: the revocation. ARGV: expiry in ms since the epoch, key deadline in ms.
# Keeps the later expiry when a token is revoked twice: never shortened.
_REVOKE = """
local known = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > known then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
end
return 1
"""


class RedisTokenStore:
    """A :class:`~klantroef_core.ports.token_store.TokenStore` with one key per revoked id.

    The key holds the token's expiry (ms since the epoch); a token is revoked
    while that expiry is later than the Clock's now. Each key is dropped by
    Redis a minute after its token expired, so the store forgets on its own.
    """

    def __init__(self, client: Redis, clock: Clock, *, prefix: str = "klantroef:") -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._revoke = client.register_script(_REVOKE)

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        if expires_at <= self._clock.now():
            return
        at_ms = math.ceil(expires_at.timestamp() * 1000)
        with unavailable_on_failure("token store"):
            await self._revoke(keys=[self.key(token_id)], args=[at_ms, at_ms + FORGET_AFTER_MS])

    async def is_revoked(self, token_id: str) -> bool:
        with unavailable_on_failure("token store"):
            stored = cast("bytes | None", await self._client.get(self.key(token_id)))
        return self.counts(stored)

    def counts(self, stored: bytes | None) -> bool:
        """Whether a key's value (None: no key) is a revocation still in force."""
        if stored is None:
            return False
        if stored == LEGACY_MARK:  # written by an earlier version; Redis expires it itself
            return True
        return int(stored) > self._clock.now().timestamp() * 1000

    def key(self, token_id: str) -> str:
        """The Redis key of a token id's revocation."""
        return f"{self._prefix}revoked:{token_id}"
