"""The ViewLog contract."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings

from klantroef_adapters.testing._base import ContractBase
from klantroef_adapters.testing.samples import a_media, a_view, new_id
from klantroef_adapters.testing.strategies import day_ranges, view_streams
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import Unavailable, UnknownMedia
from klantroef_core.ports import MediaRepository, ViewLog

MIDNIGHT = datetime(2025, 6, 1, tzinfo=UTC)
DAY_BEFORE, DAY_OF, DAY_AFTER = date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2)
UNKNOWN_OR_MALFORMED = ("not-a-uuid", "x" * 500, "")
PLACEHOLDERS = ("item-0", "item-1", "item-2")


def counts(report: Analytics) -> tuple[int, int, tuple[tuple[date, int], ...]]:
    return report.total_views, report.unique_ips, report.views_per_day


def recount(views: list[View], media_id: str, days: DayRange) -> Analytics:
    """The analytics the slow way: from the raw list of views."""
    mine = [view for view in views if view.media_id == media_id]
    per_day = Counter(view.viewed_at.astimezone(UTC).date() for view in mine)
    return Analytics(
        media_id,
        total_views=len(mine),
        unique_ips=len({view.client for view in mine}),
        views_per_day=tuple(sorted((d, n) for d, n in per_day.items() if days.contains(d))),
    )


class ViewLogContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.ViewLog`, one test (or more) each.

    Subclass it as ``Test<YourLog>`` and provide:

    - ``adapter``: an async fixture giving a fresh, empty view log;
    - ``media_repository``: the :class:`~klantroef_core.ports.MediaRepository`
      over the same store, in which the tests add the items they view (a view
      log refuses views of items that do not exist). It defaults to an
      :class:`~klantroef_adapters.memory.InMemoryMediaRepository`; build an
      in-memory log over it by asking for it in ``adapter``;
    - optionally ``unreachable_adapter`` (see :class:`ContractBase`).
    """

    @pytest.fixture
    def media_repository(self) -> MediaRepository:
        from klantroef_adapters.memory.media_repository import InMemoryMediaRepository

        return InMemoryMediaRepository()

    @staticmethod
    async def a_media_id(media_repository: MediaRepository) -> str:
        item = a_media()
        await media_repository.add(item)
        return item.id

    # --- never viewed, unknown and malformed ids report zeros ---

    async def test_an_item_never_viewed_reports_zeros(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        media_id = await self.a_media_id(media_repository)

        report = await adapter.report(media_id, DayRange())

        assert report == Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())

    async def test_an_unknown_or_malformed_id_reports_zeros(self, adapter: ViewLog) -> None:
        for media_id in (new_id(), *UNKNOWN_OR_MALFORMED):
            report = await adapter.report(media_id, DayRange())
            assert report == Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())

    # --- every view counts once, each client once, only for its own item ---

    async def test_every_view_counts_and_each_client_counts_once(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        media_id = await self.a_media_id(media_repository)
        for client in ("198.51.100.1", "198.51.100.2", "198.51.100.1", "2001:db8::1"):
            await adapter.record(a_view(media_id, client=client, viewed_at=MIDNIGHT))

        report = await adapter.report(media_id, DayRange())

        assert report.media_id == media_id
        assert counts(report) == (4, 3, ((DAY_OF, 4),))

    async def test_views_of_one_item_do_not_count_for_another(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        viewed = await self.a_media_id(media_repository)
        other = await self.a_media_id(media_repository)
        await adapter.record(a_view(viewed))

        assert counts(await adapter.report(other, DayRange())) == (0, 0, ())
        assert (await adapter.report(viewed, DayRange())).total_views == 1

    # --- views count for their UTC day, whatever the zone ---

    async def test_views_split_at_utc_midnight_whatever_the_zone(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        media_id = await self.a_media_id(media_repository)
        amsterdam_summer = timezone(timedelta(hours=2))
        moments = [
            MIDNIGHT - timedelta(microseconds=1),  # last instant of the day before
            MIDNIGHT,
            MIDNIGHT.astimezone(amsterdam_summer),  # 02:00 local, still the same UTC day
            (MIDNIGHT - timedelta(hours=1)).astimezone(amsterdam_summer),  # 01:00 local
            MIDNIGHT + timedelta(days=1, seconds=1),
        ]
        for moment in moments:
            await adapter.record(a_view(media_id, viewed_at=moment))

        report = await adapter.report(media_id, DayRange())

        assert report.views_per_day == ((DAY_BEFORE, 2), (DAY_OF, 2), (DAY_AFTER, 1))

    # --- a day range narrows the per-day counts but never the totals ---

    async def test_a_day_range_picks_days_but_leaves_totals_whole(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        media_id = await self.a_media_id(media_repository)
        for day_offset, client in [(-1, "a"), (0, "b"), (0, "c"), (1, "d")]:
            await adapter.record(
                a_view(media_id, client=client, viewed_at=MIDNIGHT + timedelta(days=day_offset))
            )

        async def per_day(days: DayRange) -> Analytics:
            return await adapter.report(media_id, days)

        assert counts(await per_day(DayRange(DAY_OF, DAY_OF))) == (4, 4, ((DAY_OF, 2),))
        assert (await per_day(DayRange(first=DAY_OF))).views_per_day == (
            (DAY_OF, 2),
            (DAY_AFTER, 1),
        )
        assert (await per_day(DayRange(last=DAY_OF))).views_per_day == (
            (DAY_BEFORE, 1),
            (DAY_OF, 2),
        )
        outside = DayRange(date(2030, 1, 1), date(2030, 12, 31))
        assert counts(await per_day(outside)) == (4, 4, ())

    # --- a view of an item not in the media repository raises UnknownMedia ---

    async def test_a_view_of_an_unknown_item_is_not_found(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        await self.a_media_id(media_repository)

        for media_id in (new_id(), *UNKNOWN_OR_MALFORMED[:2]):
            with pytest.raises(UnknownMedia):
                await adapter.record(a_view(media_id))

    # --- atomic: concurrent records are neither lost nor double-counted ---

    async def test_concurrent_views_are_neither_lost_nor_double_counted(
        self, adapter: ViewLog, media_repository: MediaRepository
    ) -> None:
        media_id = await self.a_media_id(media_repository)
        views = [
            a_view(
                media_id,
                client=f"198.51.100.{n % 20}",
                viewed_at=MIDNIGHT + timedelta(hours=n % 3 * 12, microseconds=n),
            )
            for n in range(200)
        ]

        await asyncio.gather(*(adapter.record(view) for view in views))

        report = await adapter.report(media_id, DayRange())
        assert (report.total_views, report.unique_ips) == (200, 20)
        assert report.views_per_day == ((DAY_OF, 134), (DAY_AFTER, 66))

    # --- every report equals a recount of the raw views ---

    @settings(
        max_examples=25,
        deadline=None,
        # One adapter serves every example (each uses fresh items), and each subclass
        # runs this inherited method on an instance of its own.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(plan=view_streams(PLACEHOLDERS, start=MIDNIGHT), days=day_ranges(DAY_BEFORE, 6))
    async def test_reports_equal_a_recount_of_the_raw_views(
        self,
        adapter: ViewLog,
        media_repository: MediaRepository,
        plan: list[View],
        days: DayRange,
    ) -> None:
        # One adapter serves every example, so each example views items of its own.
        media_ids = {name: await self.a_media_id(media_repository) for name in PLACEHOLDERS}
        views = [View(media_ids[v.media_id], v.client, v.viewed_at) for v in plan]

        for view in views:
            await adapter.record(view)

        for media_id in media_ids.values():
            assert await adapter.report(media_id, days) == recount(views, media_id, days)

    # --- when the store cannot be reached, every method raises Unavailable ---

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: ViewLog
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.record(a_view(new_id()))
        with pytest.raises(Unavailable):
            await unreachable_adapter.report(new_id(), DayRange())
