"""Running wrk with ``lua/bench.lua`` and reading the JSON line its ``done()`` hook prints."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA_SCRIPT = Path(__file__).with_name("lua") / "bench.lua"
MARKER = "BENCH_JSON "


@dataclass(frozen=True, slots=True)
class Load:
    """What wrk sends: method, headers, body and the per-request variations of bench.lua."""

    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    many_ips: bool = False
    range_bytes: int = 0
    file_size: int = 0
    random_days: bool = False
    count_status: bool = False

    def env(self) -> dict[str, str]:
        """The ``BENCH_*`` variables bench.lua reads."""
        return {
            "BENCH_METHOD": self.method,
            "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in self.headers.items()),
            "BENCH_BODY": self.body,
            "BENCH_MANY_IPS": "1" if self.many_ips else "0",
            "BENCH_RANGE_BYTES": str(self.range_bytes),
            "BENCH_FILE_SIZE": str(self.file_size),
            "BENCH_RANDOM_DAYS": "1" if self.random_days else "0",
            "BENCH_COUNT_STATUS": "1" if self.count_status else "0",
        }


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and errors."""

    seconds: float
    requests: int
    bytes: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: Mapping[str, int]
    statuses: Mapping[str, int] | None

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def bytes_per_s(self) -> float:
        """Bytes read per second (headers and bodies)."""
        return self.bytes / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Socket errors, timeouts and non-2xx/3xx answers together."""
        return sum(self.errors.values())


def run_wrk(
    url: str, load: Load, *, seconds: float, connections: int, threads: int = 2
) -> WrkResult:
    """Load ``url`` for ``seconds`` (bounded: wrk stops itself; we kill it 60 s later)."""
    threads = max(1, min(threads, connections))
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        url,
    ]
    done = subprocess.run(
        argv,
        env={**os.environ, **load.env()},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return _parse(json.loads(line[len(MARKER) :]))
    raise RuntimeError(f"wrk printed no result (exit {done.returncode}): {done.stderr.strip()}")


def _parse(raw: dict[str, Any]) -> WrkResult:
    lat = raw["latency_us"]
    status = raw["status"]
    return WrkResult(
        seconds=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        bytes=raw["bytes"],
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        errors=dict(raw["errors"]),
        statuses=(
            {"2xx": status["2xx"], "429": status["429"], "other": status["other"]}
            if status["counted"] == "true" or status["counted"] is True
            else None
        ),
    )
