"""How each server under test is started: Klantroef as deployed, the hello-world, nginx."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from benchmarks.procs import ServerProcess

REPO = Path(__file__).resolve().parent.parent


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without any ``KLANTROEF_*`` of the caller's, plus ``extra``;
    the repository first on PYTHONPATH (for ``benchmarks.hello_app``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return env | dict(extra)


def klantroef_server(
    port: int, env: Mapping[str, str], log: Path, server: str = "granian", workers: int = 1
) -> ServerProcess:
    """``klantroef serve`` exactly as a user runs it: one worker (unless ``workers``
    says more), loopback, migrations on."""
    exe = Path(sys.executable).with_name("klantroef")
    argv = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers), "--server", server]
    return ServerProcess(f"klantroef ({server})", argv, clean_env(env), log, REPO)


def hello_server(port: int, log: Path, server: str = "granian") -> ServerProcess:
    """The Litestar hello-world on the same server and worker count."""
    argv = [sys.executable, "-m", "benchmarks.hello_app", "--port", str(port)]
    argv += ["--server", server]
    return ServerProcess(f"hello ({server})", argv, clean_env({}), log, REPO)
