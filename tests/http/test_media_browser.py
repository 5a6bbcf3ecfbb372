"""A real HTML5 player plays a real MP4 through a stream link, and seeks (headless Chromium).

The MP4 (H.264, several MB) is encoded at test time with PyAV. Skipped where
``/usr/bin/chromium`` or PyAV is missing; CI installs both.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.browser import CHROMIUM, PLAY_AND_SEEK, SECONDS, SEEK_TO, Browser, encode_mp4
from tests.live_server import live_server

pytest.importorskip("av")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")

CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}


def test_a_browser_plays_an_uploaded_mp4_and_seeks_by_range(tmp_path: Path) -> None:
    movie = tmp_path / "clip.mp4"
    encode_mp4(movie)
    assert movie.stat().st_size > 2_000_000
    with live_server(tmp_path / "var") as server, httpx.Client(base_url=server.base_url) as http:
        http.post("/auth/signup", json=CREDENTIALS)
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        upload = subprocess.run(
            [
                "curl",
                "-sS",
                "-H",
                f"Authorization: Bearer {token}",
                "-F",
                f"file=@{movie}",
                f"{server.base_url}/media",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert '"content_type":"video/mp4"' in upload.stdout, upload.stdout
        media_id = httpx.Response(200, content=upload.stdout).json()["id"]
        auth = {"Authorization": f"Bearer {token}"}
        url = http.get(f"/media/{media_id}/stream-url", headers=auth).json()["url"]

        with Browser() as browser:
            result = browser.evaluate(
                PLAY_AND_SEEK % {"seek": SEEK_TO, "url": repr(url)}, timeout=90
            )

    assert "error" not in result, result
    assert result["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert result["seekedAt"] == pytest.approx(SEEK_TO, abs=0.5)
    assert result["playingAt"] > result["seekedAt"]
    assert result["width"] == 640
    # A resource is seekable to its end only when the server honours ranges.
    assert result["seekableEnd"] == pytest.approx(SECONDS, abs=0.1)
