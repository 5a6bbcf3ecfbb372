"""Real server processes on loopback ports, started the way users start them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests import log_capture

FAST_ARGON2 = {
    "KLANTROEF_ARGON2_TIME_COST": "1",
    "KLANTROEF_ARGON2_MEMORY_COST": "8",
    "KLANTROEF_ARGON2_PARALLELISM": "1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def live_server(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    args: tuple[str, ...] = (),
    migrate: bool = True,
) -> Iterator[LiveServer]:
    """``klantroef serve`` in a child process; stopped (SIGINT, then SIGKILL) on exit."""
    port = free_port()
    log = data_dir / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_DATA_DIR": str(data_dir),
        **FAST_ARGON2,
        **(env or {}),
    }
    command = [sys.executable, "-m", "klantroef_app.cli", "serve", "--port", str(port), *args]
    if not migrate:
        command.append("--no-migrate")
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_live(server)
        yield server
    finally:
        _stop(process)
        log_capture.CAPTURE.add_lines(log.read_text(errors="replace").splitlines())


def _wait_until_live(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text(errors='replace')}")
        try:
            if httpx.get(server.base_url + "/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{server.log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
