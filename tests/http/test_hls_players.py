"""Real players on a real server: hls.js in headless Chromium plays and seeks; PyAV reads it all.

``klantroef serve`` on the embedded default (SQLite, local files), on
MariaDB + Redis, and on MariaDB + Redis + S3 (SeaweedFS, stream redirects on). The page that runs hls.js comes from the test's own server on
another port, so every playlist and segment request is cross-origin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser import Browser, require_chromium
from tests.hls_media import encode, video_frames
from tests.hls_player import PLAY_AND_SEEK_HLS, hls_js, page_server
from tests.live_server import LiveServer, live_server
from tests.real_servers import PREFIX, fresh_bucket, s3_env
from tests.seaweedfs import SeaweedS3, list_bucket
from tests.sql_engines import fresh_database

CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}
SECONDS = 20
MIDDLE = SECONDS / 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    movie = tmp_path_factory.mktemp("hls-clip") / "clip.mp4"
    encode(movie, SECONDS)
    return movie


@dataclass
class Backend:
    server: LiveServer
    stored: Callable[[str], list[str]]
    """The names the store holds for an item (its storage key is its id)."""


@pytest.fixture(params=["embedded", "mariadb-redis", "mariadb-redis-s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    env: dict[str, str] = {}
    data = tmp_path / "var"
    if request.param.startswith("mariadb-redis"):
        mariadb_url: str = request.getfixturevalue("mariadb_url")
        redis_url: str = request.getfixturevalue("redis_url")
        env = {
            "KLANTROEF_DATABASE_URL": asyncio.run(fresh_database(mariadb_url, "hls")),
            "KLANTROEF_REDIS_URL": redis_url,
        }

    def on_disk(media_id: str) -> list[str]:
        folder = data / "media"
        return sorted(p.name for p in folder.iterdir() if p.name.startswith(media_id))

    stored = on_disk
    if request.param.endswith("-s3"):  # the stream redirects to the store; HLS parts do not
        seaweed: SeaweedS3 = request.getfixturevalue("seaweedfs")
        bucket = fresh_bucket()
        env |= {**s3_env(seaweed, bucket), "KLANTROEF_S3_REDIRECT": "1"}

        def in_bucket(media_id: str) -> list[str]:
            return asyncio.run(list_bucket(seaweed, bucket, PREFIX + media_id)).objects

        stored = in_bucket
    with live_server(data, env) as running:
        yield Backend(running, stored)


def hls_url_of(server: LiveServer, movie: Path) -> tuple[str, str, dict[str, str]]:
    """Upload ``movie``; its id, its HLS playlist URL, and the admin's headers."""
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        http.post("/auth/signup", json=CREDENTIALS)
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with movie.open("rb") as file:
            uploaded = http.post("/media", headers=auth, files={"file": ("clip.mp4", file)})
        assert uploaded.status_code == 201, uploaded.text
        media_id: str = uploaded.json()["id"]
        link = http.get(f"/media/{media_id}/stream-url", headers=auth).json()
    url: str = link["hls_url"]
    return media_id, url, auth


def test_hls_js_plays_and_seeks_to_the_middle_and_pyav_reads_every_frame(
    backend: Backend, clip: Path
) -> None:
    require_chromium()
    script = hls_js()
    server = backend.server
    media_id, url, auth = hls_url_of(server, clip)

    assert video_frames(url) == video_frames(clip)  # FFmpeg's HLS demuxer, over HTTP

    with page_server(script) as origin, Browser() as browser:
        browser.page("Page.enable")
        browser.page("Page.navigate", {"url": origin + "/"})
        deadline = time.monotonic() + 30
        while browser.evaluate("typeof window.Hls") != "function":
            assert time.monotonic() < deadline, "the page with hls.js did not load"
            time.sleep(0.1)
        result = browser.evaluate(
            PLAY_AND_SEEK_HLS % {"seek": MIDDLE, "url": repr(url)}, timeout=90
        )

    assert "error" not in result, result
    assert result["duration"] == pytest.approx(SECONDS, abs=0.2)
    assert result["seekedAt"] == pytest.approx(MIDDLE, abs=0.5)
    assert result["playingAt"] > result["seekedAt"]
    assert result["width"] == 320
    assert result["fragments"] >= 2  # the first segment, then the one the seek needed

    assert len(backend.stored(media_id)) == 1 + 1 + 1 + 5  # item, manifest, init, segments
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.delete(f"/media/{media_id}", headers=auth).status_code == 204
        assert http.get(url.removeprefix(server.base_url)).status_code == 404
    assert backend.stored(media_id) == []
