"""The ceilings, measured on this machine in this run, next to the cases they bound.

hello-world and nginx stay up for the whole run and are measured again before
each backend's cases; dd runs between uploads (see ``measure.measure_uploads``).
A ceiling taken minutes away from its case on a shared machine is noise.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from benchmarks.measure import Mode, measure_wrk
from benchmarks.nginx import nginx_server
from benchmarks.results import Measurement
from benchmarks.servers_under_test import hello_server
from benchmarks.tools import free_port
from benchmarks.wrk import Load

MIB = 1024 * 1024
SERVED = ("hello", "nginx_stream", "nginx_range")  # what these servers measure

DESCRIPTIONS = {
    "hello": "Litestar hello-world (`GET /hello`, small JSON), granian, 1 worker, 32 connections",
    "nginx_stream": "nginx 1 worker, sendfile on: the same file whole, 4 parallel downloads",
    "nginx_range": "nginx 1 worker, sendfile on: 1 MiB ranges at random offsets, 32 connections",
    "dd": "dd if=/dev/zero bs=1M conv=fdatasync of the file's size, same filesystem, "
    "run between the uploads (median)",
    "s3_upload": "aiobotocore straight to the same SeaweedFS: the same file, multipart, "
    "8 MiB parts, one in flight while the next is read, run between the uploads (median)",
    "s3_stream": "aiobotocore straight to the same SeaweedFS: whole-object GETs of a "
    "same-size object, 4 at a time, read in 1 MiB chunks",
    "s3_range": "aiobotocore straight to the same SeaweedFS: 1 MiB ranged GETs at random "
    "offsets, 32 at a time",
}


class CeilingServers:
    """The hello-world app and nginx (serving ``media_file``), up while the run lasts."""

    def __init__(self, workdir: Path, media_file: Path) -> None:
        self._workdir = workdir
        self._media_file = media_file
        self._stack = ExitStack()
        self._hello_port = free_port()
        self._nginx_port = free_port()
        self._hello_pid = self._nginx_pid = 0

    def __enter__(self) -> CeilingServers:
        hello = self._stack.enter_context(
            hello_server(self._hello_port, self._workdir / "hello.log")
        )
        hello.start(f"http://127.0.0.1:{self._hello_port}/hello")
        www = self._workdir / "www"
        www.mkdir(exist_ok=True)
        served = www / self._media_file.name
        if not served.exists():
            os.link(self._media_file, served)
        (www / "ready.txt").write_text("ok\n")
        nginx = self._stack.enter_context(
            nginx_server(self._workdir / "nginx", www, self._nginx_port)
        )
        nginx.start(f"http://127.0.0.1:{self._nginx_port}/ready.txt")
        self._hello_pid, self._nginx_pid = hello.pid, nginx.pid
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def measure(
        self, mode: Mode, needed: Collection[str | None] = SERVED
    ) -> dict[str, Measurement]:
        """hello-world req/s, nginx whole-file bytes/s and 1 MiB range req/s, now: those
        of them ``needed`` names (all three unless told)."""
        hello = f"http://127.0.0.1:{self._hello_port}/hello"
        media = f"http://127.0.0.1:{self._nginx_port}/{self._media_file.name}"
        ranges = Load(range_bytes=MIB, file_size=self._media_file.stat().st_size)
        chosen = [name for name in SERVED if name in needed]
        if chosen:
            print("ceilings: " + ", ".join(chosen), flush=True)
        found = {}
        if "hello" in needed:
            found["hello"], _ = measure_wrk(hello, Load(), mode, 32, "rps", self._hello_pid)
        if "nginx_stream" in needed:
            found["nginx_stream"], _ = measure_wrk(media, Load(), mode, 4, "bytes", self._nginx_pid)
        if "nginx_range" in needed:
            found["nginx_range"], _ = measure_wrk(media, ranges, mode, 32, "rps", self._nginx_pid)
        return found
