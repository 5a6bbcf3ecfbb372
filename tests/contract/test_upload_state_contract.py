"""UploadSessions and PartialUploads: the shipped contracts once per implementation,
then what only the local files have (durable across a restart of the process).
What only the S3 partial uploads have is in ``test_s3_partial_uploads.py``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from klantroef_adapters.memory.partial_uploads import InMemoryPartialUploads
from klantroef_adapters.memory.upload_sessions import InMemoryUploadSessions
from klantroef_adapters.sql.upload_sessions import SqlUploadSessions
from klantroef_adapters.storage.leases import InMemoryUploadLeases
from klantroef_adapters.storage.partial_uploads import LocalPartialUploads
from klantroef_adapters.storage.s3 import MIB
from klantroef_adapters.storage.s3_partial_uploads import S3PartialUploads
from klantroef_adapters.testing import PartialUploadsContract, UploadSessionsContract
from klantroef_adapters.testing.partial_uploads import DATA, chunks_of, read_all
from tests.contract.conftest import S3StorageUnderTest
from tests.seaweedfs import unreachable_s3_storage
from tests.sql_engines import mariadb_engine, sqlite_engine, unreachable_engine


class TestInMemoryUploadSessions(UploadSessionsContract):
    @pytest.fixture
    async def adapter(self) -> InMemoryUploadSessions:
        return InMemoryUploadSessions()


class TestSqliteUploadSessions(UploadSessionsContract):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SqlUploadSessions]:
        async with sqlite_engine(tmp_path) as engine:
            yield SqlUploadSessions(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlUploadSessions]:
        async with unreachable_engine("sqlite", tmp_path) as engine:
            yield SqlUploadSessions(engine)


@pytest.mark.mariadb
class TestMariadbUploadSessions(UploadSessionsContract):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[SqlUploadSessions]:
        async with mariadb_engine() as engine:
            yield SqlUploadSessions(engine)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> AsyncIterator[SqlUploadSessions]:
        async with unreachable_engine("mariadb", tmp_path) as engine:
            yield SqlUploadSessions(engine)


class TestInMemoryPartialUploads(PartialUploadsContract):
    @pytest.fixture
    async def adapter(self) -> InMemoryPartialUploads:
        return InMemoryPartialUploads()


class TestLocalPartialUploads(PartialUploadsContract):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> LocalPartialUploads:
        return LocalPartialUploads(tmp_path / "uploads", write_buffer=1000, read_chunk=64 * 1024)

    @pytest.fixture
    async def unreachable_adapter(self, tmp_path: Path) -> LocalPartialUploads:
        blocker = tmp_path / "a-file"
        blocker.write_bytes(b"not a folder")
        return LocalPartialUploads(blocker / "uploads")


class TestS3PartialUploads(PartialUploadsContract):
    """In the session's SeaweedFS, under a prefix of its own; the claims in memory
    (across hosts in SQL: ``test_s3_partial_uploads.py``)."""

    pytestmark = pytest.mark.seaweedfs

    @pytest.fixture
    async def adapter(self, s3_storage: S3StorageUnderTest) -> S3PartialUploads:
        return S3PartialUploads(s3_storage, InMemoryUploadLeases(), part_size=5 * MIB)

    @pytest.fixture
    async def unreachable_adapter(self) -> AsyncIterator[S3PartialUploads]:
        storage = unreachable_s3_storage()  # nothing listens there
        try:
            yield S3PartialUploads(storage, InMemoryUploadLeases())
        finally:
            await storage.close()


async def test_local_partial_bytes_outlive_the_process_that_wrote_them(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    writer = (
        "import asyncio, sys\n"
        "from klantroef_adapters.storage.partial_uploads import LocalPartialUploads\n"
        "from klantroef_adapters.testing.partial_uploads import DATA, chunks_of\n"
        "async def main() -> None:\n"
        "    store = LocalPartialUploads(sys.argv[1])\n"
        "    await store.create('u1')\n"
        "    print(await store.append('u1', 0, chunks_of(DATA[:3000])), flush=True)\n"
        "    import os; os._exit(0)  # no clean shutdown: only what was fsynced counts\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", writer, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "3000"

    store = LocalPartialUploads(folder)
    assert await store.append("u1", 3000, chunks_of(DATA[3000:])) == len(DATA)
    assert await read_all(store, "u1", len(DATA)) == DATA
    assert [p.name for p in folder.iterdir()] == ["u1.part"]
    await store.discard("u1")
    assert list(folder.iterdir()) == []
