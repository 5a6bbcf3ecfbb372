"""Developer tasks: ``nox -s lint tests`` (and ``bench`` once benchmarks exist)."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict, import-linter (the dependency rule), hadolint, the compose schema."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("mypy", "--strict", "tests", "benchmarks")
    session.run("lint-imports")
    session.run("hadolint", "Dockerfile")
    session.run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite; MariaDB/Redis tests skip unless the servers answer."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Schemathesis against real servers, 5 minutes a backend (CI runs 30 seconds each)."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "tests/http/test_openapi_fuzz.py",
        *session.posargs,
        env={"KLANTROEF_FUZZ_SECONDS": "300"},
    )


@nox.session
def soak(session: nox.Session) -> None:
    """Issue 11's soak: two real processes under mixed traffic for 10 minutes (CI runs 60 s),
    then the audit; ``KLANTROEF_SOAK_SECONDS`` overrides the length. Needs MariaDB and Redis."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "tests/http/test_soak.py",
        "-s",
        *session.posargs,
        env={"KLANTROEF_SOAK_SECONDS": os.environ.get("KLANTROEF_SOAK_SECONDS", "600")},
    )


@nox.session
def hostile(session: nox.Session) -> None:
    """Hostile clients against real servers, long: a 200 MiB file, 30-second rounds."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "tests/http/test_hostile_clients.py",
        *session.posargs,
        env={"KLANTROEF_HOSTILE_LONG": "1"},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark harness (``-- --quick`` for the short CI run)."""
    session.install("-e", ".[dev,bench]")
    session.run("python", "-m", "benchmarks.run", *session.posargs)


@nox.session
def bench_hls(session: nox.Session) -> None:
    """HLS: packaging a 10-minute file, segment req/s against /stream (not in CI)."""
    session.install("-e", ".[dev,bench]")
    session.run("python", "-m", "benchmarks.hls", *session.posargs)
