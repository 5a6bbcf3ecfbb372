"""The ViewLog contract, run against every implementation."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.tables import view_days, view_totals
from klantroef_adapters.sql.tables import views as view_rows
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import Unavailable, UnknownMedia
from tests.factories import (
    MEDIA_STORES,
    MediaAndViews,
    make_media,
    make_view,
    new_id,
    open_media_and_views,
)
from tests.sql_engines import mariadb_engine

MIDNIGHT = datetime(2025, 6, 1, tzinfo=UTC)
NAIVE_MIDNIGHT = MIDNIGHT.replace(tzinfo=None)  # as stored
DAY_BEFORE, DAY_OF, DAY_AFTER = date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2)


@pytest.fixture(params=MEDIA_STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaAndViews]:
    async with open_media_and_views(request.param, tmp_path) as opened:
        yield opened


async def a_media_id(store: MediaAndViews) -> str:
    item = make_media()
    await store.media.add(item)
    return item.id


def counts(report: Analytics) -> tuple[int, int, tuple[tuple[date, int], ...]]:
    return report.total_views, report.unique_ips, report.views_per_day


async def test_an_item_never_viewed_reports_zeros(store: MediaAndViews) -> None:
    media_id = await a_media_id(store)

    report = await store.views.report(media_id, DayRange())

    assert report == Analytics(media_id, total_views=0, unique_ips=0, views_per_day=())


async def test_an_unknown_or_malformed_id_reports_zeros(store: MediaAndViews) -> None:
    for media_id in (new_id(), "not-a-uuid", "x" * 500):
        assert counts(await store.views.report(media_id, DayRange())) == (0, 0, ())


async def test_every_view_counts_and_each_client_counts_once(store: MediaAndViews) -> None:
    media_id = await a_media_id(store)
    for client in ("198.51.100.1", "198.51.100.2", "198.51.100.1", "2001:db8::1"):
        await store.views.record(make_view(media_id, client=client, viewed_at=MIDNIGHT))

    report = await store.views.report(media_id, DayRange())

    assert report.media_id == media_id
    assert counts(report) == (4, 3, ((DAY_OF, 4),))


async def test_views_of_one_item_do_not_count_for_another(store: MediaAndViews) -> None:
    viewed, other = await a_media_id(store), await a_media_id(store)
    await store.views.record(make_view(viewed))

    assert counts(await store.views.report(other, DayRange())) == (0, 0, ())
    assert (await store.views.report(viewed, DayRange())).total_views == 1


async def test_views_split_at_utc_midnight_whatever_the_zone(store: MediaAndViews) -> None:
    media_id = await a_media_id(store)
    amsterdam_summer = timezone(timedelta(hours=2))
    moments = [
        MIDNIGHT - timedelta(microseconds=1),  # last instant of the day before
        MIDNIGHT,
        MIDNIGHT.astimezone(amsterdam_summer),  # 02:00 local, still the same UTC day
        (MIDNIGHT - timedelta(hours=1)).astimezone(amsterdam_summer),  # 01:00 local, day before
        MIDNIGHT + timedelta(days=1, seconds=1),
    ]
    for moment in moments:
        await store.views.record(make_view(media_id, viewed_at=moment))

    report = await store.views.report(media_id, DayRange())

    assert report.views_per_day == ((DAY_BEFORE, 2), (DAY_OF, 2), (DAY_AFTER, 1))


async def test_a_day_range_picks_days_but_leaves_totals_whole(store: MediaAndViews) -> None:
    media_id = await a_media_id(store)
    for day_offset, client in [(-1, "a"), (0, "b"), (0, "c"), (1, "d")]:
        await store.views.record(
            make_view(media_id, client=client, viewed_at=MIDNIGHT + timedelta(days=day_offset))
        )

    async def per_day(days: DayRange) -> Analytics:
        return await store.views.report(media_id, days)

    assert counts(await per_day(DayRange(DAY_OF, DAY_OF))) == (4, 4, ((DAY_OF, 2),))
    assert (await per_day(DayRange(first=DAY_OF))).views_per_day == ((DAY_OF, 2), (DAY_AFTER, 1))
    assert (await per_day(DayRange(last=DAY_OF))).views_per_day == ((DAY_BEFORE, 1), (DAY_OF, 2))
    outside = DayRange(date(2030, 1, 1), date(2030, 12, 31))
    assert counts(await per_day(outside)) == (4, 4, ())


async def test_a_view_of_an_unknown_item_is_not_found(store: MediaAndViews) -> None:
    await a_media_id(store)

    for media_id in (new_id(), "not-a-uuid", "x" * 500):
        with pytest.raises(UnknownMedia):
            await store.views.record(make_view(media_id))


async def test_concurrent_views_are_neither_lost_nor_double_counted(
    store: MediaAndViews,
) -> None:
    media_id = await a_media_id(store)
    views = [
        make_view(
            media_id,
            client=f"198.51.100.{n % 20}",
            viewed_at=MIDNIGHT + timedelta(hours=n % 3 * 12, microseconds=n),
        )
        for n in range(200)
    ]

    await asyncio.gather(*(store.views.record(view) for view in views))

    report = await store.views.report(media_id, DayRange())
    assert (report.total_views, report.unique_ips) == (200, 20)
    assert report.views_per_day == ((DAY_OF, 134), (DAY_AFTER, 66))


# Views over four UTC days around two midnights, seen from several zones.
ZONES = [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30))]
view_plans = st.lists(
    st.tuples(
        st.integers(0, 2),  # which media item
        st.sampled_from(["198.51.100.1", "198.51.100.2", "2001:db8::7", "203.0.113.9"]),
        st.integers(0, 4 * 24 * 3600 - 1).map(lambda s: MIDNIGHT + timedelta(seconds=s)),
        st.sampled_from(ZONES),
    ),
    max_size=30,
)
range_ends = st.none() | st.sampled_from(
    [MIDNIGHT.date() + timedelta(days=n) for n in range(-1, 5)]
)
day_ranges = (
    st.tuples(range_ends, range_ends)
    .filter(lambda ends: not (ends[0] and ends[1] and ends[0] > ends[1]))
    .map(lambda ends: DayRange(*ends))
)


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


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=view_plans, days=day_ranges)
async def test_reports_equal_a_recount_of_the_raw_views(
    store: MediaAndViews, plan: list[tuple[int, str, datetime, timezone]], days: DayRange
) -> None:
    fresh = await store.fresh()
    media_ids = [await a_media_id(fresh) for _ in range(3)]
    views = [
        View(media_ids[which], client, moment.astimezone(zone))
        for which, client, moment, zone in plan
    ]

    for view in views:
        await fresh.views.record(view)

    for media_id in media_ids:
        assert await fresh.views.report(media_id, days) == recount(views, media_id, days)


# What only the SQL implementations must handle: lost lock races and lost servers.


async def test_a_view_that_loses_a_deadlock_is_retried_and_counted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="klantroef_adapters.sql.view_log")
    async with mariadb_engine() as engine:
        media, views = SqlMediaRepository(engine), SqlViewLog(engine)
        item = make_media()
        await media.add(item)
        await views.record(make_view(item.id, viewed_at=MIDNIGHT))
        assert isinstance(engine, AsyncEngine)  # MariaDB: the real async engine
        async with engine.connect() as rival:
            await rival.begin()
            # Weigh the rival down, so InnoDB picks the view as the deadlock victim.
            await rival.execute(
                insert(view_rows),
                [
                    {"media_id": item.id, "client": f"r{n}", "viewed_at": NAIVE_MIDNIGHT}
                    for n in range(100)
                ],
            )
            mine = view_totals.c.media_id == item.id
            await rival.execute(update(view_totals).where(mine).values(total_views=0))
            recording = asyncio.create_task(views.record(make_view(item.id, viewed_at=MIDNIGHT)))
            await asyncio.sleep(0.3)  # the view holds its day row now, and waits for the totals
            await rival.execute(
                update(view_days).where(view_days.c.media_id == item.id).values(views=0)
            )
            await rival.rollback()
        await recording

        assert counts(await views.report(item.id, DayRange())) == (2, 1, ((DAY_OF, 2),))
        assert any("lost a lock race" in message for message in caplog.messages)


async def test_an_unreachable_database_is_unavailable() -> None:
    engine = create_engine("mysql+aiomysql://root@127.0.0.1:9/nowhere")  # nothing listens on 9
    try:
        views, media = SqlViewLog(engine), SqlMediaRepository(engine)
        with pytest.raises(Unavailable):
            await views.record(make_view(new_id()))
        with pytest.raises(Unavailable):
            await views.report(new_id(), DayRange())
        with pytest.raises(Unavailable):
            await media.get(new_id())
        with pytest.raises(Unavailable):
            await media.list_page(10, None)
    finally:
        await engine.dispose()
