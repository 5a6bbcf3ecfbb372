"""Real players on a real server: hls.js in headless Chromium plays and seeks; PyAV reads it all.

``klantroef serve`` on the embedded default (SQLite, local files) and on
MariaDB + Redis. The page that runs hls.js comes from the test's own server on
another port, so every playlist and segment request is cross-origin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser import Browser, require_chromium
from tests.hls_media import encode, video_frames
from tests.hls_player import PLAY_AND_SEEK_HLS, hls_js, page_server
from tests.live_server import LiveServer, live_server
from tests.sql_engines import fresh_database

CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}
SECONDS = 20
MIDDLE = SECONDS / 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    movie = tmp_path_factory.mktemp("hls-clip") / "clip.mp4"
    encode(movie, SECONDS)
    return movie


@pytest.fixture(params=["embedded", "mariadb-redis"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    env: dict[str, str] = {}
    if request.param == "mariadb-redis":
        import asyncio

        mariadb_url: str = request.getfixturevalue("mariadb_url")
        redis_url: str = request.getfixturevalue("redis_url")
        env = {
            "KLANTROEF_DATABASE_URL": asyncio.run(fresh_database(mariadb_url, "hls")),
            "KLANTROEF_REDIS_URL": redis_url,
        }
    with live_server(tmp_path / "var", env) as running:
        yield running


def hls_url_of(server: LiveServer, movie: Path) -> str:
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        http.post("/auth/signup", json=CREDENTIALS)
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with movie.open("rb") as file:
            uploaded = http.post("/media", headers=auth, files={"file": ("clip.mp4", file)})
        assert uploaded.status_code == 201, uploaded.text
        link = http.get(f"/media/{uploaded.json()['id']}/stream-url", headers=auth).json()
    url: str = link["hls_url"]
    return url


def test_hls_js_plays_and_seeks_to_the_middle_and_pyav_reads_every_frame(
    server: LiveServer, clip: Path
) -> None:
    require_chromium()
    script = hls_js()
    url = hls_url_of(server, clip)

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
