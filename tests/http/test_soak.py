"""Issue 11's soak: two real processes over MariaDB and Redis lose nothing under mixed load.

``KLANTROEF_SOAK_SECONDS`` of traffic (60 here, in CI; ``nox -s soak`` runs 600),
then the audit of ``tests/soak.py``: every acknowledged view counted once (both
processes' analytics, the database rows), every stored file's SHA-256 equal to
what was sent, every logged-out token refused on both, no temporary file left,
no 5xx, the view limit held in every 60-second window, and memory flat.
Skips without MariaDB or Redis, and fails instead under ``KLANTROEF_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.soak import run_soak
from tests.sql_engines import fresh_database


async def test_a_soak_on_two_processes_loses_nothing(
    tmp_path: Path, mariadb_url: str, redis_url: str
) -> None:
    seconds = float(os.environ.get("KLANTROEF_SOAK_SECONDS", "60"))
    database_url = await fresh_database(mariadb_url, suffix="soak")

    report = await run_soak(tmp_path, database_url, redis_url, seconds)

    print(report.summary())  # the figures, shown with -s or on failure
    assert report.findings == [], report.summary()
