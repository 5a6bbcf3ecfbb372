"""FileUpload: what a Python caller hands UploadMedia instead of a form."""

from __future__ import annotations

from pathlib import Path

import pytest

from klantroef_app import Settings, in_memory
from klantroef_core.domain.media import MediaType
from klantroef_core.errors import InvalidInput
from klantroef_core.use_cases.file_upload import FileUpload
from tests.media_samples import audio_m4a, media_file

SETTINGS = Settings(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1)


async def stored(upload: FileUpload) -> tuple[str, MediaType, bytes]:
    klantroef = in_memory(SETTINGS)
    media = await klantroef.upload_media()(upload, "admin-1")
    link = await klantroef.issue_stream_link()(media.id)
    stream = await klantroef.open_stream()(media.id, link.token)
    data = b"".join([chunk async for chunk in stream.read(0, media.size_bytes - 1)])
    return media.title, media.type, data


async def test_chunks_are_stored_in_order_and_titled_after_the_file_name() -> None:
    data = media_file(300_000)
    parts = [data[:1000], data[1000:200_000], data[200_000:]]

    title, kind, back = await stored(FileUpload.from_chunks(parts, filename="Opening night.mp4"))

    assert (title, kind, back) == ("Opening night", MediaType.VIDEO, data)


async def test_a_path_is_read_in_chunks_and_its_title_and_type_win(tmp_path: Path) -> None:
    path = tmp_path / "song.m4a"
    path.write_bytes(audio_m4a(50_000))

    upload = FileUpload.from_path(path, title="A song", type=MediaType.AUDIO, chunk_size=4096)
    title, kind, back = await stored(upload)

    assert (title, kind, back) == ("A song", MediaType.AUDIO, path.read_bytes())


async def test_a_type_that_contradicts_the_bytes_is_refused_before_storing() -> None:
    upload = FileUpload.from_chunks([media_file(10_000)], type=MediaType.AUDIO)
    with pytest.raises(InvalidInput) as caught:
        await stored(upload)
    assert caught.value.code == "type_mismatch"
