"""granian or uvicorn? ``python -m benchmarks.servers [--seconds 10] [--rounds 3] [--extra-path DIR]``

Each server, one worker, on the hello-world app and on ``GET /auth/me`` with a
bearer token (JWT check + revocation lookup, embedded SQLite), loaded with
``wrk -t2 -c32``. Rounds alternate the order of the servers so that drift on a
shared machine does not favour one; the table gives each round and the median.
``--extra-path DIR`` measures everything again with DIR on the servers'
PYTHONPATH (e.g. ``pip install --target DIR uvloop httptools``, which both
servers pick up by themselves), without touching the virtualenv.
Writes ``benchmarks/results/servers.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.client import Client, bearer
from benchmarks.procs import ServerProcess
from benchmarks.report import machine
from benchmarks.seed import first_admin_token
from benchmarks.servers_under_test import hello_server, klantroef_server
from benchmarks.tools import ensure_tools, free_port
from benchmarks.wrk import Load, WrkResult, run_wrk

SERVERS = ("granian", "uvicorn")
APPS = ("hello-world", "GET /auth/me (SQLite)")
RESULTS = Path(__file__).resolve().parent / "results"


def loop_and_parser(extra: Path | None) -> str:
    """Which event loop and uvicorn HTTP parser the servers will find."""
    found = {name for name in ("uvloop", "httptools") if _importable(name, extra)}
    loop = "uvloop" if "uvloop" in found else "asyncio"
    return f"event loop {loop}, uvicorn parser {'httptools' if 'httptools' in found else 'h11'}"


def _importable(name: str, extra: Path | None) -> bool:
    import importlib.util

    if extra is not None and (extra / name).is_dir():
        return True
    return importlib.util.find_spec(name) is not None


def measure(app: str, server: str, workdir: Path, seconds: float) -> WrkResult:
    """Start ``app`` on ``server``, warm up 2 s, then ``seconds`` of wrk -t2 -c32."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = workdir / f"{server}-{time.monotonic_ns()}"
    run.mkdir()
    process: ServerProcess
    if app == APPS[0]:
        process, path, ready = hello_server(port, run / "log", server), "/hello", "/hello"
    else:
        env = {"KLANTROEF_DATA_DIR": str(run / "data")}
        process, path, ready = (
            klantroef_server(port, env, run / "log", server),
            "/auth/me",
            "/health/ready",
        )
    with process:
        process.start(base + ready, timeout=120)
        headers: dict[str, str] = {}
        if app != APPS[0]:
            client = Client(base)
            try:
                headers = bearer(first_admin_token(client))
            finally:
                client.close()
        load = Load(headers=headers)
        run_wrk(base + path, load, seconds=2, connections=32)
        return run_wrk(base + path, load, seconds=seconds, connections=32)


def table(runs: dict[tuple[str, str], list[WrkResult]]) -> list[str]:
    """Median req/s, p50, p99 per app and server, with each round's req/s."""
    lines = [
        "| app | server | req/s (median) | p50 ms | p99 ms | req/s each round |",
        "|---|---|---:|---:|---:|---|",
    ]
    for app in APPS:
        for server in SERVERS:
            results = runs[(app, server)]
            lines.append(
                f"| {app} | {server} | {statistics.median(r.rps for r in results):,.0f} "
                f"| {statistics.median(r.p50_ms for r in results):.2f} "
                f"| {statistics.median(r.p99_ms for r in results):.2f} "
                f"| {', '.join(f'{r.rps:,.0f}' for r in results)} |"
            )
        granian = statistics.median(r.rps for r in runs[(app, "granian")])
        uvicorn = statistics.median(r.rps for r in runs[(app, "uvicorn")])
        lines.append(f"| {app} | granian / uvicorn | {granian / uvicorn:.2f}x | | | |")
    return lines


def measure_all(
    rounds: int, seconds: float, extra: Path | None
) -> dict[tuple[str, str], list[WrkResult]]:
    """Every app on every server, ``rounds`` times, with ``extra`` on PYTHONPATH."""
    saved = os.environ.get("PYTHONPATH")
    if extra is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra), saved]))
    workdir = Path(tempfile.mkdtemp(prefix="klantroef-servers-"))
    runs: dict[tuple[str, str], list[WrkResult]] = {(a, s): [] for a in APPS for s in SERVERS}
    try:
        for round_number in range(rounds):
            order = SERVERS if round_number % 2 == 0 else SERVERS[::-1]
            for app in APPS:
                for server in order:
                    print(f"round {round_number + 1}: {app} on {server}", flush=True)
                    runs[(app, server)].append(measure(app, server, workdir, seconds))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and write servers.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--extra-path", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    ensure_tools()
    info = machine()
    text = [
        "# granian or uvicorn",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {info['cpus']} CPUs · "
        f"Python {info['python']} · load average {info['load_average_1m']} at the start · "
        "one worker each, as `klantroef serve --server X` runs them · "
        f"`wrk -t2 -c32 -d{args.seconds:g}s` on the same machine, {args.rounds} rounds "
        "alternating the order, 2 s warm-up each. Figures move by 10-30% between rounds "
        "on this shared machine: compare within a table.",
    ]
    for extra in [None, *args.extra_path]:
        runs = measure_all(args.rounds, args.seconds, extra)
        where = "as installed" if extra is None else f"with {extra} on PYTHONPATH"
        text += ["", f"## {where}: {loop_and_parser(extra)}", "", *table(runs)]
    text.append("")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "servers.md").write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
