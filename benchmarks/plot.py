"""latest.png: each figure as a share of its ceiling, its target marked; latency on the side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.results import Result

COLOURS = {"met": "#2e7d32", "not met": "#c62828", "failed": "#6d4c41", "measured": "#1565c0"}


def plot(results: Sequence[Result], path: Path, title: str) -> None:
    """Two panels: ratio to ceiling (the median of the rounds, a thin line across
    their spread) with target ticks, and p50/p99 with latency targets."""
    rows = [r for r in results if r.measurement is not None]
    labels = [
        f"{r.key} · {r.backend}" + (f" · {r.workers} workers" if r.workers > 1 else "")
        for r in rows
    ]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 1.0 + 0.45 * max(1, len(rows))), sharey=True,
        gridspec_kw={"width_ratios": [3, 2]},
    )  # fmt: skip
    ys = range(len(rows))
    ratios = [(r.ratio or 0) * 100 for r in rows]
    left.barh(ys, ratios, color=[COLOURS.get(r.status, "#9e9e9e") for r in rows])
    for y, r in zip(ys, rows, strict=True):
        target = _min_ratio(r)
        if target is not None:
            left.plot([target, target], [y - 0.4, y + 0.4], color="black", linewidth=2)
        spread = r.spread("ratio")
        if spread is not None:  # several rounds: their lowest to highest ratio
            low, high = spread[0] * 100, spread[1] * 100
            left.plot([low, high], [y, y], color="#424242", linewidth=1)
        if r.ratio is not None:
            left.text(
                (r.ratio * 100) + 1, y, f"{r.ratio:.0%} of {r.ceiling}", va="center", fontsize=8
            )
        else:  # a latency target only: say so where the bar would be
            colour = COLOURS.get(r.status, "#9e9e9e")
            note = f"no ceiling; latency target {r.status} (right)"
            left.text(1, y, note, va="center", fontsize=8, color=colour)
    left.set_yticks(list(ys), labels)
    left.invert_yaxis()
    left.set_xlabel("% of the ceiling measured in the same run (black tick: target)")
    left.axvline(100, color="#bdbdbd", linestyle=":")
    left.set_xlim(0, max([120.0, *(ratio + 30 for ratio in ratios)]))
    left.set_xlim(0, max([120.0, *(ratio + 30 for ratio in ratios)]))
    p50 = [r.measurement.p50_ms or 0 for r in rows if r.measurement]
    p99 = [r.measurement.p99_ms or 0 for r in rows if r.measurement]
    right.barh(
        [y - 0.2 for y in ys], p50, height=0.4, label="p50 (black tick: target)", color="#1565c0"
    )
    right.barh([y + 0.2 for y in ys], p99, height=0.4, label="p99", color="#90caf9")
    for y, r in zip(ys, rows, strict=True):
        for name, offset in (("max_p50_ms", -0.2), ("max_p99_ms", 0.2)):
            bound = r.bounds.get(name)
            if bound is not None:
                right.plot([bound, bound], [y + offset - 0.2, y + offset + 0.2], color="black")
    right.set_xscale("log")
    right.set_xlabel("latency, ms (log)")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _min_ratio(result: Result) -> float | None:
    bound = result.bounds.get("min_ratio")
    return None if bound is None else float(bound) * 100
