"""A real HTML5 player loads a stream link and seeks in it (headless Chromium, if installed).

Skipped where ``/usr/bin/chromium`` does not exist: nothing is installed for it.
The media is a real WAV written by the standard library, long enough that a seek
lands far beyond what a player fetches first.
"""

from __future__ import annotations

import io
import re
import subprocess
import wave
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}
SECONDS = 40
SEEK_TO = 30

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")

PAGE = """<!DOCTYPE html>
<html><body>
<audio id="player" preload="metadata" src="{url}"></audio>
<script>
  const player = document.getElementById("player");
  const done = (text) => {{
    if (document.getElementById("result")) return;
    const out = document.createElement("pre");
    out.id = "result";
    out.textContent = text;
    document.body.appendChild(out);
  }};
  player.addEventListener("loadedmetadata", () => {{ player.currentTime = {seek}; }});
  player.addEventListener("seeked", () =>
    done("SEEKED " + player.currentTime.toFixed(1) + " OF " + player.duration.toFixed(1)));
  player.addEventListener("error", () => done("ERROR " + (player.error && player.error.code)));
  setTimeout(() => done("TIMEOUT"), 15000);
</script>
</body></html>
"""


def long_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(44100)
        writer.writeframes(bytes(4 * 44100 * SECONDS))
    return buffer.getvalue()


def test_an_html5_player_plays_a_stream_link_and_seeks(tmp_path: Path) -> None:
    with live_server(tmp_path / "var") as server, httpx.Client(base_url=server.base_url) as http:
        http.post("/auth/signup", json=CREDENTIALS)
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        upload = http.post("/media", files={"file": ("tone.wav", long_wav())}, headers=auth)
        assert upload.status_code == 201, upload.text
        url = http.get(f"/media/{upload.json()['id']}/stream-url", headers=auth).json()["url"]
        page = tmp_path / "player.html"
        page.write_text(PAGE.format(url=url, seek=SEEK_TO))

        result = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--autoplay-policy=no-user-gesture-required",
                "--virtual-time-budget=20000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    found = re.search(r'<pre id="result">([^<]*)</pre>', result.stdout)
    assert found is not None, result.stderr[-2000:]
    assert found[1] == f"SEEKED {SEEK_TO:.1f} OF {SECONDS:.1f}"
