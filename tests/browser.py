"""Driving headless Chromium over the DevTools protocol on a pipe (no extra packages).

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and write
replies on fd 4, each a JSON message ended by a NUL byte.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's /usr/bin/chromium is a shell wrapper; the binary itself keeps fds 3 and 4.
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
    "--remote-debugging-pipe",
)


def _pipe_fds(commands: int, replies: int) -> Callable[[], None]:
    """In the child: the command pipe on fd 3, the reply pipe on fd 4."""

    def arrange() -> None:
        commands_copy, replies_copy = os.dup(commands), os.dup(replies)
        os.dup2(commands_copy, 3)
        os.dup2(replies_copy, 4)

    return arrange


class Browser:
    """One headless Chromium and one page in it."""

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory()
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._process = subprocess.Popen(
            [
                str(CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM),
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # our descriptors are close-on-exec; fds 3 and 4 are made inheritable
            preexec_fn=_pipe_fds(to_browser_r, from_browser_w),  # noqa: PLW1509
            start_new_session=True,  # its helpers share its process group, so close ends them too
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        """Every event Chromium sent while a command waited for its reply, in order."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Send one command and wait for its reply (events on the way go to :attr:`events`)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if "method" in reply and "id" not in reply:
                    self.events.append(reply)
                    continue
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply["result"]
                    return result
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        raise TimeoutError(method)

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A command to the page's session (``Page.navigate``, ``Network.enable``, ...)."""
        return self.call(method, params, session=self._session)

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        """Run JavaScript in the page (promises awaited) and return its JSON value."""
        reply = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self._session,
            timeout=timeout,
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"])
        return reply["result"].get("value")

    def close(self) -> None:
        """End Chromium and every helper it started, then remove its profile.

        Killing the main process alone left helpers (crashpad, GPU, renderer)
        writing into the profile while it was being removed ("Directory not empty").
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(10)
        os.close(self._to_browser)
        os.close(self._from_browser)
        deadline = time.monotonic() + 5
        while True:
            try:
                self._profile.cleanup()
                return
            except OSError:  # a helper killed a moment ago may still be flushing a file
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_chromium() -> None:
    """Skip the calling test without Chromium and PyAV, or fail where services are required."""
    from tests.services import services_required

    missing = [
        name for name, there in (("chromium", CHROMIUM.exists()), ("PyAV", _has_av())) if not there
    ]
    if not missing:
        return
    message = f"{' and '.join(missing)} not installed"
    if services_required():
        pytest.fail(message + " and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _has_av() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


# --- a real MP4, and a player that plays it and seeks -------------------------------

SECONDS = 20
SEEK_TO = 15.0

PLAY_AND_SEEK = """
new Promise((resolve) => {
  const video = document.createElement("video");
  video.muted = true;
  video.preload = "metadata";
  const finish = (value) => resolve(value);
  setTimeout(() => finish({error: "timeout", state: video.readyState}), 60000);
  video.addEventListener("error", () => finish({error: String(video.error && video.error.code)}));
  video.addEventListener("loadedmetadata", async () => {
    await video.play();
    video.currentTime = %(seek)s;
  }, {once: true});
  video.addEventListener("seeked", () => {
    const seekedAt = video.currentTime;
    video.addEventListener("timeupdate", function tick() {
      if (video.currentTime > seekedAt + 0.2) {
        video.removeEventListener("timeupdate", tick);
        finish({
          duration: video.duration,
          seekedAt: seekedAt,
          playingAt: video.currentTime,
          seekableEnd: video.seekable.length ? video.seekable.end(0) : 0,
          width: video.videoWidth,
        });
      }
    });
  }, {once: true});
  video.src = %(url)s;
  document.body.appendChild(video);
})
"""


def encode_mp4(path: Path) -> None:
    """A real H.264 MP4: moving gradients with noise, so it is several MB (PyAV)."""
    import av

    with av.open(str(path), "w", options={"movflags": "faststart"}) as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.bit_rate = 2_000_000
        for index in range(25 * SECONDS):
            frame = av.VideoFrame(640, 360, "yuv420p")
            for plane in frame.planes:
                noise = bytes((index * 7 + i * 13) % 251 for i in range(4096))
                plane.update((noise * (plane.buffer_size // 4096 + 1))[: plane.buffer_size])
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
