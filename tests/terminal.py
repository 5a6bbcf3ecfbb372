"""Running the ``klantroef`` command as a person would: in a pseudo-terminal, or piped.

``in_terminal`` starts the command with a pseudo-terminal as its standard input,
output and error (so ``isatty()`` is true, getpass turns echo off on it, and rich
draws live progress bars), reads everything it shows, and types into it.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def klantroef_command() -> list[str]:
    """The installed ``klantroef`` console script of this environment."""
    script = Path(sys.executable).parent / "klantroef"
    if script.exists():
        return [str(script)]
    found = shutil.which("klantroef")
    assert found, "the klantroef console script is not installed (pip install -e .)"
    return [found]


def cli_env(config: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a client command: no server settings, its own credentials file."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_CLI_CONFIG": str(config),
        **(extra or {}),
    }


def run(
    args: list[str], env: Mapping[str, str], *, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The command with pipes (no terminal): what scripts see."""
    return subprocess.run(
        [*klantroef_command(), *args],
        input=stdin,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Terminal:
    """The master side of a pseudo-terminal with the command on the other side."""

    def __init__(self, process: subprocess.Popen[bytes], master: int) -> None:
        self.process = process
        self._master = master
        self.output = b""

    def _read(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; False once the command closed its side."""
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self._master, 65536)
        except OSError:  # EIO: every process holding the other side has exited
            return False
        self.output += data
        return bool(data)

    def expect(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the screen has shown ``text``."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            assert time.monotonic() < deadline, f"{text!r} never appeared in {self.text!r}"
            if not self._read(0.1):
                raise AssertionError(f"the command ended before {text!r}: {self.text!r}")

    def type(self, text: str) -> None:
        os.write(self._master, text.encode())

    def finish(self, timeout: float = 60.0) -> int:
        """Read until the command exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self._read(0.1):
            if self.process.poll() is not None and not select.select([self._master], [], [], 0)[0]:
                break
            assert time.monotonic() < deadline, f"the command did not end: {self.text!r}"
        return self.process.wait(timeout=10)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")


@contextmanager
def in_terminal(
    args: list[str],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    columns: int = 120,
    rows: int = 30,
) -> Iterator[Terminal]:
    """``klantroef ARGS`` with a pseudo-terminal of ``columns`` x ``rows`` as its console."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environment = {**env, "TERM": "xterm-256color", "COLUMNS": str(columns)}
    environment.pop("NO_COLOR", None)
    try:
        process = subprocess.Popen(
            [*klantroef_command(), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environment,
            cwd=cwd,
            start_new_session=True,
        )
    finally:
        os.close(slave)
    terminal = Terminal(process, master)
    try:
        yield terminal
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(master)
