"""The README's benchmark table: a compact view of ``results/latest.json``.

``python -m benchmarks.summary`` rewrites the block between the two markers in the
README from the latest full run; ``benchmarks.run`` does it after every full run
that writes to ``benchmarks/results``, and a test checks that the two agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
LATEST = REPO / "benchmarks" / "results" / "latest.json"
START = "<!-- benchmark summary: written by `python -m benchmarks.summary` from latest.json -->"
END = "<!-- end of the benchmark summary -->"
COLUMNS = (("sqlite", "embedded (SQLite)"), ("mariadb-redis", "MariaDB + Redis"))
LABELS = {
    "view": "POST view, many client IPs",
    "analytics_hit": "analytics, cache hit",
    "media_get": "GET /media/{id} with a bearer",
    "auth_me": "GET /auth/me with a bearer",
    "stream": "whole file, 4 downloads",
    "range": "1 MiB ranges at random offsets",
    "upload": "upload of the whole file",
    "durability": "201s survive kill -9 of the server",
    "rate_limit": "the 31st view from one client refused",
}


def _label(row: Mapping[str, Any]) -> str:
    key = str(row["key"])
    if key == "analytics_miss":  # runs before the true miss timed slices of a cached report
        fresh = "no-cache" in str(row["title"])
        return "analytics, true miss (1M views)" if fresh else "analytics, random from/to"
    label = LABELS.get(key, str(row["title"]))
    workers = int(row.get("workers", 1))
    return label if workers == 1 else f"{label}, {workers} workers"


def _cell(row: Mapping[str, Any]) -> str:
    """The row's figure against its target, and the verdict."""
    m: Mapping[str, Any] | None = row.get("measurement")
    bounds: Mapping[str, Any] = row.get("bounds") or {}
    parts = []
    if row.get("ratio") is not None:
        parts.append(f"{row['ratio']:.0%} of {row['ceiling']}")
    if m is not None and row.get("ratio") is None and m.get("p50_ms") is not None:
        parts.append(f"p50 {m['p50_ms']:.2f} ms")
    if m is not None and bounds.get("max_p99_ms") is not None and m.get("p99_ms") is not None:
        parts.append(f"p99 {m['p99_ms']:.0f} ms")
    misses: Sequence[str] = row.get("misses") or []
    verdict = str(row["status"]) + (f" ({'; '.join(misses)})" if misses else "")
    return ", ".join(parts) + (" · " if parts else "") + verdict


def summary(data: Mapping[str, Any]) -> str:
    """The compact table of one run (the contents of latest.json)."""
    rounds = int(data.get("rounds", 1))
    lines = [
        f"Latest full run, {data['finished_at']} ({data['machine']['cpus']} CPUs, "
        f"{'median of ' + str(rounds) + ' rounds' if rounds > 1 else 'one round'}, "
        "ratios to ceilings measured in the same run, verdicts against that run's targets):",
        "",
        "| case | " + " | ".join(title for _, title in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    order: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for row in data["results"]:
        label = _label(row)
        if label not in cells:
            order.append(label)
            cells[label] = {}
        cells[label][str(row["backend"])] = _cell(row)
    for label in order:
        found = cells[label]
        if not any(backend in found for backend, _ in COLUMNS):
            continue  # S3 storage rows: see results/s3.md
        lines.append(f"| {label} | " + " | ".join(found.get(b, "") for b, _ in COLUMNS) + " |")
    return "\n".join(lines)


def block(data: Mapping[str, Any]) -> str:
    """The README's block, markers included."""
    return f"{START}\n{summary(data)}\n{END}"


def updated(readme: str, data: Mapping[str, Any]) -> str:
    """``readme`` with its block replaced by the one of ``data``."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError("the README has no benchmark summary markers")
    return head + block(data) + tail


def write_readme(latest: Path = LATEST, readme: Path = README) -> None:
    """Rewrite the README's block from ``latest``."""
    data = json.loads(latest.read_text("utf-8"))
    readme.write_text(updated(readme.read_text("utf-8"), data), "utf-8")


if __name__ == "__main__":
    write_readme()
