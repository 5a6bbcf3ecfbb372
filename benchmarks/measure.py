"""Running one case (or one ceiling) and turning it into a Measurement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cases import Case
from benchmarks.checks import exact_view_check, settled_total
from benchmarks.client import bearer
from benchmarks.procs import RssSampler
from benchmarks.profiling import start_recording, summarise
from benchmarks.results import Measurement, Result, judge
from benchmarks.seed import Fixture
from benchmarks.uploads import measure_uploads
from benchmarks.wrk import Load, run_wrk


@dataclass(frozen=True, slots=True)
class Mode:
    """How long and how big: quick for CI, full for people."""

    name: str
    seconds: float
    warmup: float
    file_size: int
    views: int
    uploads: int
    exact_views: int

    @classmethod
    def of(cls, quick: bool) -> Mode:
        """The quick or the full mode."""
        if quick:
            return cls("quick", 3, 1, 64 * 1024**2, 100_000, 2, 300)
        return cls("full", 15, 3, 1024**3, 1_000_000, 3, 2000)


def measure_wrk(
    url: str,
    load: Load,
    mode: Mode,
    connections: int,
    metric: str,
    pid: int,
    after_warmup: Callable[[], None] | None = None,
) -> tuple[Measurement, dict[str, int] | None]:
    """Warm up, then one measured wrk run with the server's RSS and CPU sampled throughout."""
    run_wrk(url, load, seconds=mode.warmup, connections=connections)
    if after_warmup is not None:
        after_warmup()
    with RssSampler(pid) as rss:
        run = run_wrk(url, load, seconds=mode.seconds, connections=connections)
    measurement = Measurement.of_wrk(run, metric)
    measurement.peak_rss, measurement.rss_growth = rss.peak, rss.growth
    measurement.cpu_user_s, measurement.cpu_sys_s = rss.cpu
    return measurement, dict(run.statuses) if run.statuses else None


def load_of(case: Case, fixture: Fixture) -> tuple[str, Load]:
    """The URL and the wrk load of ``case`` against the seeded ``fixture``."""
    fields = {"media": fixture.media or "", "analytics_media": fixture.analytics_media or ""}
    if "{stream_token}" in case.path:
        fields["stream_token"] = fixture.stream_token()
    headers = bearer(fixture.token) if case.auth == "bearer" else {}
    load = Load(
        method=case.method,
        headers=headers,
        many_ips=case.many_ips,
        range_bytes=case.range_bytes,
        file_size=fixture.file_size,
        random_days=case.random_days,
        count_status=case.count_status,
    )
    return fixture.base_url + case.path.format(**fields), load


def run_case(
    case: Case,
    fixture: Fixture,
    result: Result,
    pid: int,
    mode: Mode,
    media_file: Path,
    profile_to: Path | None,
    upload_ceiling: Callable[[], float] | None = None,
) -> None:
    """Measure ``case`` into ``result`` and judge it; ``profile_to`` adds a py-spy pass.
    ``upload_ceiling`` (bytes/s of one run) replaces dd between the uploads."""
    views_ok: bool | None = None
    if case.driver == "upload":
        result.measurement = measure_uploads(
            fixture, media_file, mode.uploads, pid, result, upload_ceiling
        )
    else:
        url, load = load_of(case, fixture)
        counted = case.key == "view" and fixture.media is not None
        totals: list[int] = []

        def read_total() -> None:
            totals.append(settled_total(fixture, fixture.media or ""))

        result.measurement, statuses = measure_wrk(
            url, load, mode, case.connections, case.metric, pid, read_total if counted else None
        )
        if statuses:
            result.notes.append(
                f"statuses: {statuses['2xx']} 2xx, {statuses['429']} 429, {statuses['other']} other"
            )
        if counted and statuses:
            read_total()
            views_ok = _views_add_up(fixture, case, url, mode, statuses["2xx"], totals, result)
        if profile_to is not None:
            profile(url, load, mode, case, pid, profile_to, result)
    judge(case, result, views_ok)


def _views_add_up(
    fixture: Fixture,
    case: Case,
    url: str,
    mode: Mode,
    acknowledged: int,
    totals: list[int],
    result: Result,
) -> bool:
    """Whether analytics counted exactly the views acknowledged.

    Under wrk the total may exceed wrk's count by at most one request per
    connection: those in flight when wrk stopped were served but not counted by
    wrk. The bounded burst that follows is counted exactly, both sides.
    """
    extra = totals[1] - totals[0] - acknowledged
    result.notes.append(
        f"wrk run: {acknowledged} views acknowledged, analytics rose by {totals[1] - totals[0]} "
        f"({extra} served after wrk stopped counting; at most {case.connections} allowed)"
    )
    exact, note = exact_view_check(
        fixture, fixture.media or "", url.removeprefix(fixture.base_url), mode.exact_views
    )
    result.notes.append(note)
    return exact and 0 <= extra <= case.connections


def profile(
    url: str, load: Load, mode: Mode, case: Case, pid: int, out: Path, result: Result
) -> None:
    """A separate wrk pass under py-spy (its figures are not the case's: sampling costs)."""
    seconds = int(mode.seconds)
    folded = out.with_suffix(".folded")
    recorder = start_recording(pid, seconds, folded)
    run_wrk(url, load, seconds=seconds + 1, connections=case.connections)  # covers attaching
    recorder.wait(timeout=seconds + 60)
    title = f"{case.title} ({result.backend})"
    if folded.exists():
        out.write_text(summarise(folded, title, seconds))
    else:
        out.write_text(f"### {title}\n\npy-spy recorded nothing\n")
    result.notes.append(f"profile: [{out.name}]({out.name})")
