"""Writing a run's results: latest.json (everything), latest.md (the table), latest.png."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.ceilings import DESCRIPTIONS
from benchmarks.results import MB, Measurement, Result


def machine() -> dict[str, Any]:
    """Enough about the machine to compare runs: cores, memory, kernel, Python."""
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1e6, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def throughput(m: Measurement | None) -> str:
    """req/s or MB/s, readable."""
    if m is None:
        return ""
    if m.unit == "B/s":
        return f"{m.value / MB:,.0f} MB/s"
    return f"{m.value:,.0f} req/s"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _rss(m: Measurement | None) -> str:
    if m is None or m.peak_rss is None:
        return ""
    return f"{m.peak_rss / MB:.0f} MB (+{(m.rss_growth or 0) / MB:.0f})"


def _cpu(m: Measurement | None) -> str:
    per = m.cpu_per_request_us() if m else None
    if per is None:
        return ""
    user, system = per
    total = user + system
    if total >= 10_000:
        return f"{total / 1000:,.0f} ms ({system / total:.0%} sys)"
    return f"{total:,.0f} µs ({system / total:.0%} sys)"


def _spread(r: Result, pick: str, show: Callable[[float], str]) -> str:
    found = r.spread(pick)
    return "" if found is None else f" ({show(found[0])} to {show(found[1])})"


def _throughput_cell(r: Result) -> str:
    m = r.measurement
    if m is None:
        return ""
    scale, unit = (MB, " MB/s") if m.unit == "B/s" else (1.0, " req/s")
    spread = _spread(r, "value", lambda v: f"{v / scale:,.0f}")
    return f"{m.value / scale:,.0f}{unit}{spread}"


def _latency_cell(r: Result, pick: str) -> str:
    m = r.measurement
    value = None if m is None else getattr(m, pick)
    if value is None:
        return ""
    return _ms(value) + _spread(r, pick, _ms)


def _ratio_cell(r: Result) -> str:
    if r.ratio is None:
        return ""
    return f"{r.ratio:.0%}{_spread(r, 'ratio', lambda v: f'{v:.0%}')} of {r.ceiling}"


def _verdict(r: Result) -> str:
    return r.status + (f": {'; '.join(r.misses)}" if r.misses else "")


def markdown(
    mode: str,
    meta: Mapping[str, Any],
    ceilings: Mapping[str, Mapping[str, Measurement]],
    results: Sequence[Result],
    plotted: bool = True,
) -> str:
    """The results table, the exactness checks, the several-workers pass, the
    ceilings, and every note, as Markdown."""
    rounds = int(meta.get("rounds", 1))
    spread = (
        f"Each figure is the median of {rounds} rounds (the ceilings measured again "
        "before each), the spread (lowest to highest) in brackets."
        if rounds > 1
        else "One round."
    )
    lines = [
        f"# Benchmark results ({mode} mode)",
        "",
        f"{meta['finished_at']} · {meta['machine']['cpus']} CPUs · "
        f"{meta['machine']['memory_gb']} GB · Linux {meta['machine']['kernel']} · "
        f"Python {meta['machine']['python']} · one server worker, wrk on the same machine · "
        f"load average {meta['load_at_start']} at the start, "
        f"{meta['machine']['load_average_1m']} at the end.",
        "Ratios are to ceilings measured in the same run (below); p50/p99 in ms. " + spread,
        "",
        "| case | backend | throughput | p50 | p99 | peak RSS (growth) | server CPU/request "
        "| ratio to ceiling | target | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    cases = [r for r in results if r.kind == "case" and r.workers == 1]
    checks = [r for r in results if r.kind == "check"]
    several = [r for r in results if r.kind == "case" and r.workers > 1]
    for r in cases:
        m = r.measurement
        lines.append(
            f"| {r.title} | {r.backend} | {_throughput_cell(r)} | {_latency_cell(r, 'p50_ms')} "
            f"| {_latency_cell(r, 'p99_ms')} | {_rss(m)} | {_cpu(m)} | {_ratio_cell(r)} "
            f"| {r.target} | {_verdict(r)} |"
        )
    if checks:
        lines += [
            "",
            "## Exactness checks",
            "",
            "Run once per backend, right after the view case's first round.",
            "",
            "| check | backend | target | what happened | verdict |",
            "|---|---|---|---|---|",
        ]
        for r in checks:
            seen = "; ".join(r.notes)
            lines.append(f"| {r.title} | {r.backend} | {r.target} | {seen} | {r.status} |")
    if several:
        lines += _several_workers(several, cases)
    lines += [
        "",
        "## Ceilings",
        "",
        "Measured again before each backend's cases, and before each round "
        "(dd: between the uploads).",
        "",
        "| ceiling | before | figure | p50 | p99 | server CPU/request | what |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for backend, measured in ceilings.items():
        for name, m in measured.items():
            lines.append(
                f"| {name} | {backend} | {throughput(m)} | {_ms(m.p50_ms)} | {_ms(m.p99_ms)} "
                f"| {_cpu(m)} | {DESCRIPTIONS.get(name, '')} |"
            )
    lines += ["", "## Notes", ""]
    for r in results:
        if r.kind == "check":
            continue  # their notes are in their table
        where = r.backend if r.workers == 1 else f"{r.backend}, {r.workers} workers"
        for note in r.notes:
            lines.append(f"- {r.key} ({where}): {note}")
    if plotted:
        lines += ["", "![figures against their ceilings](latest.png)"]
    return "\n".join([*lines, ""])


def _several_workers(several: Sequence[Result], single: Sequence[Result]) -> list[str]:
    """The several-workers pass beside the same cases' one-worker figures."""
    workers = several[0].workers
    one = {(r.key, r.backend): r for r in single}
    lines = [
        "",
        f"## {workers} server workers",
        "",
        f"`klantroef serve --workers {workers}` on the same data, after the one-worker "
        "cases; ratios to the same one-worker hello-world ceiling (measured again "
        "before each round). No targets: the figures to set beside one worker's.",
        "",
        f"| case | backend | throughput | p50 | p99 | server CPU/request | ratio to ceiling "
        f"| one worker | {workers} workers / one | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in several:
        m = r.measurement
        base = one.get((r.key, r.backend))
        base_m = base.measurement if base else None
        gain = f"{m.value / base_m.value:.2f}x" if m and base_m and base_m.value else ""
        lines.append(
            f"| {r.title} | {r.backend} | {_throughput_cell(r)} | {_latency_cell(r, 'p50_ms')} "
            f"| {_latency_cell(r, 'p99_ms')} | {_cpu(m)} | {_ratio_cell(r)} "
            f"| {throughput(base_m)} | {gain} | {_verdict(r)} |"
        )
    return lines


def write_reports(
    out: Path,
    mode: str,
    meta: Mapping[str, Any],
    ceilings: Mapping[str, Mapping[str, Measurement]],
    results: Sequence[Result],
) -> None:
    """latest.json, latest.md and latest.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "mode": mode,
        **meta,
        "ceilings": {
            backend: {k: asdict(v) | {"what": DESCRIPTIONS.get(k, "")} for k, v in found.items()}
            for backend, found in ceilings.items()
        },
        "results": [r.to_json() for r in results],
    }
    (out / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    png = out / "latest.png"
    png.unlink(missing_ok=True)  # never leave an older run's plot beside a new table
    try:
        from benchmarks.plot import plot
    except ImportError:
        print("matplotlib is not installed: no latest.png", flush=True)
    else:
        plot(results, png, f"Klantroef benchmarks ({mode}, {meta['finished_at']})")
    (out / "latest.md").write_text(markdown(mode, meta, ceilings, results, png.exists()))
