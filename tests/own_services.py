"""Private Redis and MariaDB servers that a fault test may kill, freeze and restart.

The shared servers of the machine are never touched: each instance here is its
own ``redis-server`` or ``mariadbd`` process, on a spare loopback port, with its
data in a temporary folder that goes with it. :meth:`kill` (SIGKILL),
:meth:`freeze` (SIGSTOP: what a stalled disk or a network partition looks like
from the client) and :meth:`thaw` (SIGCONT) act on that one process only;
:meth:`start` brings it back on the same port (Redis empty, MariaDB after crash
recovery, with every committed transaction).

A test that needs one skips when the binary is missing, and fails instead when
``KLANTROEF_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.live_server import free_port
from tests.services import services_required


def require_binary(*names: str) -> str:
    """The first of ``names`` on PATH (or in /usr/sbin); skip, or fail in CI, when none is."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    message = f"{' or '.join(names)} is not installed"
    if services_required():
        pytest.fail(message + " and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class OwnServer:
    """One server process of our own; subclasses say how to start it and when it is up."""

    name = "server"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.log = folder / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return _accepts(self.port)

    def start(self, timeout: float = 60.0) -> None:
        """Start the process (again) on the same port; return once it answers."""
        if self._process is not None and self._process.poll() is None:
            raise RuntimeError(f"{self.name} is already running")
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(
                self.command(),
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{_tail(self.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not come up in {timeout} s:\n{_tail(self.log)}"
                )
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def kill(self) -> None:
        """SIGKILL: gone at once, no clean shutdown (thawed first, so it can die)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
                os.kill(process.pid, signal.SIGCONT)
        process.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (a stalled disk, a partition)."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


class OwnRedis(OwnServer):
    """``redis-server`` with no persistence: after :meth:`kill` and :meth:`start` it is empty."""

    name = "redis"

    def __init__(self, folder: Path, binary: str) -> None:
        super().__init__(folder)
        self._binary = binary

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self._binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as conn:
                conn.sendall(b"PING\r\n")
                conn.settimeout(0.5)
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class OwnMariaDB(OwnServer):
    """``mariadbd`` on a datadir of its own (``mariadb-install-db``), root without password.

    Durable commits (``innodb_flush_log_at_trx_commit=1``, the default), so what it
    acknowledged survives :meth:`kill`; small buffers, no binary log.
    """

    name = "mariadb"
    database = "klantroef_faults"

    def __init__(self, folder: Path, binary: str, install: str) -> None:
        super().__init__(folder)
        self._binary = binary
        self._install = install
        self.datadir = folder / "data"

    @property
    def url(self) -> str:
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/{self.database}"

    def install(self) -> None:
        subprocess.run(
            [
                self._install,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root" if os.geteuid() == 0 else f"--user={os.getlogin()}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def command(self) -> list[str]:
        return [
            self._binary,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.folder / 'mariadb.sock'}",
            f"--pid-file={self.folder / 'mariadb.pid'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M",
            *(["--user=root"] if os.geteuid() == 0 else []),
        ]

    def ready(self) -> bool:
        if not _accepts(self.port):
            return False
        answer = subprocess.run(
            [
                shutil.which("mariadb") or shutil.which("mysql") or "mysql",
                "-h",
                "127.0.0.1",
                "-P",
                str(self.port),
                "-u",
                "root",
                "-e",
                f"CREATE DATABASE IF NOT EXISTS {self.database} CHARACTER SET utf8mb4",
            ],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return answer.returncode == 0


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    """A private, empty Redis on a spare port; killed and removed on exit."""
    binary = require_binary("redis-server")
    folder = Path(tempfile.mkdtemp(prefix="klantroef-redis-"))
    server = OwnRedis(folder, binary)
    try:
        server.start()
        yield server
    finally:
        with suppress(ProcessLookupError):
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def own_mariadb() -> Iterator[OwnMariaDB]:
    """A private MariaDB (fresh datadir, database ``klantroef_faults``); killed and removed on exit."""
    binary = require_binary("mariadbd", "mysqld")
    install = require_binary("mariadb-install-db", "mysql_install_db")
    require_binary("mariadb", "mysql")
    folder = Path(tempfile.mkdtemp(prefix="klantroef-mariadb-"))
    server = OwnMariaDB(folder, binary, install)
    try:
        server.install()
        server.start()
        yield server
    finally:
        with suppress(ProcessLookupError):
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


# --- small disks ------------------------------------------------------------------------


@contextmanager
def small_disk(folder: Path, size_bytes: int) -> Iterator[str]:
    """``folder`` as a file system that fills up at ``size_bytes``; yields how.

    A tmpfs of that size where this process may mount one (root, as in CI); else the
    folder stays on its disk and the caller must limit the server's file size with
    :func:`limit_file_size` (``prlimit --fsize``: writes past it fail with EFBIG).
    """
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        yield "fsize"
        return
    try:
        yield "tmpfs"
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def limit_file_size(pids: list[int], size_bytes: int) -> None:
    """RLIMIT_FSIZE on running processes: a write past ``size_bytes`` fails (EFBIG;
    Python ignores SIGXFSZ)."""
    for pid in pids:
        subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={size_bytes}"], check=True)


@contextmanager
def read_only(folder: Path, how: str) -> Iterator[None]:
    """``folder`` read-only while the block runs: the tmpfs remounted ``ro``, or (not
    root) its mode 0555; root ignores modes, so a plain folder cannot be made read-only."""
    if how == "tmpfs":
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        return
    if os.geteuid() == 0:
        pytest.skip("cannot make a folder read-only for root without mounting")
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(mode)


def process_group(pid: int) -> list[int]:
    """Every process in ``pid``'s process group (a server and its workers)."""
    found = subprocess.run(
        ["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True, check=False
    )
    return [int(line) for line in found.stdout.split()]
