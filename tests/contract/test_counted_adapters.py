"""The counting decorators keep every promise of the port they wrap (the shipped contract
suites, run over a counted in-memory adapter), and count what their calls tell."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.observed import (
    CountedAnalyticsCache,
    CountedUploads,
    CountedViewLimiter,
    CountedViewLog,
    DomainMetrics,
)
from klantroef_adapters.testing import (
    AnalyticsCacheContract,
    MediaRepositoryContract,
    RateLimiterContract,
    ViewLogContract,
)
from klantroef_adapters.testing.analytics_cache import LetTtlPass
from klantroef_adapters.testing.samples import a_media, a_view
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.views import DayRange
from klantroef_core.errors import Unavailable
from tests.unreachable import UnreachableCache

TTL = 600.0


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> DomainMetrics:
    return DomainMetrics(registry)


def count(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


class TestCountedAnalyticsCache(AnalyticsCacheContract):
    @pytest.fixture
    def ticks(self) -> list[float]:
        return [0.0]

    @pytest.fixture
    async def adapter(self, ticks: list[float], metrics: DomainMetrics) -> CountedAnalyticsCache:
        return CountedAnalyticsCache(
            InMemoryAnalyticsCache(ttl=TTL, monotonic=lambda: ticks[0]), metrics
        )

    @pytest.fixture
    def let_ttl_pass(self, ticks: list[float]) -> LetTtlPass:
        async def let_pass() -> None:
            ticks[0] += TTL

        return let_pass


class TestCountedViewLog(ViewLogContract):
    @pytest.fixture
    async def adapter(
        self, media_repository: InMemoryMediaRepository, metrics: DomainMetrics
    ) -> CountedViewLog:
        return CountedViewLog(InMemoryViewLog(media_repository), metrics)


class TestCountedViewLimiter(RateLimiterContract):
    @pytest.fixture
    async def adapter(self, metrics: DomainMetrics) -> CountedViewLimiter:
        return CountedViewLimiter(InMemoryRateLimiter(), metrics)


class TestCountedUploads(MediaRepositoryContract):
    @pytest.fixture
    async def inner(self) -> InMemoryMediaRepository:
        return InMemoryMediaRepository()

    @pytest.fixture
    async def adapter(
        self, inner: InMemoryMediaRepository, metrics: DomainMetrics
    ) -> CountedUploads:
        return CountedUploads(inner, metrics)

    @pytest.fixture
    def view_log(self, inner: InMemoryMediaRepository) -> InMemoryViewLog:
        return InMemoryViewLog(inner)


async def test_each_decorator_counts_what_its_calls_tell(
    registry: CollectorRegistry, metrics: DomainMetrics
) -> None:
    media_repository = InMemoryMediaRepository()
    uploads = CountedUploads(media_repository, metrics)
    first, second = a_media(size_bytes=1000), a_media(size_bytes=234)
    await uploads.add(first)
    await uploads.add(second)
    await uploads.delete(first.id)  # a deletion is no upload
    assert count(registry, "klantroef_uploads_total") == 2
    assert count(registry, "klantroef_upload_bytes_total") == 1234

    views = CountedViewLog(InMemoryViewLog(media_repository), metrics)
    await views.record(a_view(second.id))
    await views.report(second.id, DayRange())
    assert count(registry, "klantroef_views_total") == 1

    limiter = CountedViewLimiter(InMemoryRateLimiter(), metrics)
    for _ in range(5):
        await limiter.hit("view:x:y", Rate(3, 60.0), 1.0)
    assert count(registry, "klantroef_views_rate_limited_total") == 2

    cache = CountedAnalyticsCache(InMemoryAnalyticsCache(ttl=TTL), metrics)
    looked = await cache.lookup(second.id, DayRange())
    await cache.put(await views.report(second.id, DayRange()), DayRange(), looked.generation)
    await cache.lookup(second.id, DayRange())
    await cache.invalidate(second.id)
    await cache.lookup(second.id, DayRange())
    name = "klantroef_analytics_cache_requests_total"
    assert (count(registry, name, result="hit"), count(registry, name, result="miss")) == (1, 2)


async def test_an_unreachable_cache_is_counted_as_a_miss(
    registry: CollectorRegistry, metrics: DomainMetrics
) -> None:
    cache = CountedAnalyticsCache(UnreachableCache(), metrics)
    with pytest.raises(Unavailable):
        await cache.lookup("m", DayRange())
    name = "klantroef_analytics_cache_requests_total"
    assert (count(registry, name, result="hit"), count(registry, name, result="miss")) == (0, 1)
