"""RecordView and GetAnalytics from the composition root, in memory, with a fake clock."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.testing.strategies import day_ranges
from klantroef_core.domain.client_identity import ClientIdentity, IpStorage
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import InvalidInput, NotFound, RateLimited
from klantroef_core.ports import AnalyticsCache, RateDecision, RateLimiter
from klantroef_core.use_cases.views import VIEW_POLICY, GetAnalytics, RecordView
from tests import worlds
from tests.factories import make_media
from tests.fakes import FakeClock
from tests.unreachable import UnreachableCache, UnreachableLimiter

IP = "203.0.113.7"
OTHER_IP = "2001:db8::1"
BEFORE_MIDNIGHT = datetime(2025, 3, 14, 23, 59, 30, tzinfo=UTC)
EVERYTHING = DayRange()


class ObservedViewLog(InMemoryViewLog):
    """The in-memory log, keeping what it accepted and counting reports, with a hook
    that runs after a report is computed (the test's own window on the port)."""

    def __init__(self, media: InMemoryMediaRepository) -> None:
        super().__init__(media)
        self.logged: list[View] = []
        self.reports = 0
        self.after_report: Callable[[], Awaitable[None]] | None = None

    async def record(self, view: View) -> None:
        await super().record(view)
        self.logged.append(view)

    async def report(self, media_id: str, days: DayRange) -> Analytics:
        self.reports += 1
        result = await super().report(media_id, days)
        if self.after_report is not None:
            hook, self.after_report = self.after_report, None
            await hook()
        return result


class KeyRecordingLimiter(InMemoryRateLimiter):
    """The in-memory limiter, remembering every key it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()

    async def hit(self, key: str, rate: Rate, now: float) -> RateDecision:
        self.keys.add(key)
        return await super().hit(key, rate, now)


class PutRecordingCache(InMemoryAnalyticsCache):
    """The in-memory cache, remembering for which (media, days) reports were stored."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: set[tuple[str, DayRange]] = set()

    async def put(self, report: Analytics, days: DayRange, generation: int) -> None:
        self.stored.add((report.media_id, days))
        await super().put(report, days, generation)


class World:
    """The view use cases, from the composition root, with handles on what a test watches."""

    def __init__(
        self,
        *,
        rate: Rate | None = None,
        hmac_secret: str | None = None,
        limiter: RateLimiter | None = None,
        cache: AnalyticsCache | None = None,
    ) -> None:
        self.rate = rate or Rate(30, 60.0)
        self.clock = FakeClock(BEFORE_MIDNIGHT)
        self.media = InMemoryMediaRepository()
        self.views = ObservedViewLog(self.media)
        overrides: dict[str, object] = {}
        if limiter is not None:
            overrides["rate_limiter"] = limiter
        if cache is not None:
            overrides["analytics_cache"] = cache
        self.container = worlds.world(
            worlds.settings(
                view_rate=self.rate,
                ip_storage="hmac" if hmac_secret else "raw",
                ip_hash_secret=hmac_secret,
            ),
            clock=self.clock,
            media_repository=self.media,
            view_log=self.views,
            **overrides,
        )

    @property
    def record(self) -> RecordView:
        return self.container.record_view()

    @property
    def analytics(self) -> GetAnalytics:
        return self.container.get_analytics()

    async def new_media(self) -> str:
        item = make_media()
        await self.media.add(item)
        return item.id


async def test_a_view_is_logged_with_the_clocks_time_and_the_client_address() -> None:
    world = World()
    media_id = await world.new_media()

    recorded = await world.record(media_id, IP)

    assert recorded.view == View(media_id, IP, BEFORE_MIDNIGHT)
    assert world.views.logged == [recorded.view]
    assert recorded.decision is not None
    assert (recorded.decision.limit, recorded.decision.remaining) == (30, 29)
    assert recorded.rate == world.rate


async def test_a_view_of_an_unknown_item_is_not_found_and_logs_nothing() -> None:
    # The log itself refuses unknown media, so a view costs no extra lookup; the
    # price is a quota key for (unknown media, client), which expires unused.
    world = World(rate=Rate(1, 60.0))
    with pytest.raises(NotFound) as caught:
        await world.record("no-such-media", IP)
    assert caught.value.code == "media_not_found"
    assert world.views.logged == []


async def test_views_count_for_their_utc_day_across_midnight() -> None:
    world = World()
    media_id = await world.new_media()

    await world.record(media_id, IP)  # 23:59:30 on the 14th
    world.clock.advance(seconds=29.999)
    await world.record(media_id, IP)  # still the 14th
    world.clock.advance(seconds=0.001)
    await world.record(media_id, OTHER_IP)  # midnight: the 15th
    amsterdam = timezone(timedelta(hours=1))
    world.clock.set(datetime(2025, 3, 16, 0, 30, tzinfo=amsterdam))  # 23:30 UTC on the 15th
    await world.record(media_id, IP)

    report = await world.analytics(media_id, EVERYTHING)
    assert report.views_per_day == ((date(2025, 3, 14), 2), (date(2025, 3, 15), 2))
    assert (report.total_views, report.unique_ips) == (4, 2)


async def test_the_31st_view_in_a_minute_is_refused_and_not_logged() -> None:
    world = World()
    media_id = await world.new_media()
    for _ in range(30):
        await world.record(media_id, IP)
        world.clock.advance(seconds=1)

    with pytest.raises(RateLimited) as caught:
        await world.record(media_id, IP)

    refused = caught.value
    assert refused.retry_after == pytest.approx(30.0)  # the first view leaves the window then
    assert (refused.policy, refused.limit, refused.window) == (VIEW_POLICY, 30, 60.0)
    assert len(world.views.logged) == 30
    world.clock.advance(seconds=30)
    assert (await world.record(media_id, IP)).view.viewed_at == world.clock.now()


async def test_the_limit_is_per_client_and_per_item() -> None:
    world = World(rate=Rate(1, 60.0))
    first, second = await world.new_media(), await world.new_media()
    await world.record(first, IP)

    await world.record(first, OTHER_IP)
    await world.record(second, IP)
    with pytest.raises(RateLimited):
        await world.record(first, IP)


async def test_an_unreachable_limiter_lets_the_view_through_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World(limiter=UnreachableLimiter())
    media_id = await world.new_media()

    with caplog.at_level(logging.WARNING, logger="klantroef.views"):
        recorded = await world.record(media_id, IP)

    assert recorded.decision is None
    assert world.views.logged == [recorded.view]
    assert "rate limiter unreachable" in caplog.text


async def test_an_unreachable_cache_fails_neither_views_nor_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World(cache=UnreachableCache())
    media_id = await world.new_media()

    with caplog.at_level(logging.WARNING, logger="klantroef.views"):
        await world.record(media_id, IP)
        report = await world.analytics(media_id, EVERYTHING)

    assert report.total_views == 1
    assert "analytics cache unreachable" in caplog.text


async def test_analytics_of_an_unknown_item_are_not_found() -> None:
    with pytest.raises(NotFound):
        await World().analytics("no-such-media", EVERYTHING)


async def test_a_cached_report_is_served_until_the_next_view_and_never_after() -> None:
    world = World()
    media_id = await world.new_media()
    await world.record(media_id, IP)

    first = await world.analytics(media_id, EVERYTHING)
    again = await world.analytics(media_id, EVERYTHING)
    assert again == first
    assert world.views.reports == 1  # the second read came from the cache

    await world.record(media_id, OTHER_IP)
    after = await world.analytics(media_id, EVERYTHING)
    assert (after.total_views, after.unique_ips) == (2, 2)
    assert world.views.reports == 2


async def test_a_fresh_read_comes_from_the_log_and_is_cached_as_a_miss_is() -> None:
    world = World()
    media_id = await world.new_media()
    await world.record(media_id, IP)
    cached = await world.analytics(media_id, EVERYTHING)
    assert world.views.reports == 1
    # A view the cache never heard of: straight into the log, no invalidation.
    await world.views.record(View(media_id, OTHER_IP, BEFORE_MIDNIGHT))

    assert await world.analytics(media_id, EVERYTHING) == cached  # from the cache
    fresh = await world.analytics(media_id, EVERYTHING, fresh=True)
    assert (fresh.total_views, fresh.unique_ips) == (2, 2)
    assert world.views.reports == 2

    again = await world.analytics(media_id, DayRange(BEFORE_MIDNIGHT.date(), None))
    assert again.total_views == 2  # the fresh report was stored
    assert world.views.reports == 2


async def test_a_fresh_read_of_an_unknown_item_is_not_found() -> None:
    with pytest.raises(NotFound):
        await World().analytics("no-such-media", EVERYTHING, fresh=True)


async def test_a_report_computed_while_a_view_lands_is_not_kept_as_current() -> None:
    world = World()
    media_id = await world.new_media()
    await world.record(media_id, IP)

    async def a_view_lands() -> None:
        await world.record(media_id, OTHER_IP)

    world.views.after_report = a_view_lands
    racing = await world.analytics(media_id, EVERYTHING)
    assert racing.total_views == 1  # computed before the second view

    after = await world.analytics(media_id, EVERYTHING)
    assert after.total_views == 2


async def test_day_ranges_narrow_the_days_but_not_the_totals() -> None:
    world = World()
    media_id = await world.new_media()
    for _ in range(3):
        await world.record(media_id, IP)
        world.clock.advance(hours=24)

    report = await world.analytics(media_id, DayRange(date(2025, 3, 15), date(2025, 3, 15)))
    assert report.views_per_day == ((date(2025, 3, 15), 1),)
    assert report.total_views == 3
    whole = await world.analytics(media_id, EVERYTHING)
    assert len(whole.views_per_day) == 3


async def test_in_hmac_mode_neither_the_log_nor_the_limiter_holds_an_address() -> None:
    limiter = KeyRecordingLimiter()
    world = World(limiter=limiter, hmac_secret="k" * 32)
    media_id = await world.new_media()

    for ip in (IP, IP, OTHER_IP):
        await world.record(media_id, ip)

    clients = {view.client for view in world.views.logged}
    assert len(clients) == 2
    assert all(len(c) == 64 and int(c, 16) >= 0 for c in clients)
    assert not any(ip in key for key in limiter.keys for ip in (IP, OTHER_IP))
    report = await world.analytics(media_id, EVERYTHING)
    assert (report.total_views, report.unique_ips) == (3, 2)


def test_client_identities_are_stable_per_key_and_differ_across_keys() -> None:
    one = ClientIdentity(IpStorage.HMAC, b"1" * 16)
    two = ClientIdentity(IpStorage.HMAC, b"2" * 16)
    assert one.of(IP) == one.of(IP) != one.of(OTHER_IP)
    assert one.of(IP) != two.of(IP)
    assert ClientIdentity().of(IP) == IP
    assert ClientIdentity.configured("raw", None) == ClientIdentity()
    assert ClientIdentity.configured("hmac", "s" * 20).of(IP) == ClientIdentity(
        IpStorage.HMAC, b"s" * 20
    ).of(IP)
    assert "1111" not in repr(one)


@pytest.mark.parametrize(
    ("storage", "secret", "code"),
    [
        ("hmac", None, "bad_ip_hash_secret"),
        ("hmac", "short", "bad_ip_hash_secret"),
        ("md5", "x" * 20, "bad_ip_storage"),
    ],
)
def test_a_bad_ip_storage_setting_is_refused(storage: str, secret: str | None, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ClientIdentity.configured(storage, secret)
    assert caught.value.code == code


# --- property: whatever happens, every read equals a naive recount of the views so far ---

MEDIA_COUNT = 3


@dataclass(frozen=True)
class ViewOp:
    media: int
    ip: str
    gap: float  # seconds since the previous operation


@dataclass(frozen=True)
class ReadOp:
    media: int
    days: DayRange


ITEM = st.integers(0, MEDIA_COUNT - 1)
OPERATIONS = st.lists(
    st.builds(
        ViewOp,
        ITEM,
        st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.9", "2001:db8::7"]),
        st.floats(min_value=0, max_value=9 * 3600),
    )
    | st.builds(ReadOp, ITEM, day_ranges(date(2025, 3, 14), days=7)),
    max_size=40,
)


def naive(media_id: str, days: DayRange, views: list[View]) -> Analytics:
    """The report recomputed from the raw views, the obvious way."""
    mine = [v for v in views if v.media_id == media_id]
    per_day = Counter(v.viewed_at.astimezone(UTC).date() for v in mine)
    return Analytics(
        media_id,
        total_views=len(mine),
        unique_ips=len({v.client for v in mine}),
        views_per_day=tuple(sorted((d, n) for d, n in per_day.items() if days.contains(d))),
    )


@settings(max_examples=150, deadline=None)
@given(operations=OPERATIONS, hashed=st.booleans())
def test_every_read_equals_a_recount_of_the_views_so_far(
    operations: list[ViewOp | ReadOp], hashed: bool
) -> None:
    async def scenario() -> None:
        world = World(rate=Rate(1_000_000, 60.0), hmac_secret="p" * 16 if hashed else None)
        media_ids = [await world.new_media() for _ in range(MEDIA_COUNT)]
        recorded: list[View] = []
        for op in operations:
            if isinstance(op, ViewOp):
                world.clock.advance(seconds=op.gap)
                recorded.append((await world.record(media_ids[op.media], op.ip)).view)
                continue
            report = await world.analytics(media_ids[op.media], op.days)
            assert report == naive(media_ids[op.media], op.days, recorded)

    asyncio.run(scenario())


async def test_any_number_of_day_ranges_keeps_one_cached_report_per_item() -> None:
    cache = PutRecordingCache()
    world = World(cache=cache)
    media_id = await world.new_media()
    await world.record(media_id, IP)
    world.clock.advance(days=1)
    await world.record(media_id, OTHER_IP)
    first_day = BEFORE_MIDNIGHT.date()
    for offset in range(50):
        start = first_day - timedelta(days=offset)
        narrowed = await world.analytics(media_id, DayRange(start, first_day))
        assert narrowed.views_per_day == ((first_day, 1),)
        assert (narrowed.total_views, narrowed.unique_ips) == (2, 2)
    assert cache.stored == {(media_id, EVERYTHING)}
    assert world.views.reports == 1
