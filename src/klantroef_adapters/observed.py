"""Domain counters kept by decorators around the ports, so the core never hears of Prometheus.

Each decorator implements its port by delegating every call to the real adapter,
and counts what the call tells: a view recorded, a view refused by the limiter,
an upload's record added, an analytics lookup that hit or missed. The
composition root wraps only the instance the counted use case receives (the
limiter of ``RecordView``, not of ``Login``; the repository of ``UploadMedia``),
so a count means exactly one thing. Media bytes sent to players are counted
where they are sent, by the HTTP layer (``klantroef_stream_bytes_total``): a
whole-file GET is handed to the server (pathsend) and never passes a port.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter

from klantroef_core.domain.media import Media
from klantroef_core.domain.media_info import MediaInfo, Poster
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import Unavailable
from klantroef_core.ports import AnalyticsCache, MediaRepository, RateDecision, RateLimiter, ViewLog
from klantroef_core.ports.analytics_cache import CacheLookup


class DomainMetrics:
    """The domain's counters; ``registry`` None leaves them to multiprocess collection."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.views = Counter("klantroef_views", "Views recorded", registry=registry)
        self.views_rate_limited = Counter(
            "klantroef_views_rate_limited",
            "Views refused by the per-client view limit (429)",
            registry=registry,
        )
        self.uploads = Counter(
            "klantroef_uploads", "Uploads stored and recorded", registry=registry
        )
        self.upload_bytes = Counter(
            "klantroef_upload_bytes", "Bytes of the uploads recorded", registry=registry
        )
        cache = Counter(
            "klantroef_analytics_cache_requests",
            "Analytics cache lookups, by result (an unreachable cache is a miss)",
            ["result"],
            registry=registry,
        )
        self.cache_hits = cache.labels("hit")
        self.cache_misses = cache.labels("miss")


class CountedViewLog:
    """A :class:`ViewLog` that counts the views it records."""

    def __init__(self, inner: ViewLog, metrics: DomainMetrics) -> None:
        self._inner = inner
        self._views = metrics.views

    async def record(self, view: View) -> None:
        await self._inner.record(view)
        self._views.inc()

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        return await self._inner.report(media_id, days)


class CountedViewLimiter:
    """A :class:`RateLimiter` (the view limiter's) that counts the hits it refuses."""

    def __init__(self, inner: RateLimiter, metrics: DomainMetrics) -> None:
        self._inner = inner
        self._refused = metrics.views_rate_limited

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        decision = await self._inner.hit(key, rate, now)
        if not decision.allowed:
            self._refused.inc()
        return decision


class CountedUploads:
    """A :class:`MediaRepository` (the upload's) that counts the media it adds, and their bytes."""

    def __init__(self, inner: MediaRepository, metrics: DomainMetrics) -> None:
        self._inner = inner
        self._uploads = metrics.uploads
        self._bytes = metrics.upload_bytes

    async def add(self, media: Media) -> None:
        await self._inner.add(media)
        self._uploads.inc()
        self._bytes.inc(media.size_bytes)

    async def get(self, media_id: str) -> Media | None:
        return await self._inner.get(media_id)

    async def list_page(self, limit: int, after: tuple[datetime, str] | None) -> list[Media]:
        return await self._inner.list_page(limit, after)

    async def delete(self, media_id: str) -> Media | None:
        return await self._inner.delete(media_id)

    async def set_details(self, media_id: str, info: MediaInfo, poster: Poster | None) -> bool:
        return await self._inner.set_details(media_id, info, poster)


class CountedAnalyticsCache:
    """An :class:`AnalyticsCache` that counts its lookups as hits or misses."""

    def __init__(self, inner: AnalyticsCache, metrics: DomainMetrics) -> None:
        self._inner = inner
        self._hits = metrics.cache_hits
        self._misses = metrics.cache_misses

    async def lookup(self, media_id: str, days: DayRange) -> CacheLookup:
        try:
            found = await self._inner.lookup(media_id, days)
        except Unavailable:
            self._misses.inc()
            raise
        (self._misses if found.report is None else self._hits).inc()
        return found

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        await self._inner.put(report, days, generation)

    async def invalidate(self, media_id: str) -> None:
        await self._inner.invalidate(media_id)


def _each_stands_in_for_its_port(
    metrics: DomainMetrics,
    views: ViewLog,
    limiter: RateLimiter,
    media: MediaRepository,
    cache: AnalyticsCache,
) -> tuple[ViewLog, RateLimiter, MediaRepository, AnalyticsCache]:
    """Never called: mypy checks here that each decorator has all of its port's methods
    (the container's providers are untyped, so a port method added later and missing
    here would otherwise only show when called)."""
    return (
        CountedViewLog(views, metrics),
        CountedViewLimiter(limiter, metrics),
        CountedUploads(media, metrics),
        CountedAnalyticsCache(cache, metrics),
    )
