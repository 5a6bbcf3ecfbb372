"""HLS over the app in process: packaging, the signed playlist, its parts, refusals, deletion."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from klantroef_app.container import Container
from klantroef_core.domain.media import Media
from klantroef_core.use_cases.file_upload import FileUpload
from tests.app_support import app_client, migrated_container, signed_in
from tests.fakes import FakeClock
from tests.hls_media import audio_samples, encode, video_frames
from tests.problems import assert_problem

Client = AsyncTestClient[Any]
BASE = "http://testserver.local"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hls-samples")
    made = {
        "av": folder / "clip.mp4",
        "audio": folder / "tone.m4a",
        "mpeg4": folder / "old.mp4",
    }
    encode(made["av"], 20)
    encode(made["audio"], 9, video=None)
    encode(made["mpeg4"], 3, video="mpeg4", audio=False)
    return made


async def upload(client: Client, container: Container, path: Path) -> tuple[Media, dict[str, str]]:
    headers = await signed_in(client)
    me = (await client.get("/auth/me", headers=headers)).json()
    data = path.read_bytes()
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    media = await container.upload_media()(
        FileUpload.from_chunks(chunks, title=path.stem), me["id"]
    )
    return media, headers


async def link_of(client: Client, media: Media, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(f"/media/{media.id}/stream-url", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def part_urls(playlist: str) -> list[str]:
    init = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
    return init + [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def test_an_h264_aac_item_plays_as_hls_with_the_links_token_on_every_part(
    client: Client, container: Container, samples: dict[str, Path], tmp_path: Path
) -> None:
    media, headers = await upload(client, container, samples["av"])
    link = await link_of(client, media, headers)
    token = link["token"]
    assert link["hls_url"] == f"{BASE}/media/{media.id}/hls/index.m3u8?token={token}"

    response = await client.get(
        link["hls_url"].removeprefix(BASE), headers={"Origin": "https://tv.example"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-credentials" not in response.headers
    playlist = response.text
    assert playlist.startswith("#EXTM3U\n")
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    urls = part_urls(playlist)
    assert urls[0] == f"init.mp4?token={token}"
    assert len(urls) == 1 + 5  # 20 s cut at the 2 s keyframes into 4 s segments
    assert all(url.endswith(f"?token={token}") for url in urls)
    durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", playlist)]
    assert all(3.9 <= d <= 6.1 for d in durations[:-1])
    assert sum(durations) == pytest.approx(20, abs=0.2)
    assert "#EXT-X-TARGETDURATION:4" in playlist or "#EXT-X-TARGETDURATION:5" in playlist

    joined = tmp_path / "joined.mp4"
    with joined.open("wb") as out:
        for url in urls:
            part = await client.get(
                f"/media/{media.id}/hls/{url}", headers={"Origin": "https://tv.example"}
            )
            assert part.status_code == 200, part.text
            assert part.headers["content-type"] == "video/mp4"
            assert part.headers["access-control-allow-origin"] == "*"
            assert part.headers["accept-ranges"] == "bytes"
            assert part.headers["etag"].startswith('"')
            assert part.headers["cache-control"] == "private, max-age=0, must-revalidate"
            assert int(part.headers["content-length"]) == len(part.content)
            out.write(part.content)
    # The parts, joined, are the original's frames: nothing was re-encoded or lost.
    assert video_frames(joined) == video_frames(samples["av"])


async def test_segments_answer_ranges_and_validators_like_the_stream(
    client: Client, container: Container, samples: dict[str, Path]
) -> None:
    media, headers = await upload(client, container, samples["av"])
    token = (await link_of(client, media, headers))["token"]
    url = f"/media/{media.id}/hls/seg-00001.m4s?token={token}"
    whole = await client.get(url)
    assert whole.status_code == 200
    part = await client.get(url, headers={"Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.content == whole.content[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole.content)}"
    cached = await client.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304
    head = await client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(whole.content))
    other = await client.get(f"/media/{media.id}/hls/seg-00002.m4s?token={token}")
    assert other.headers["etag"] != whole.headers["etag"]
    assert_problem(
        await client.get(f"/media/{media.id}/hls/seg-00099.m4s?token={token}"),
        404,
        "hls_part_not_found",
    )
    for name in ("index.m3u8.json", f"{media.storage_key}.hls.json", "seg-1.m4s"):
        assert_problem(
            await client.get(f"/media/{media.id}/hls/{name}?token={token}"),
            404,
            "hls_part_not_found",
        )
    escape = await client.get(f"/media/{media.id}/hls/..%2F..%2Fsecrets.json?token={token}")
    assert escape.status_code == 404


async def test_an_aac_item_is_audio_only_hls(
    client: Client, container: Container, samples: dict[str, Path], tmp_path: Path
) -> None:
    media, headers = await upload(client, container, samples["audio"])
    link = await link_of(client, media, headers)
    playlist = (await client.get(link["hls_url"].removeprefix(BASE))).text
    joined = tmp_path / "joined.m4a"
    with joined.open("wb") as out:
        for url in part_urls(playlist):
            part = await client.get(f"/media/{media.id}/hls/{url}")
            assert part.status_code == 200
            assert part.headers["content-type"] == "audio/mp4"
            out.write(part.content)
    assert audio_samples(joined) == pytest.approx(audio_samples(samples["audio"]), abs=2048)


async def test_media_that_would_need_transcoding_is_409_and_offers_no_hls(
    client: Client, container: Container, samples: dict[str, Path]
) -> None:
    media, headers = await upload(client, container, samples["mpeg4"])
    link = await link_of(client, media, headers)
    assert "hls_url" not in link
    token = link["token"]
    response = await client.get(f"/media/{media.id}/hls/index.m3u8?token={token}")
    assert_problem(response, 409, "hls_needs_transcoding")
    assert "mpeg4" in response.json()["detail"]
    assert "transcoding" in response.json()["detail"]
    assert_problem(
        await client.get(f"/media/{media.id}/hls/init.mp4?token={token}"),
        409,
        "hls_needs_transcoding",
    )
    assert (await client.get(link["url"].removeprefix(BASE))).status_code == 200  # still streams


async def test_foreign_tampered_and_missing_tokens_get_403(
    client: Client, container: Container, samples: dict[str, Path]
) -> None:
    first, headers = await upload(client, container, samples["av"])
    second, _ = await upload(client, container, samples["audio"])
    token = (await link_of(client, first, headers))["token"]
    foreign = (await link_of(client, second, headers))["token"]
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for name in ("index.m3u8", "init.mp4", "seg-00000.m4s"):
        url = f"/media/{first.id}/hls/{name}"
        assert_problem(await client.get(f"{url}?token={foreign}"), 403, "token_wrong_media")
        assert_problem(await client.get(f"{url}?token={tampered}"), 403, "token_invalid")
        assert_problem(await client.get(url), 403, "token_missing")


async def test_expired_links_open_no_part(tmp_path: Path, samples: dict[str, Path]) -> None:
    clock = FakeClock()
    container = migrated_container(tmp_path / "data", {"clock": clock})
    async with app_client(container) as client:
        media, headers = await upload(client, container, samples["av"])
        link = await link_of(client, media, headers)
        playlist = (await client.get(link["hls_url"].removeprefix(BASE))).text
        urls = part_urls(playlist)
        assert (await client.get(f"/media/{media.id}/hls/{urls[1]}")).status_code == 200
        clock.advance(minutes=11)
        for url in (
            link["hls_url"].removeprefix(BASE),
            *(f"/media/{media.id}/hls/{u}" for u in urls),
        ):
            assert_problem(await client.get(url), 403, "token_expired")


async def test_packaging_happens_once_under_concurrent_requests_and_goes_with_the_item(
    client: Client, container: Container, samples: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="klantroef.hls")
    media, headers = await upload(client, container, samples["av"])
    token = container.issue_stream_link().issue_for(media).token
    url = f"/media/{media.id}/hls/index.m3u8?token={token}"
    media_dir = container.settings().media_dir
    answers = await asyncio.gather(*(client.get(url) for _ in range(4)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
    stored = sorted(p.name for p in media_dir.iterdir() if p.name.startswith(media.storage_key))
    runs = {name.split(".")[2] for name in stored if ".hls." in name and name[-5:] != ".json"}
    assert len(runs) == 1, stored  # one packaging run's parts, nothing from a second
    packaged = [r for r in caplog.records if "packaged for HLS" in r.getMessage()]
    assert len(packaged) == 1  # the other three requests waited for it
    assert f"{media.storage_key}.hls.json" in stored
    assert len(stored) == 1 + 1 + 1 + 5  # the item, the manifest, init, five segments

    assert (await client.delete(f"/media/{media.id}", headers=headers)).status_code == 204
    assert not [p for p in media_dir.iterdir() if p.name.startswith(media.storage_key)]
    assert_problem(await client.get(url), 404, "media_not_found")
