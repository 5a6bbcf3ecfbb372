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
from benchmarks.results import Measurement, Result
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
    rounds: int = 1
    durability_views: int = 500

    @classmethod
    def of(cls, quick: bool, rounds: int | None = None) -> Mode:
        """The quick (1 round) or the full mode (3 rounds); ``rounds`` overrides."""
        if quick:
            return cls("quick", 3, 1, 64 * 1024**2, 100_000, 2, 300, rounds or 1, 200)
        return cls("full", 15, 3, 1024**3, 1_000_000, 3, 2000, rounds or 3, 500)


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
    headers |= dict(case.headers)
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
    label: str = "",
) -> None:
    """Measure ``case`` once into a new round of ``result`` (against the round's
    ``result.ceiling_value``); ``profile_to`` adds a py-spy pass. ``upload_ceiling``
    (bytes/s of one run) replaces dd between the uploads. ``label`` prefixes this
    round's notes. Judging waits for every round (``results.judge``)."""
    views_ok: bool | None = None
    if case.driver == "upload":
        before = len(result.notes)
        measurement = measure_uploads(
            fixture, media_file, mode.uploads, pid, result, upload_ceiling
        )
        result.notes[before:] = [label + note for note in result.notes[before:]]
    else:
        url, load = load_of(case, fixture)
        counted = case.key == "view" and fixture.media is not None
        totals: list[int] = []

        def read_total() -> None:
            totals.append(settled_total(fixture, fixture.media or ""))

        measurement, statuses = measure_wrk(
            url, load, mode, case.connections, case.metric, pid, read_total if counted else None
        )
        if statuses:
            result.notes.append(
                f"{label}statuses: {statuses['2xx']} 2xx, {statuses['429']} 429, "
                f"{statuses['other']} other"
            )
        if counted and statuses:
            read_total()
            views_ok = _views_add_up(
                fixture, case, url, mode, statuses["2xx"], totals, result, label
            )
        if profile_to is not None:
            profile(url, load, mode, case, pid, profile_to, result)
    result.add_round(measurement, views_ok)


def _views_add_up(
    fixture: Fixture,
    case: Case,
    url: str,
    mode: Mode,
    acknowledged: int,
    totals: list[int],
    result: Result,
    label: str = "",
) -> bool:
    """Whether analytics counted exactly the views acknowledged.

    Under wrk the total may exceed wrk's count by at most one request per
    connection: those in flight when wrk stopped were served but not counted by
    wrk. The bounded burst that follows is counted exactly, both sides.
    """
    extra = totals[1] - totals[0] - acknowledged
    result.notes.append(
        f"{label}wrk run: {acknowledged} views acknowledged, analytics rose by {totals[1] - totals[0]} "
        f"({extra} served after wrk stopped counting; at most {case.connections} allowed)"
    )
    exact, note = exact_view_check(
        fixture, fixture.media or "", url.removeprefix(fixture.base_url), mode.exact_views
    )
    result.notes.append(label + note)
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
