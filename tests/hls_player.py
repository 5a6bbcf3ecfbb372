"""hls.js from the npm registry, served to headless Chromium from the test's own page server.

The page server listens on another loopback port than the API, so the player
fetches the playlist and segments cross-origin: CORS is part of what is tested.
hls.js is installed once into a cache folder (``.ci/run`` does it up front);
without npm or the registry the test skips, or fails under
``KLANTROEF_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.services import services_required

HLS_JS_VERSION = "1.7.4"
HLS_JS_CACHE = Path.home() / ".cache" / "klantroef-tests" / f"hls.js-{HLS_JS_VERSION}"
NPM_FLAGS = ("--no-audit", "--no-fund", "--no-package-lock")
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>hls.js</title>
<script src="/hls.min.js"></script></head><body></body></html>"""


def hls_js() -> Path:
    """``hls.min.js`` of the pinned hls.js, installed with npm into the cache if missing."""
    script = HLS_JS_CACHE / "node_modules" / "hls.js" / "dist" / "hls.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    problem = "npm is not installed"
    if npm is not None:
        install = subprocess.run(
            [npm, "install", "--prefix", str(HLS_JS_CACHE), *NPM_FLAGS, f"hls.js@{HLS_JS_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if install.returncode == 0 and script.exists():
            return script
        problem = f"npm could not install hls.js@{HLS_JS_VERSION}: {install.stderr[-500:]}"
    if services_required():
        pytest.fail(problem + " and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(problem)


@contextmanager
def page_server(script: Path) -> Iterator[str]:
    """A loopback HTTP server with the page at ``/`` and hls.js at ``/hls.min.js``; its origin."""
    body = script.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/":
                self._send(PAGE, "text/html; charset=utf-8")
            elif self.path == "/hls.min.js":
                self._send(body, "text/javascript")
            else:
                self.send_error(404)

        def _send(self, content: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


PLAY_AND_SEEK_HLS = """
new Promise((resolve) => {
  const video = document.createElement("video");
  video.muted = true;
  document.body.appendChild(video);
  const finish = (value) => resolve(value);
  setTimeout(() => finish({error: "timeout", state: video.readyState, at: video.currentTime}), 60000);
  if (!window.Hls || !Hls.isSupported()) { finish({error: "hls.js is not supported here"}); return; }
  const hls = new Hls();
  let fragments = 0;
  hls.on(Hls.Events.FRAG_LOADED, () => { fragments += 1; });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) finish({error: data.type + ": " + data.details});
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play(); });
  video.addEventListener("playing", () => { video.currentTime = %(seek)s; }, {once: true});
  video.addEventListener("seeked", () => {
    const seekedAt = video.currentTime;
    video.addEventListener("timeupdate", function tick() {
      if (video.currentTime > seekedAt + 0.2) {
        video.removeEventListener("timeupdate", tick);
        finish({
          duration: video.duration,
          seekedAt: seekedAt,
          playingAt: video.currentTime,
          width: video.videoWidth,
          fragments: fragments,
        });
      }
    });
  }, {once: true});
  hls.loadSource(%(url)s);
  hls.attachMedia(video);
})
"""
