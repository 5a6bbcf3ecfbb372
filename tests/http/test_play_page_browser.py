"""A person's view: headless Chromium opens the play page, plays, seeks, and one view is logged.

A real ``klantroef serve`` process, a real H.264 MP4 (PyAV), the page's own
``<video>`` element and script, under the page's Content-Security-Policy.
Skipped without Chromium or PyAV; a failure where ``KLANTROEF_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import SECONDS, Browser, encode_mp4, require_chromium
from tests.live_server import live_server
from tests.real_servers import CREDENTIALS

CURL = ("curl", "-sS")
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

PLAY_SEEK_TO_MIDDLE = """
new Promise((resolve) => {
  const player = document.getElementById("player");
  if (!player) {
    resolve({error: "no #player"});
    return;
  }
  setTimeout(() => resolve({error: "timeout", state: player.readyState}), 60000);
  player.addEventListener("error", () => resolve({error: String(player.error && player.error.code)}));
  player.muted = true;
  const watchAfterSeek = () => {
    const seekedAt = player.currentTime;
    const tick = () => {
      const logged = /^[0-9]+$/.test(player.dataset.viewStatus || "");
      if (player.currentTime > seekedAt + 0.2 && logged) {
        resolve({
          tag: player.tagName,
          duration: player.duration,
          seekedAt: seekedAt,
          playingAt: player.currentTime,
          viewStatus: player.dataset.viewStatus,
          violations: window.__violations,
          resources: performance.getEntriesByType("resource").map((entry) => entry.name),
        });
      } else {
        setTimeout(tick, 100);
      }
    };
    tick();
  };
  const playAndSeek = async () => {
    await player.play();
    player.addEventListener("seeked", watchAfterSeek, {once: true});
    player.currentTime = player.duration / 2;
  };
  if (player.readyState >= 1) {
    playAndSeek();
  } else {
    player.addEventListener("loadedmetadata", playAndSeek, {once: true});
  }
})
"""


def upload(base_url: str, token: str, movie: Path) -> str:
    done = subprocess.run(
        [
            *CURL,
            "-H",
            f"Authorization: Bearer {token}",
            "-F",
            f"file=@{movie}",
            base_url + "/media",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    media_id: str = httpx.Response(201, content=done.stdout).json()["id"]
    return media_id


def open_page(browser: Browser, url: str) -> None:
    browser.page("Network.enable")
    browser.page("Page.enable")
    browser.page("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_VIOLATIONS})
    browser.page("Page.navigate", {"url": url})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if browser.evaluate("location.href + ' ' + document.readyState") == f"{url} complete":
            return
        time.sleep(0.1)
    raise TimeoutError(f"the play page did not load: {url}")


def requests_sent(browser: Browser) -> list[dict[str, Any]]:
    return [
        event["params"]["request"]
        for event in browser.events
        if event.get("method") == "Network.requestWillBeSent"
    ]


def test_a_person_plays_the_page_seeks_to_the_middle_and_one_view_is_logged(
    tmp_path: Path,
) -> None:
    require_chromium()
    movie = tmp_path / "clip.mp4"
    encode_mp4(movie)
    with live_server(tmp_path / "var") as server, httpx.Client(base_url=server.base_url) as http:
        assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        media_id = upload(server.base_url, token, movie)
        link = http.get(f"/media/{media_id}/stream-url", headers=auth).json()
        play_url = link["play_url"]
        assert play_url == link["url"].replace("/stream?", "/play?")

        page = http.get(play_url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = {
            words[0]: words[1:]
            for words in (
                part.split() for part in page.headers["content-security-policy"].split(";")
            )
        }
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["media-src"] == ["'self'"]
        assert policy["connect-src"] == ["'self'"]
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"

        with Browser() as browser:
            open_page(browser, play_url)
            result = browser.evaluate(PLAY_SEEK_TO_MIDDLE, timeout=90)
            sent = requests_sent(browser)
        analytics = http.get(f"/media/{media_id}/analytics", headers=auth).json()

    assert "error" not in result, result
    assert result["tag"] == "VIDEO"
    assert result["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert result["seekedAt"] == pytest.approx(SECONDS / 2, abs=0.5)  # the seek moved it there
    assert result["playingAt"] > result["seekedAt"]  # and it plays on from the middle
    assert result["viewStatus"] == "201"
    assert result["violations"] == []  # the page needs nothing its policy forbids
    urls = [request["url"] for request in sent] + result["resources"]
    assert any(url.startswith(f"{server.base_url}/player.js") for url in urls)
    assert any(f"/media/{media_id}/stream?token=" in url for url in urls)
    # data: URLs are Chromium's own media controls (icons), not network loads.
    outside = [u for u in urls if not u.startswith((server.base_url + "/", "data:"))]
    assert outside == []  # nothing loaded from anywhere else
    views = [r for r in sent if r["method"] == "POST" and f"/media/{media_id}/view" in r["url"]]
    assert len(views) == 1  # one view for a play and a seek
    assert analytics["total_views"] == 1
