"""The MediaRepository contract."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import timedelta, timezone

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_adapters.testing.samples import (
    A_MOMENT,
    AUDIO_INFO,
    VIDEO_INFO,
    a_media,
    a_poster,
    a_view,
    new_id,
)
from klantroef_core.domain.media import Media, MediaType
from klantroef_core.domain.views import DayRange
from klantroef_core.errors import AlreadyExists, Unavailable, UnknownMedia
from klantroef_core.ports import MediaRepository, ViewLog

MALFORMED_IDS = [
    "",
    "not-a-uuid",
    "x" * 37,
    "x" * 5000,
    "🎬" * 9,
    "abc\x00def",
    "\ud800",
    "' OR '1'='1",
    "%",
]


def newest_first(items: list[Media]) -> list[Media]:
    return sorted(items, key=lambda item: (item.created_at, item.id), reverse=True)


async def every_page(repository: MediaRepository, limit: int) -> list[list[Media]]:
    """Walk the catalogue by cursor; each page must respect the limit."""
    pages: list[list[Media]] = []
    after = None
    while True:
        page = await repository.list_page(limit, after)
        if not page:
            return pages
        assert len(page) <= limit
        pages.append(page)
        after = (page[-1].created_at, page[-1].id)


class MediaRepositoryContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.MediaRepository`, one test (or more) each.

    Subclass it as ``Test<YourRepository>`` and provide:

    - ``adapter``: an async fixture giving a fresh, empty repository;
    - ``view_log``: a fixture giving the :class:`~klantroef_core.ports.ViewLog`
      over the same store (the same database; for the memory adapters,
      ``InMemoryViewLog(adapter)``), since a delete must take the item's views along;
    - optionally ``unreachable_adapter`` (see :class:`ContractBase`).
    """

    # --- an added item comes back equal, to the microsecond, as the same instant ---

    async def test_an_added_item_comes_back_unchanged(self, adapter: MediaRepository) -> None:
        item = a_media(
            title="Zoë's interview, part 2",
            media_type=MediaType.AUDIO,
            content_type="audio/mpeg",
            size_bytes=5_000_000_000,
        )
        await adapter.add(item)

        found = await adapter.get(item.id)

        assert found == item
        assert found is not None
        assert found.created_at.utcoffset() == timedelta(0)
        assert found.created_at.microsecond == item.created_at.microsecond

    async def test_probed_details_and_a_poster_come_back_unchanged(
        self, adapter: MediaRepository
    ) -> None:
        video = a_media()
        video = dataclasses.replace(video, info=VIDEO_INFO, poster=a_poster(video.storage_key))
        audio = a_media(media_type=MediaType.AUDIO, content_type="audio/mpeg")
        audio = dataclasses.replace(
            audio, info=AUDIO_INFO, poster=a_poster(audio.storage_key, "image/png")
        )
        await adapter.add(video)
        await adapter.add(audio)

        assert await adapter.get(video.id) == video
        assert await adapter.get(audio.id) == audio
        assert await adapter.list_page(10, None) == newest_first([video, audio])

    async def test_set_details_replaces_info_and_poster_and_nothing_else(
        self, adapter: MediaRepository
    ) -> None:
        item, other = a_media(), a_media()
        await adapter.add(item)
        await adapter.add(other)
        poster = a_poster(item.storage_key)

        assert await adapter.set_details(item.id, VIDEO_INFO, poster) is True

        assert await adapter.get(item.id) == dataclasses.replace(
            item, info=VIDEO_INFO, poster=poster
        )
        assert await adapter.get(other.id) == other
        assert await adapter.set_details(item.id, AUDIO_INFO, None) is True
        assert await adapter.get(item.id) == dataclasses.replace(item, info=AUDIO_INFO)

    @pytest.mark.parametrize("media_id", [*MALFORMED_IDS, new_id()])
    async def test_set_details_of_an_unknown_or_malformed_id_is_false(
        self, adapter: MediaRepository, media_id: str
    ) -> None:
        item = a_media()
        await adapter.add(item)

        assert await adapter.set_details(media_id, VIDEO_INFO, None) is False
        assert await adapter.set_details(item.id.upper(), VIDEO_INFO, None) is False
        assert await adapter.get(item.id) == item

    async def test_a_time_in_another_zone_is_kept_as_the_same_instant(
        self, adapter: MediaRepository
    ) -> None:
        item = a_media(created_at=A_MOMENT.astimezone(timezone(timedelta(hours=-7))))
        await adapter.add(item)

        found = await adapter.get(item.id)

        assert found is not None
        assert found.created_at == A_MOMENT

    # --- unknown, case- or space-variant and malformed ids find nothing ---

    async def test_an_unknown_id_finds_nothing(self, adapter: MediaRepository) -> None:
        await adapter.add(a_media())

        assert await adapter.get(new_id()) is None

    @pytest.mark.parametrize("malformed", MALFORMED_IDS)
    async def test_a_malformed_id_finds_nothing_and_raises_nothing(
        self, adapter: MediaRepository, malformed: str
    ) -> None:
        await adapter.add(a_media())

        assert await adapter.get(malformed) is None
        assert await adapter.delete(malformed) is None

    async def test_an_id_differing_only_in_case_or_spaces_finds_nothing(
        self, adapter: MediaRepository
    ) -> None:
        item = a_media(media_id="abcdef00-0000-4000-8000-00000000000a")
        await adapter.add(item)

        assert await adapter.get(item.id.upper()) is None
        assert await adapter.get(item.id[:-1] + " ") is None
        assert await adapter.delete(item.id.upper()) is None
        assert await adapter.get(item.id) == item

    # --- add raises AlreadyExists for a taken id or storage key ---

    async def test_adding_an_id_twice_is_a_conflict(self, adapter: MediaRepository) -> None:
        item = a_media()
        await adapter.add(item)

        with pytest.raises(AlreadyExists):
            await adapter.add(a_media(media_id=item.id, title="Another"))
        assert await adapter.get(item.id) == item

    async def test_adding_a_taken_storage_key_is_a_conflict(self, adapter: MediaRepository) -> None:
        item = a_media()
        await adapter.add(item)
        thief = a_media(storage_key=item.storage_key)

        with pytest.raises(AlreadyExists):
            await adapter.add(thief)
        assert await adapter.get(thief.id) is None
        assert await adapter.list_page(10, None) == [item]

    # --- list_page: newest first by (created_at, id), strictly after the cursor ---

    async def test_an_empty_catalogue_has_an_empty_first_page(
        self, adapter: MediaRepository
    ) -> None:
        assert await adapter.list_page(10, None) == []

    async def test_items_with_one_timestamp_page_by_id_descending(
        self, adapter: MediaRepository
    ) -> None:
        items = [a_media() for _ in range(25)]
        for item in items:
            await adapter.add(item)

        pages = await every_page(adapter, limit=7)

        assert [len(page) for page in pages] == [7, 7, 7, 4]
        assert [item for page in pages for item in page] == newest_first(items)

    async def test_items_page_newest_first_across_mixed_timestamps(
        self, adapter: MediaRepository
    ) -> None:
        rng = random.Random(25)  # noqa: S311 (a reproducible shuffle, not a secret)
        items = [
            a_media(
                created_at=A_MOMENT + timedelta(microseconds=rng.choice([0, 1, 2, 1000, 10**6]))
            )
            for _ in range(25)
        ]
        for item in rng.sample(items, len(items)):
            await adapter.add(item)

        for limit in (1, 4, 25, 100):
            pages = await every_page(adapter, limit)
            assert [item for page in pages for item in page] == newest_first(items)

    async def test_a_page_starts_strictly_after_its_cursor(self, adapter: MediaRepository) -> None:
        items = newest_first(
            [a_media(created_at=A_MOMENT + timedelta(seconds=n)) for n in range(5)]
        )
        for item in items:
            await adapter.add(item)
        cursor = (items[1].created_at, items[1].id)

        assert await adapter.list_page(2, cursor) == items[2:4]
        await adapter.delete(items[1].id)
        assert await adapter.list_page(10, cursor) == items[2:]
        assert await adapter.list_page(10, (items[-1].created_at, items[-1].id)) == []
        assert await adapter.list_page(0, None) == []

    # --- delete returns the item, then forgets it with its views, and only its views ---

    async def test_deleting_returns_the_item_and_forgets_it(self, adapter: MediaRepository) -> None:
        item, kept = a_media(), a_media()
        await adapter.add(item)
        await adapter.add(kept)

        assert await adapter.delete(item.id) == item

        assert await adapter.get(item.id) is None
        assert await adapter.delete(item.id) is None
        assert await adapter.list_page(10, None) == [kept]

    async def test_deleting_an_unknown_id_returns_none(self, adapter: MediaRepository) -> None:
        assert await adapter.delete(new_id()) is None

    async def test_deleting_an_item_forgets_its_views_and_only_its_views(
        self, adapter: MediaRepository, view_log: ViewLog
    ) -> None:
        item, other = a_media(), a_media()
        await adapter.add(item)
        await adapter.add(other)
        for client in ("198.51.100.1", "198.51.100.2"):
            await view_log.record(a_view(item.id, client=client))
            await view_log.record(a_view(other.id, client=client))

        await adapter.delete(item.id)

        gone = await view_log.report(item.id, DayRange())
        assert (gone.total_views, gone.unique_ips, gone.views_per_day) == (0, 0, ())
        kept = await view_log.report(other.id, DayRange())
        assert (kept.total_views, kept.unique_ips) == (2, 2)

    async def test_an_item_added_again_after_delete_starts_with_no_views(
        self, adapter: MediaRepository, view_log: ViewLog
    ) -> None:
        item = a_media()
        await adapter.add(item)
        await view_log.record(a_view(item.id))
        await adapter.delete(item.id)

        with pytest.raises(UnknownMedia):
            await view_log.record(a_view(item.id))
        await adapter.add(item)

        report = await view_log.report(item.id, DayRange())
        assert (report.total_views, report.unique_ips, report.views_per_day) == (0, 0, ())

    async def test_a_delete_racing_views_leaves_nothing_counted(
        self, adapter: MediaRepository, view_log: ViewLog
    ) -> None:
        item = a_media()
        await adapter.add(item)

        async def view(n: int) -> bool:
            try:
                await view_log.record(a_view(item.id, client=f"198.51.100.{n % 7}"))
            except UnknownMedia:
                return False
            return True

        recorded = [view(n) for n in range(60)]
        outcomes = await asyncio.gather(*recorded[:30], adapter.delete(item.id), *recorded[30:])

        assert outcomes[30] == item
        report = await view_log.report(item.id, DayRange())
        assert (report.total_views, report.unique_ips, report.views_per_day) == (0, 0, ())

    # --- when the store cannot be reached, every method raises Unavailable ---

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: MediaRepository
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.add(a_media())
        with pytest.raises(Unavailable):
            await unreachable_adapter.get(new_id())
        with pytest.raises(Unavailable):
            await unreachable_adapter.list_page(10, None)
        with pytest.raises(Unavailable):
            await unreachable_adapter.delete(new_id())
        with pytest.raises(Unavailable):
            await unreachable_adapter.set_details(new_id(), VIDEO_INFO, None)
