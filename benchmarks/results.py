"""What a run produces: one Result per case and backend, and the ceilings beside them."""

from __future__ import annotations

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
class Result:
    """One case on one backend: the figures, the ceiling, and the verdict."""

    key: str
    title: str
    backend: str
    target: str
    bounds: dict[str, Any] = field(default_factory=dict)
    status: str = "not available"  # met | not met | not available | failed
    measurement: Measurement | None = None
    ceiling: str | None = None
    ceiling_value: float | None = None
    ratio: float | None = None
    misses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for latest.json."""
        return asdict(self)


def judge(case: Case, result: Result, views_ok: bool | None) -> None:
    """Fill ``ratio``, ``misses`` and ``status`` from the measurement and the case's target."""
    m, t = result.measurement, case.target
    if m is None:
        return
    if result.ceiling_value:
        result.ratio = m.value / result.ceiling_value
    if t.min_ratio is not None and (result.ratio is None or result.ratio < t.min_ratio):
        result.misses.append(f"ratio {_pct(result.ratio)} < {t.min_ratio:.0%}")
    if t.max_p50_ms is not None and (m.p50_ms is None or m.p50_ms >= t.max_p50_ms):
        result.misses.append(f"p50 {m.p50_ms} ms >= {t.max_p50_ms:g} ms")
    if t.max_p99_ms is not None and (m.p99_ms is None or m.p99_ms >= t.max_p99_ms):
        result.misses.append(f"p99 {m.p99_ms} ms >= {t.max_p99_ms:g} ms")
    if t.max_rss_growth_mb is not None and (
        m.rss_growth is None or m.rss_growth >= t.max_rss_growth_mb * MB
    ):
        result.misses.append(f"RSS growth {(m.rss_growth or 0) / MB:.0f} MB")
    if t.views_counted and not views_ok:
        result.misses.append("analytics count differs from the views acknowledged")
    if m.errors:
        result.notes.append(f"{m.errors} failed requests")
    result.status = "not met" if result.misses else "met"


def _pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.0%}"
