"""Resident memory of a real ``klantroef serve`` while it takes and serves a 1 GiB file.

    .venv/bin/python -m benchmarks.upload_memory [--size-mib 1024] [--server granian|uvicorn]

Starts the server on a fresh data folder (SQLite, local media folder), uploads one
file of the given size as a streamed multipart body, then downloads it twice: the
whole file with a plain GET (granian takes it through ``http.response.pathsend``,
reading the file itself; uvicorn has no such extension and gets chunks) and the
whole file as a range, ``bytes=0-`` (always read and sent in chunks by the app).
The RSS of the server's process tree (VmRSS of the server and its workers) is
sampled every 20 ms; each step reports its peak growth over the RSS before it,
its wall time and the server's CPU seconds. Needs only the standard library and
httpx; downloads use curl when it is installed, so the client costs little.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.playable import playable_head
from benchmarks.procs import tree_rss

MIB = 1024 * 1024
CREDENTIALS = {"email": "bench@example.com", "password": "correct horse battery"}


def tree_cpu(root: int) -> float:
    """CPU seconds (user and system) spent so far by ``root``'s live process tree."""
    parents: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            parents.setdefault(int(fields[1]), []).append(int(entry))
    ticks, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(parents.get(pid, []))
        if pid in stats:
            ticks += int(stats[pid][11]) + int(stats[pid][12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Step:
    name: str
    seconds: float
    before_mib: float
    peak_mib: float
    cpu_seconds: float

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.before_mib


def measured(name: str, root: int, work: Callable[[], None]) -> Step:
    """Run ``work`` while sampling the tree's RSS; the peak and the time it took."""
    before = tree_rss(root)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(root))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu = tree_cpu(root)
    started = time.perf_counter()
    try:
        work()
    finally:
        elapsed = time.perf_counter() - started
        cpu = tree_cpu(root) - cpu
        done.set()
        sampler.join()
    return Step(name, elapsed, before / MIB, max(peak[0], tree_rss(root)) / MIB, cpu)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(folder: Path, kind: str, max_bytes: int) -> Iterator[tuple[str, int]]:
    """``klantroef serve`` in its own session; yields its base URL and pid."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_DATA_DIR": str(folder),
        "KLANTROEF_MAX_UPLOAD_BYTES": str(max_bytes),
        "KLANTROEF_ARGON2_TIME_COST": "1",
        "KLANTROEF_ARGON2_MEMORY_COST": "8",
        "KLANTROEF_ARGON2_PARALLELISM": "1",
    }
    command = [sys.executable, "-m", "klantroef_app.cli", "serve", "--port", str(port)]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [*command, "--server", kind],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def multipart_stream(size: int, boundary: str) -> tuple[Iterator[bytes], int]:
    """A form body with one ``size``-byte file, generated as it is sent; and its length."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = os.urandom(MIB)
    start = playable_head(size)

    def chunks() -> Iterator[bytes]:
        yield head
        sent = 0
        while sent < size:
            piece = block[: min(MIB, size - sent)]
            if sent == 0:
                piece = start + piece[len(start) :]
            sent += len(piece)
            yield piece
        yield tail

    return chunks(), len(head) + size + len(tail)


def fetch(url: str, headers: dict[str, str]) -> int:
    """Download ``url`` and discard it; the byte count. curl if installed (a client that
    costs the machine little, so the server is what is measured), else httpx."""
    if shutil.which("curl"):
        flags = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
        result = subprocess.run(
            ["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", *flags, url],
            capture_output=True,
            check=True,
            text=True,
        )
        return int(result.stdout)
    received = 0
    with httpx.stream("GET", url, headers=headers, timeout=600) as response:
        for chunk in response.iter_raw(MIB):
            received += len(chunk)
    return received


def run(size: int, kind: str) -> list[Step]:
    steps: list[Step] = []
    with (
        tempfile.TemporaryDirectory(prefix="klantroef-bench-") as tmp,
        server(Path(tmp), kind, size + MIB) as (base, pid),
        httpx.Client(base_url=base, timeout=600) as http,
    ):
        http.post("/auth/signup", json=CREDENTIALS)
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        uploaded: dict[str, str] = {}

        def upload() -> None:
            body, length = multipart_stream(size, "bench-boundary-0123456789")
            headers = {
                **auth,
                "content-type": "multipart/form-data; boundary=bench-boundary-0123456789",
                "content-length": str(length),
            }
            response = http.post("/media", content=body, headers=headers)
            response.raise_for_status()
            uploaded.update(response.json())

        steps.append(measured("upload", pid, upload))
        link = http.get(f"/media/{uploaded['id']}/stream-url", headers=auth).json()["url"]

        def download(headers: dict[str, str]) -> Callable[[], None]:
            def work() -> None:
                received = fetch(link, headers)
                if received != size:
                    raise RuntimeError(f"received {received} of {size} bytes")

            return work

        steps.append(measured("download, whole file (GET)", pid, download({})))
        steps.append(
            measured(
                "download, whole file as a range (bytes=0-)",
                pid,
                download({"Range": "bytes=0-"}),
            )
        )
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--server", choices=("granian", "uvicorn"), action="append")
    args = parser.parse_args()
    size = args.size_mib * MIB
    for kind in args.server or ["granian", "uvicorn"]:
        print(f"\n{kind}, {args.size_mib} MiB file")
        print(
            f"{'step':<46} {'seconds':>8} {'MiB/s':>8} {'server CPU s':>13} "
            f"{'RSS before':>11} {'peak':>8} {'growth':>8}"
        )
        for step in run(size, kind):
            rate = args.size_mib / step.seconds
            print(
                f"{step.name:<46} {step.seconds:>8.2f} {rate:>8.0f} {step.cpu_seconds:>13.2f} "
                f"{step.before_mib:>10.1f}M "
                f"{step.peak_mib:>7.1f}M {step.growth_mib:>7.1f}M"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
