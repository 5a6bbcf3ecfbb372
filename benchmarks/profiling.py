"""py-spy on the server while a case runs, and a summary of where the time went."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

PACKAGES = (
    "klantroef_core", "klantroef_adapters", "klantroef_http", "litestar", "msgspec",
    "sqlalchemy", "aiosqlite", "aiomysql", "pymysql", "redis", "joserfc", "granian",
    "asyncio", "dependency_injector", "multipart", "sqlite3", "ssl", "logging",
)  # fmt: skip


# Frames every sample shares (process start, the event loop, thread bootstrap):
# left out of the inclusive table, where they would only say "100%".
SCAFFOLD = (
    "multiprocessing/", "granian/server/", "threading.py", "klantroef_adapters/cli.py",
    "<module>", "run_forever", "run_until_complete", "_run_once", "Handle._run",
)  # fmt: skip
RATE = 200


def py_spy() -> str:
    """The py-spy executable (the venv's first, then PATH)."""
    local = Path(sys.executable).with_name("py-spy")
    found = str(local) if local.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    return found


def start_recording(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid`` and its children (granian's worker) for ``seconds``, collapsed stacks.

    ``--gil`` keeps only samples of the thread holding the GIL: what Python is
    actually executing. Threads parked on a queue (aiosqlite's workers) would
    otherwise show up as busy; the share of samples kept is itself a finding.
    """
    return subprocess.Popen(
        [
            py_spy(), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil",
            "--rate", str(RATE), "--duration", str(seconds), "--format", "raw",
            "--output", str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _package(frame: str) -> str:
    for name in PACKAGES:
        if f"/{name}/" in frame or f"{name}.py" in frame or f"({name}" in frame:
            return name
    return "other"


def summarise(folded: Path, title: str, seconds: float, top: int = 12) -> str:
    """Markdown: how much of the wall time Python held the GIL, samples by package of
    the leaf frame, and the heaviest functions by self and by inclusive time."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if not any(mark in frame for mark in SCAFFOLD):
                inclusive[frame] += count
    if not total:
        return f"### {title}\n\nno samples\n"
    held = total / (RATE * seconds)
    lines = [
        f"### {title}",
        "",
        f"{total} samples at {RATE} Hz over {seconds:g} s: Python held the GIL about "
        f"{held:.0%} of the wall time.",
        "",
        "| leaf package | share |",
        "|---|---|",
    ]
    lines += [f"| {name} | {n / total:.0%} |" for name, n in packages.most_common(top)]
    for heading, counter in (("self", self_time), ("inclusive", inclusive)):
        lines += ["", f"| function ({heading}) | share |", "|---|---|"]
        lines += [f"| `{name.strip()}` | {n / total:.1%} |" for name, n in counter.most_common(top)]
    return "\n".join(lines) + "\n"
