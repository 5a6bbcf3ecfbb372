"""Server processes under test: start, wait until they answer, sample memory, stop.

Every process is started in its own session so that stopping it ends the
whole tree it spawned (granian's worker, nginx's worker) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def tree_rss(root: int) -> int:
    """Resident memory of ``root``'s process tree right now, in bytes."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def tree_cpu(root: int) -> tuple[float, float]:
    """CPU seconds (user, system) spent so far by ``root``'s live process tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11])  # utime (field 14 of stat, counted after the name)
        system += int(fields[12])  # stime
    return user / ticks, system / ticks


class RssSampler:
    """Samples a process tree's RSS in a background thread; ``peak`` is the highest seen.

    Use as a context manager around one measurement: ``baseline`` is the RSS
    when it started, so ``growth`` is what the measured work added; ``cpu`` is
    the (user, system) CPU seconds the tree spent meanwhile.
    """

    def __init__(self, root: int, interval: float = 0.02) -> None:
        self._root = root
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.baseline = 0
        self.peak = 0
        self.cpu = (0.0, 0.0)
        self._cpu_start = (0.0, 0.0)

    def __enter__(self) -> RssSampler:
        self.baseline = self.peak = tree_rss(self._root)
        self._cpu_start = tree_cpu(self._root)
        self._thread.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self._root))
        user, system = tree_cpu(self._root)
        self.cpu = (user - self._cpu_start[0], system - self._cpu_start[1])

    @property
    def growth(self) -> int:
        """How far the peak rose above the baseline, in bytes."""
        return max(0, self.peak - self.baseline)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, tree_rss(self._root))


class ServerProcess:
    """One server under test: a command, its environment, and a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = dict(env)
        self._log_path = log
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The root process id (the supervisor, whose tree holds the workers)."""
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._proc.pid

    def start(self, ready_url: str, timeout: float = 60.0) -> None:
        """Start the process and wait until ``ready_url`` answers 200."""
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._argv,
                env=self._env,
                cwd=self._cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self._log_path}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer {ready_url}; see {self._log_path}")

    def stop(self) -> None:
        """Ask the process group to stop (SIGTERM), then insist (SIGKILL) after 10 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def kill(self) -> None:
        """``kill -9`` of the whole process tree at once (its process group), no grace;
        ``start`` may follow, on the same data."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        tree = process_tree(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in tree[1:]:  # any descendant that left the group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
