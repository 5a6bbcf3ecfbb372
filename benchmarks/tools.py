"""The machine-level pieces: the Debian tools we drive, free ports, and the disk's write speed."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

REQUIRED = {"wrk": "wrk", "nginx": "nginx", "curl": "curl", "dd": "coreutils"}
"""Command -> the Debian package that provides it."""


class ToolMissing(RuntimeError):
    """A tool the harness needs is absent and cannot be installed from here."""


def ensure_tools() -> dict[str, str]:
    """Make sure every tool in ``REQUIRED`` is on PATH; install the missing ones as root.

    Returns each tool's path. Without root (or without apt-get) a missing tool is a
    clear error naming the packages to install, never a half-run benchmark.
    """
    missing = sorted({pkg for cmd, pkg in REQUIRED.items() if shutil.which(cmd) is None})
    if missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise ToolMissing(
                f"the benchmarks need {', '.join(missing)}: install them with "
                f"'sudo apt-get install -y {' '.join(missing)}' and run again"
            )
        print(f"installing {', '.join(missing)} with apt-get", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    paths = {cmd: shutil.which(cmd) for cmd in REQUIRED}
    absent = [cmd for cmd, path in paths.items() if path is None]
    if absent:
        raise ToolMissing(f"still missing after installing: {', '.join(absent)}")
    return {cmd: str(path) for cmd, path in paths.items()}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


_DD_SPEED = re.compile(r"(\d+) bytes .* copied, ([0-9.,]+) s")


def dd_write_speed(directory: Path, mib: int) -> float:
    """Sequential write speed of the disk under ``directory`` in bytes/s, flushed to disk.

    ``conv=fdatasync`` counts the time to reach the disk, not just the page cache,
    which is the honest ceiling for an upload that must survive a crash.
    """
    target = directory / "dd-probe.bin"
    try:
        done = subprocess.run(
            ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}", "conv=fdatasync"],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        )
    finally:
        target.unlink(missing_ok=True)
    match = _DD_SPEED.search(done.stderr)
    if match is None:
        raise RuntimeError(f"cannot read dd's figures from: {done.stderr!r}")
    return int(match.group(1)) / float(match.group(2).replace(",", "."))
