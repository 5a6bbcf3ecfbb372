"""Fixtures shared by the contract suites."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from klantroef_adapters.sql.engine import SqlEngine
from klantroef_adapters.storage.s3 import S3MediaStorage
from tests.seaweedfs import SeaweedS3
from tests.sql_engines import mariadb_engine, sqlite_engine

S3_TEST_BUCKET = "klantroef-test"


@pytest.fixture(params=["sqlite", "mariadb"])
async def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlEngine]:
    """Each SQL engine in turn, with the schema and no rows."""
    if request.param == "sqlite":
        async with sqlite_engine(tmp_path) as engine:
            yield engine
    else:
        async with mariadb_engine() as engine:
            yield engine


class S3StorageUnderTest(S3MediaStorage):
    """The S3 adapter, remembering the server it talks to so tests can look inside."""

    def __init__(self, server: SeaweedS3, **options: Any) -> None:
        super().__init__(
            S3_TEST_BUCKET,
            endpoint=server.endpoint,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
            prefix=f"t-{secrets.token_hex(6)}/",  # each test its own corner of one bucket
            **options,
        )
        self.server = server


@pytest.fixture
async def s3_storage(seaweedfs: SeaweedS3) -> AsyncIterator[S3StorageUnderTest]:
    """The S3 adapter on the session's SeaweedFS, under a prefix of its own."""
    storage = S3StorageUnderTest(seaweedfs, read_chunk=1000)
    await storage.ensure_bucket()
    try:
        yield storage
    finally:
        await storage.close()
