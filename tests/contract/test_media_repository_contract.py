"""The MediaRepository contract, run against every implementation."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.views import DayRange
from klantroef_core.errors import AlreadyExists, UnknownMedia
from tests.factories import (
    A_MOMENT,
    MEDIA_STORES,
    MediaAndViews,
    make_media,
    make_view,
    new_id,
    open_media_and_views,
)


@pytest.fixture(params=MEDIA_STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaAndViews]:
    async with open_media_and_views(request.param, tmp_path) as opened:
        yield opened


def newest_first(items: list[Media]) -> list[Media]:
    return sorted(items, key=lambda item: (item.created_at, item.id), reverse=True)


async def every_page(store: MediaAndViews, limit: int) -> list[list[Media]]:
    pages: list[list[Media]] = []
    after = None
    while True:
        page = await store.media.list_page(limit, after)
        if not page:
            return pages
        assert len(page) <= limit
        pages.append(page)
        after = (page[-1].created_at, page[-1].id)


async def test_an_added_item_comes_back_unchanged(store: MediaAndViews) -> None:
    item = make_media(
        title="Zoë's interview, part 2",
        media_type=MediaType.AUDIO,
        content_type="audio/mpeg",
        size_bytes=5_000_000_000,
    )
    await store.media.add(item)

    found = await store.media.get(item.id)

    assert found == item
    assert found is not None
    assert found.created_at.utcoffset() == timedelta(0)
    assert found.created_at.microsecond == item.created_at.microsecond


async def test_a_time_in_another_zone_is_kept_as_the_same_instant(store: MediaAndViews) -> None:
    item = make_media(created_at=A_MOMENT.astimezone(timezone(timedelta(hours=-7))))
    await store.media.add(item)

    found = await store.media.get(item.id)

    assert found is not None
    assert found.created_at == A_MOMENT


async def test_an_unknown_id_finds_nothing(store: MediaAndViews) -> None:
    await store.media.add(make_media())

    assert await store.media.get(new_id()) is None


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "not-a-uuid",
        "x" * 37,
        "x" * 5000,
        "🎬" * 9,
        "abc\x00def",
        "\ud800",
        "' OR '1'='1",
        "%",
    ],
)
async def test_a_malformed_id_finds_nothing_and_raises_nothing(
    store: MediaAndViews, malformed: str
) -> None:
    await store.media.add(make_media())

    assert await store.media.get(malformed) is None
    assert await store.media.delete(malformed) is None


async def test_an_id_differing_only_in_case_or_spaces_finds_nothing(store: MediaAndViews) -> None:
    item = make_media(media_id="abcdef00-0000-4000-8000-00000000000a")
    await store.media.add(item)

    assert await store.media.get(item.id.upper()) is None
    assert await store.media.get(item.id[:-1] + " ") is None
    assert await store.media.delete(item.id.upper()) is None
    assert await store.media.get(item.id) == item


async def test_adding_an_id_twice_is_a_conflict(store: MediaAndViews) -> None:
    item = make_media()
    await store.media.add(item)

    with pytest.raises(AlreadyExists):
        await store.media.add(item)


async def test_an_empty_catalogue_has_an_empty_first_page(store: MediaAndViews) -> None:
    assert await store.media.list_page(10, None) == []


async def test_items_with_one_timestamp_page_by_id_descending(store: MediaAndViews) -> None:
    items = [make_media() for _ in range(25)]
    for item in items:
        await store.media.add(item)

    pages = await every_page(store, limit=7)

    assert [len(page) for page in pages] == [7, 7, 7, 4]
    assert [item for page in pages for item in page] == newest_first(items)


async def test_items_page_newest_first_across_mixed_timestamps(store: MediaAndViews) -> None:
    rng = random.Random(25)
    items = [
        make_media(created_at=A_MOMENT + timedelta(microseconds=rng.choice([0, 1, 2, 1000, 10**6])))
        for _ in range(25)
    ]
    for item in rng.sample(items, len(items)):
        await store.media.add(item)

    for limit in (1, 4, 25, 100):
        pages = await every_page(store, limit)
        assert [item for page in pages for item in page] == newest_first(items)


async def test_a_page_starts_strictly_after_its_cursor(store: MediaAndViews) -> None:
    items = newest_first([make_media(created_at=A_MOMENT + timedelta(seconds=n)) for n in range(5)])
    for item in items:
        await store.media.add(item)
    cursor = (items[1].created_at, items[1].id)

    assert await store.media.list_page(2, cursor) == items[2:4]
    await store.media.delete(items[1].id)
    assert await store.media.list_page(10, cursor) == items[2:]
    assert await store.media.list_page(10, (items[-1].created_at, items[-1].id)) == []
    assert await store.media.list_page(0, None) == []


async def test_deleting_returns_the_item_and_forgets_it(store: MediaAndViews) -> None:
    item, kept = make_media(), make_media()
    await store.media.add(item)
    await store.media.add(kept)

    assert await store.media.delete(item.id) == item

    assert await store.media.get(item.id) is None
    assert await store.media.delete(item.id) is None
    assert await store.media.list_page(10, None) == [kept]


async def test_deleting_an_unknown_id_returns_none(store: MediaAndViews) -> None:
    assert await store.media.delete(new_id()) is None


async def test_deleting_an_item_forgets_its_views_and_only_its_views(
    store: MediaAndViews,
) -> None:
    item, other = make_media(), make_media()
    await store.media.add(item)
    await store.media.add(other)
    for client in ("198.51.100.1", "198.51.100.2"):
        await store.views.record(make_view(item.id, client=client))
        await store.views.record(make_view(other.id, client=client))

    await store.media.delete(item.id)

    gone = await store.views.report(item.id, DayRange())
    assert (gone.total_views, gone.unique_ips, gone.views_per_day) == (0, 0, ())
    kept = await store.views.report(other.id, DayRange())
    assert (kept.total_views, kept.unique_ips) == (2, 2)


async def test_an_item_added_again_after_delete_starts_with_no_views(
    store: MediaAndViews,
) -> None:
    item = make_media()
    await store.media.add(item)
    await store.views.record(make_view(item.id))
    await store.media.delete(item.id)

    with pytest.raises(UnknownMedia):
        await store.views.record(make_view(item.id))
    await store.media.add(item)

    report = await store.views.report(item.id, DayRange())
    assert (report.total_views, report.unique_ips, report.views_per_day) == (0, 0, ())


async def test_a_delete_racing_views_leaves_nothing_counted(store: MediaAndViews) -> None:
    item = make_media()
    await store.media.add(item)

    async def view(n: int) -> bool:
        try:
            await store.views.record(make_view(item.id, client=f"198.51.100.{n % 7}"))
        except UnknownMedia:
            return False
        return True

    recorded = [view(n) for n in range(60)]
    outcomes = await asyncio.gather(*recorded[:30], store.media.delete(item.id), *recorded[30:])

    assert outcomes[30] == item
    report = await store.views.report(item.id, DayRange())
    assert (report.total_views, report.unique_ips, report.views_per_day) == (0, 0, ())
