"""Schemathesis against a real server: every answer matches the OpenAPI document.

All checks, all phases (examples, coverage, fuzzing, stateful), a fixed seed and
a time budget per backend (``KLANTROEF_FUZZ_SECONDS``, 30 by default; ``nox -s
fuzz`` runs it longer). The exceptions it allows are in ``schemathesis.toml``,
each with the reason the schema cannot state it. A failure prints schemathesis'
report, with the seed and a ``st replay`` line for each case.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer, live_server
from tests.real_servers import CREDENTIALS
from tests.services import MARIADB_URL, REDIS_URL, require
from tests.sql_engines import fresh_database

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261130


def fuzz_seconds() -> int:
    return int(os.environ.get("KLANTROEF_FUZZ_SECONDS", "30"))


def run_schemathesis(server: LiveServer) -> subprocess.CompletedProcess[str]:
    signup = httpx.post(f"{server.base_url}/auth/signup", json=CREDENTIALS, timeout=30)
    assert signup.status_code == 201, signup.text
    login = httpx.post(f"{server.base_url}/auth/login", json=CREDENTIALS, timeout=30)
    token = login.json()["token"]
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.base_url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-time",
        str(fuzz_seconds()),
        "--seed",
        str(SEED),
        "--exclude-path",
        "/auth/logout",  # it would revoke the token every other operation uses
        "--generation-database",
        "none",
    ]
    environment = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
    return subprocess.run(
        command,
        cwd=ROOT,  # schemathesis.toml
        env=environment,
        capture_output=True,
        text=True,
        timeout=fuzz_seconds() + 240,
        check=False,
    )


@pytest.fixture(params=["embedded", pytest.param("mariadb-redis", marks=pytest.mark.mariadb)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    env: dict[str, str] = {}
    if request.param == "mariadb-redis":
        require("MariaDB", MARIADB_URL)
        require("Redis", REDIS_URL)
        database = asyncio.run(fresh_database(MARIADB_URL, "fuzz"))
        env = {"KLANTROEF_DATABASE_URL": database, "KLANTROEF_REDIS_URL": REDIS_URL}
    with live_server(tmp_path / "data", env) as running:
        yield running


def test_every_answer_matches_the_openapi_document(server: LiveServer) -> None:
    run = run_schemathesis(server)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert f"Seed: {SEED}" in report
    selected = re.search(r"Selected: (\d+)/", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected, report
    assert tested, report
    assert tested.group(1) == selected.group(1), f"not every operation was tested:\n{report}"
