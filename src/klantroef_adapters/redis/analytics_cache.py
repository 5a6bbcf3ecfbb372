"""Analytics reports cached in Redis, with generations shared by every instance."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, cast

import msgspec
from redis.asyncio import Redis

from klantroef_adapters.redis.client import unavailable_on_failure
from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.ports.analytics_cache import CacheLookup

DEFAULT_TTL = 600.0
LOCAL_ENTRIES = 256
"""Reports a process keeps beside Redis (a year of days is about 55 KB)."""
DEFAULT_GENERATION_TTL = 86_400.0

# A generation key that does not exist reads as 0. Whenever a script creates one, it
# starts from Redis's clock in microseconds, never from 0 or 1, so a generation key
# that expired or was evicted cannot come back with a number an old entry carries.
_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end
local function new_generation()
  local now = redis.call('TIME')
  return now[1] .. string.format('%06d', tonumber(now[2]))
end
"""

# KEYS: generation, entry. ARGV: expected generation, payload, entry ms, generation ms.
# Returns the generation stored at, or 0 when the generation moved on.
_PUT = (
    _PRELUDE
    + """
local current = redis.call('GET', KEYS[1])
if not current then
  if ARGV[1] ~= '0' then return 0 end
  current = new_generation()
  redis.call('SET', KEYS[1], current, 'PX', ARGV[4])
elseif current ~= ARGV[1] then
  return 0
else
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
redis.call('SET', KEYS[2], current .. '|' .. ARGV[2], 'PX', ARGV[3])
return current
"""
)

# KEYS: generation. ARGV: generation ms.
_INVALIDATE = (
    _PRELUDE
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
else
  redis.call('SET', KEYS[1], new_generation())
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
)


@dataclass(frozen=True, slots=True)
class _Kept:
    report: Analytics
    generation: int
    until: float  # time.monotonic()


class ViewTotals(Protocol):
    """What a hit is checked against: the view log's count of views of an item
    (``SqlViewLog`` and ``InMemoryViewLog`` have this shape)."""

    async def total_views(self, media_id: str) -> int | None:
        """Views of the item logged so far; None when there is no such item."""
        ...


class RedisAnalyticsCache:
    """An :class:`~klantroef_core.ports.analytics_cache.AnalyticsCache` in Redis.

    Per media, a generation key and one key per cached day range whose value is
    ``<generation>|<report as JSON>``. ``lookup`` reads both in one ``MGET`` and serves
    the report only when the generations match; ``put`` compares and stores in one
    script; ``invalidate`` bumps the generation. Entries live ``ttl`` seconds; a
    generation key lives ``generation_ttl`` seconds after its last use, which bounds
    how long a racing reader may sit on a generation it read while no key existed.
    A media's keys share a hash tag, so the scripts also run on Redis Cluster.

    With ``totals`` (the view log, in production always), a stored report is served
    only while its ``total_views`` equals the log's current total for the item, read
    in the same lookup (one primary-key query). The total is bumped in each view's
    own transaction, so a view whose ``invalidate`` never reached Redis (Redis
    frozen, restarted, or cut off from that one writer) still kills every report
    computed before it, on every process; and a deleted item is never served.
    Without ``totals`` the cache trusts invalidations alone, which an outage can lose.

    With ``totals``, each process also keeps the last ``local_entries`` reports it
    read or stored, checked against the same total: the total comes first, and a
    local report with that total is served without asking Redis (equal totals
    mean equal reports, whichever process computed them). So a hit is one
    primary-key read; Redis is asked only when this process has no report at
    the item's current total.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "klantroef:",
        ttl: float = DEFAULT_TTL,
        generation_ttl: float = DEFAULT_GENERATION_TTL,
        totals: ViewTotals | None = None,
        local_entries: int = LOCAL_ENTRIES,
    ) -> None:
        if ttl <= 0 or generation_ttl <= ttl:
            raise ValueError("the cache needs a positive ttl and a longer generation_ttl")
        self._client = client
        self._totals = totals
        self._prefix = prefix
        self._ttl_ms = math.ceil(ttl * 1000)
        self._generation_ttl_ms = math.ceil(generation_ttl * 1000)
        self._put = client.register_script(_PUT)
        self._invalidate = client.register_script(_INVALIDATE)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Analytics)
        self._local: OrderedDict[tuple[str, DayRange], _Kept] = OrderedDict()
        self._local_entries = local_entries
        self._ttl = ttl

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        total: int | None = None
        if self._totals is not None:
            total = await self._totals.total_views(media_id)
            kept = self._local.get((media_id, days))
            if (
                kept is not None
                and total is not None
                and kept.report.total_views == total
                and time.monotonic() < kept.until
            ):
                self._local.move_to_end((media_id, days))
                return CacheLookup(kept.generation, kept.report)
        keys = [self._generation_key(media_id), self._entry_key(media_id, days)]
        with unavailable_on_failure("analytics cache"):
            current, entry = cast("list[bytes | None]", await self._client.mget(keys))
        if current is None:
            return CacheLookup(0, None)
        generation = int(current)
        if entry is None:
            return CacheLookup(generation, None)
        stored_at, _, payload = entry.partition(b"|")
        if stored_at != current:
            return CacheLookup(generation, None)
        try:
            report = self._decoder.decode(payload)
        except msgspec.DecodeError:  # written by another version: recompute
            return CacheLookup(generation, None)
        if self._totals is not None:
            if report.total_views != total:
                return CacheLookup(generation, None)  # a view landed unannounced, or the item went
            self._keep(days, report, generation)
        return CacheLookup(generation, report)

    def _keep(self, days: DayRange, report: Analytics, generation: int) -> None:
        """Remember ``report`` in this process (only ever served at its own total)."""
        key = (report.media_id, days)
        self._local[key] = _Kept(report, generation, time.monotonic() + self._ttl)
        self._local.move_to_end(key)
        while len(self._local) > self._local_entries:
            self._local.popitem(last=False)

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        keys = [self._generation_key(report.media_id), self._entry_key(report.media_id, days)]
        payload = self._encoder.encode(report)
        args: list[bytes | str | int] = [
            str(generation),
            payload,
            self._ttl_ms,
            self._generation_ttl_ms,
        ]
        with unavailable_on_failure("analytics cache"):
            stored_at = int(cast("bytes | int", await self._put(keys=keys, args=args)))
        if stored_at and self._totals is not None:
            self._keep(days, report, stored_at)

    async def invalidate(self, media_id: str) -> None:
        for key in [key for key in self._local if key[0] == media_id]:
            del self._local[key]
        with unavailable_on_failure("analytics cache"):
            await self._invalidate(
                keys=[self._generation_key(media_id)], args=[self._generation_ttl_ms]
            )

    def _generation_key(self, media_id: str) -> str:
        return f"{self._prefix}analytics:{{{media_id}}}:generation"

    def _entry_key(self, media_id: str, days: DayRange) -> str:
        first = days.first.isoformat() if days.first else "*"
        last = days.last.isoformat() if days.last else "*"
        return f"{self._prefix}analytics:{{{media_id}}}:report:{first}:{last}"
