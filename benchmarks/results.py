"""What a run produces: one Result per case and backend, and the ceilings beside them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.cases import Case
from benchmarks.wrk import WrkResult

MB = 1_000_000


@dataclass(slots=True)
class Measurement:
    """A throughput (req/s or bytes/s), its latencies, and the server's memory."""

    value: float
    unit: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss: int | None = None
    rss_growth: int | None = None
    errors: int = 0
    requests: int = 0
    cpu_user_s: float | None = None
    cpu_sys_s: float | None = None

    @classmethod
    def of_wrk(cls, run: WrkResult, metric: str) -> Measurement:
        """From a wrk run: req/s, or bytes/s when ``metric`` is ``bytes``."""
        value, unit = (run.bytes_per_s, "B/s") if metric == "bytes" else (run.rps, "req/s")
        return cls(value, unit, run.p50_ms, run.p99_ms, errors=run.failed, requests=run.requests)

    def cpu_per_request_us(self) -> tuple[float, float] | None:
        """Server CPU microseconds per request, (user, system)."""
        if not self.requests or self.cpu_user_s is None or self.cpu_sys_s is None:
            return None
        return self.cpu_user_s / self.requests * 1e6, self.cpu_sys_s / self.requests * 1e6


@dataclass(slots=True)
class Round:
    """One round of a case: its figures, the ceiling measured in that round, the ratio,
    and whether the views added up (view case only)."""

    measurement: Measurement
    ceiling_value: float | None = None
    ratio: float | None = None
    views_ok: bool | None = None


@dataclass(slots=True)
class Result:
    """One case on one backend: the figures, the ceiling, and the verdict.

    With several rounds, ``measurement``, ``ceiling_value`` and ``ratio`` are the
    medians of ``rounds`` (see :func:`combine`); each round is kept for the spread.
    A check (``kind == "check"``) has no figures, only a verdict and its notes.
    """

    key: str
    title: str
    backend: str
    target: str
    bounds: dict[str, Any] = field(default_factory=dict)
    status: str = "not available"  # met | not met | measured | not available | failed
    measurement: Measurement | None = None
    ceiling: str | None = None
    ceiling_value: float | None = None
    ratio: float | None = None
    misses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    workers: int = 1
    kind: str = "case"  # case | check

    def to_json(self) -> dict[str, Any]:
        """A plain dict for latest.json."""
        return asdict(self)

    def add_round(self, measurement: Measurement, views_ok: bool | None = None) -> None:
        """Keep one round's figures, with the ratio to this round's ``ceiling_value``."""
        ratio = measurement.value / self.ceiling_value if self.ceiling_value else None
        self.rounds.append(Round(measurement, self.ceiling_value, ratio, views_ok))

    def spread(self, pick: str) -> tuple[float, float] | None:
        """(min, max) of one figure over the rounds (``value``, ``p50_ms``, ``p99_ms``,
        ``ratio``), or None with fewer than two rounds holding it."""
        found = [_figure(r, pick) for r in self.rounds]
        values = [v for v in found if v is not None]
        if len(values) < 2:
            return None
        return min(values), max(values)


def _figure(r: Round, pick: str) -> float | None:
    if pick == "ratio":
        return r.ratio
    value: float | None = getattr(r.measurement, pick)
    return value


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def combine(result: Result) -> None:
    """Set ``measurement``, ``ceiling_value`` and ``ratio`` from the rounds: the median
    of each figure (throughput, p50, p99, ratio and ceiling each on its own); memory is
    the worst round's, errors, requests and CPU are summed (CPU per request stays a mean)."""
    rounds = result.rounds
    if not rounds:
        return
    ms = [r.measurement for r in rounds]
    worst = max(ms, key=lambda m: m.rss_growth or 0)
    cpu_known = all(m.cpu_user_s is not None and m.cpu_sys_s is not None for m in ms)
    result.measurement = Measurement(
        statistics.median(m.value for m in ms),
        ms[0].unit,
        p50_ms=_median([m.p50_ms for m in ms]),
        p99_ms=_median([m.p99_ms for m in ms]),
        peak_rss=max((m.peak_rss for m in ms if m.peak_rss is not None), default=None),
        rss_growth=worst.rss_growth,
        errors=sum(m.errors for m in ms),
        requests=sum(m.requests for m in ms),
        cpu_user_s=sum(m.cpu_user_s or 0 for m in ms) if cpu_known else None,
        cpu_sys_s=sum(m.cpu_sys_s or 0 for m in ms) if cpu_known else None,
    )
    result.ceiling_value = _median([r.ceiling_value for r in rounds])
    result.ratio = _median([r.ratio for r in rounds])


def judge(case: Case, result: Result) -> None:
    """Combine the rounds, then fill ``misses`` and ``status`` from the medians and the
    case's target (the views must have added up in every round)."""
    combine(result)
    m, t = result.measurement, case.target
    if m is None:
        return
    if m.errors:
        result.notes.append(f"{m.errors} failed requests")
    if result.workers > 1:  # the extra pass: figures beside one worker's, exactness only
        if t.views_counted and not all(r.views_ok for r in result.rounds):
            result.misses.append("analytics count differs from the views acknowledged")
        result.status = "not met" if result.misses else "measured"
        return
    if t.min_ratio is not None and (result.ratio is None or result.ratio < t.min_ratio):
        result.misses.append(f"ratio {_pct(result.ratio)} < {t.min_ratio:.0%}")
    if t.max_p50_ms is not None and (m.p50_ms is None or m.p50_ms >= t.max_p50_ms):
        result.misses.append(f"p50 {_num(m.p50_ms)} ms >= {t.max_p50_ms:g} ms")
    if t.max_p99_ms is not None and (m.p99_ms is None or m.p99_ms >= t.max_p99_ms):
        result.misses.append(f"p99 {_num(m.p99_ms)} ms >= {t.max_p99_ms:g} ms")
    if t.max_rss_growth_mb is not None and (
        m.rss_growth is None or m.rss_growth >= t.max_rss_growth_mb * MB
    ):
        result.misses.append(f"RSS growth {(m.rss_growth or 0) / MB:.0f} MB")
    if t.views_counted and not all(r.views_ok for r in result.rounds):
        result.misses.append("analytics count differs from the views acknowledged")
    result.status = "not met" if result.misses else "met"


def _pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.0%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
