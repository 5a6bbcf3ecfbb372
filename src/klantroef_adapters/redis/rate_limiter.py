"""An exact sliding-log rate limiter shared by every instance through Redis."""

from __future__ import annotations

import math
import secrets
from typing import cast

from redis.asyncio import Redis

from klantroef_adapters.redis.client import unavailable_on_failure
from klantroef_core.domain.rates import Rate
from klantroef_core.ports.rate_limiter import RateDecision

# KEYS[1]: the sorted set of accepted attempts (score = time).
# ARGV: now, cutoff (now - period), limit, a unique member, the key's lifetime in ms,
# and the horizon (now - 2 periods) before which nothing is kept.
# Times travel as strings both ways: Lua would print numbers with 14 digits only.
_HIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[6])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
local allowed = 0
if count < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  count = count + 1
  allowed = 1
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  end
end
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {allowed, count, oldest[2], newest[2]}
"""


class RedisRateLimiter:
    """A :class:`~klantroef_core.ports.rate_limiter.RateLimiter` on a Redis sorted set per key.

    One Lua script per hit counts the attempts later than ``now - period`` (later
    than ``now`` too: an attempt may land after a later one, see the port) and adds
    this one if there is room, so a hit is atomic across every instance; attempts
    more than two periods old are dropped on the way. Time is the caller's ``now``,
    not Redis's clock. The set expires two periods after its last accepted attempt.
    """

    def __init__(self, client: Redis, *, prefix: str = "klantroef:") -> None:
        self._client = client
        self._prefix = prefix
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        member = f"{now!r}:{secrets.token_hex(8)}"
        lifetime_ms = math.ceil(2 * rate.period * 1000) + 1
        args: list[str | int] = [
            repr(now),
            repr(now - rate.period),
            rate.limit,
            member,
            lifetime_ms,
            repr(now - 2 * rate.period),
        ]
        with unavailable_on_failure("rate limiter"):
            reply = await self._hit(keys=[self._key(key)], args=args)
        allowed, count, oldest_raw, newest_raw = cast("list[object]", reply)
        oldest, newest = float(cast("bytes", oldest_raw)), float(cast("bytes", newest_raw))
        return RateDecision(
            allowed=bool(allowed),
            limit=rate.limit,
            remaining=max(rate.limit - cast("int", count), 0),
            reset_after=max(newest + rate.period - now, 0.0),
            retry_after=0.0 if allowed else oldest + rate.period - now,
        )

    def _key(self, key: str) -> str:
        return f"{self._prefix}rate:{key}"
