"""Adapters whose store is down: every method raises ``Unavailable``, as a real one would."""

from __future__ import annotations

from klantroef_core.domain.rates import Rate
from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.errors import Unavailable
from klantroef_core.ports import RateDecision
from klantroef_core.ports.analytics_cache import CacheLookup


class UnreachableLimiter:
    """A rate limiter whose store is down."""

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        raise Unavailable("rate limiter: connection refused")


class UnreachableCache:
    """An analytics cache whose store is down."""

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        raise Unavailable("analytics cache: connection refused")

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        raise Unavailable("analytics cache: connection refused")

    async def invalidate(self, media_id: str) -> None:
        raise Unavailable("analytics cache: connection refused")
