"""The upload case: the whole file through ``POST /media`` with curl, the ceiling (dd, or a
direct S3 upload on S3 storage) in between."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

from benchmarks.client import Client, bearer, curl_upload
from benchmarks.procs import RssSampler
from benchmarks.results import Measurement, Result
from benchmarks.seed import Fixture
from benchmarks.tools import dd_write_speed

MIB = 1024 * 1024


def measure_uploads(
    fixture: Fixture,
    media_file: Path,
    uploads: int,
    pid: int,
    result: Result,
    ceiling: Callable[[], float] | None = None,
) -> Measurement:
    """Upload the whole file ``uploads`` times with curl; bytes/s is the median.

    Before each upload dd writes the same amount to the same filesystem: the
    disk's speed swings with what else the machine does, so the ceiling is the
    median of those interleaved runs. ``ceiling`` (bytes/s of one run) replaces dd:
    on S3 storage it is the same file uploaded straight to the store. Each upload is deleted afterwards (when
    DELETE exists) to keep the disk in check.
    """
    size = media_file.stat().st_size
    speeds: list[float] = []
    disk: list[float] = []
    reply_file = media_file.with_name("upload-case-reply.json")
    with RssSampler(pid) as rss:
        for _ in range(uploads):
            if ceiling is None:
                disk.append(dd_write_speed(media_file.parent, size // MIB))
            else:
                disk.append(ceiling())
            status, seconds = curl_upload(
                f"{fixture.base_url}/media", fixture.token, media_file, reply_file
            )
            if status != 201:
                raise RuntimeError(f"upload answered {status}: {reply_file.read_text()[:200]}")
            speeds.append(size / seconds)
            if fixture.has("DELETE", "/media/{}"):
                _delete(fixture, reply_file)
    result.ceiling_value = statistics.median(disk)
    result.notes.append(
        f"uploads of {size:,} bytes (MB/s): "
        + ", ".join(f"{s / 1e6:.0f}" for s in speeds)
        + ("; dd" if ceiling is None else "; direct S3 upload")
        + " before each (MB/s): "
        + ", ".join(f"{d / 1e6:.0f}" for d in disk)
    )
    seconds_each = [size / s for s in speeds]
    return Measurement(
        statistics.median(speeds),
        "B/s",
        p50_ms=statistics.median(seconds_each) * 1000,
        p99_ms=max(seconds_each) * 1000,
        peak_rss=rss.peak,
        rss_growth=rss.growth,
        requests=len(speeds),
        cpu_user_s=rss.cpu[0],
        cpu_sys_s=rss.cpu[1],
    )


def _delete(fixture: Fixture, reply_file: Path) -> None:
    media_id = json.loads(reply_file.read_text())["id"]
    client = Client(fixture.base_url)
    try:
        client.request("DELETE", f"/media/{media_id}", headers=bearer(fixture.token))
    finally:
        client.close()
