"""The HLS use cases from the composition root, in memory, when packaging cannot answer."""

from __future__ import annotations

import pytest

from klantroef_app import Container
from klantroef_core.domain.hls import HlsPackage
from klantroef_core.domain.media import Media
from klantroef_core.errors import BlobMissing, Forbidden, NotFound, Unavailable
from klantroef_core.use_cases.file_upload import FileUpload
from tests import worlds
from tests.media_samples import media_file

ADMIN_ID = "00000000-0000-4000-8000-aaaaaaaaaaaa"


class DownPackager:
    """A packager whose store cannot be reached (what PyAvPackager raises then)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def package(self, media: Media) -> HlsPackage:
        raise self.error

    async def known(self, media: Media) -> HlsPackage | str | None:
        raise self.error

    async def delete(self, media: Media) -> None:
        raise self.error


async def uploaded(world: Container) -> Media:
    upload = FileUpload.from_chunks([media_file(4000)], title="clip")
    media: Media = await world.upload_media()(upload, ADMIN_ID)
    return media


async def test_a_packager_that_is_down_costs_the_link_nothing_but_hls() -> None:
    world = worlds.world(media_packager=DownPackager(Unavailable("store down")))
    media = await uploaded(world)

    links = await world.issue_playback_links()(media.id)

    assert links.hls is False
    assert links.issued.token
    with pytest.raises(Unavailable):
        await world.open_hls_playlist()(media.id, links.issued.token)


async def test_missing_bytes_are_media_bytes_missing_and_no_hls() -> None:
    world = worlds.world(media_packager=DownPackager(BlobMissing("gone")))
    media = await uploaded(world)

    links = await world.issue_playback_links()(media.id)

    assert links.hls is False
    with pytest.raises(NotFound) as missing:
        await world.open_hls_segment()(media.id, "init.mp4", links.issued.token)
    assert missing.value.code == "media_bytes_missing"


async def test_deleting_an_item_survives_a_packager_that_is_down() -> None:
    world = worlds.world(media_packager=DownPackager(Unavailable("store down")))
    media = await uploaded(world)
    token = (await world.issue_playback_links()(media.id)).issued.token

    await world.delete_media()(media.id)

    with pytest.raises(NotFound):
        await world.get_media()(media.id)
    with pytest.raises(NotFound):  # the token no longer opens anything
        await world.open_hls_playlist()(media.id, token)


async def test_the_token_is_checked_before_anything_is_looked_up() -> None:
    world = worlds.world(media_packager=DownPackager(Unavailable("store down")))
    with pytest.raises(Forbidden) as refused:
        await world.open_hls_segment()("no-such-item", "init.mp4", "not-a-token")
    assert refused.value.code == "token_invalid"
