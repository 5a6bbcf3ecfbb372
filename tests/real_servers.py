"""Real ``klantroef serve`` processes sharing one database: starting them, seeding, signing in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from tests.factories import make_media
from tests.live_server import LiveServer, live_server
from tests.seaweedfs import SeaweedS3

CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}
SECRETS = {
    "KLANTROEF_ACCESS_SECRET": "a" * 40,
    "KLANTROEF_STREAM_SECRET": "s" * 40,
    "KLANTROEF_IP_HASH_SECRET": "h" * 40,
}
VIEW_LIMIT = 30  # the default KLANTROEF_VIEW_RATE, 30/minute
PREFIX = "media/"


def s3_env(server: SeaweedS3, bucket: str) -> dict[str, str]:
    return {
        "KLANTROEF_S3_BUCKET": bucket,
        "KLANTROEF_S3_ENDPOINT": server.endpoint,
        "KLANTROEF_S3_REGION": server.region,
        "KLANTROEF_S3_ACCESS_KEY_ID": server.access_key_id,
        "KLANTROEF_S3_SECRET_ACCESS_KEY": server.secret_access_key,
        "KLANTROEF_S3_PREFIX": PREFIX,
    }


def fresh_bucket() -> str:
    return f"klantroef-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def clients(servers: list[LiveServer]) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=servers[0].base_url, timeout=30) as a,
        httpx.AsyncClient(base_url=servers[1].base_url, timeout=30) as b,
    ):
        yield [a, b]


@contextmanager
def two_servers(folder: Path, database_url: str, redis_url: str) -> Iterator[list[LiveServer]]:
    """Two ``klantroef serve`` processes on one database and one Redis; the first migrates."""
    env = {
        "KLANTROEF_DATABASE_URL": database_url,
        "KLANTROEF_REDIS_URL": redis_url,
        "KLANTROEF_TRUSTED_PROXIES": "127.0.0.1",
        "KLANTROEF_ACCESS_SECRET": "a" * 40,
        "KLANTROEF_STREAM_SECRET": "s" * 40,
        "KLANTROEF_IP_HASH_SECRET": "h" * 40,
    }
    with (
        live_server(folder / "one", env) as one,
        live_server(folder / "two", env, migrate=False) as two,
    ):
        yield [one, two]


async def add_media(database_url: str, count: int) -> list[str]:
    """Media rows written straight to the shared database (views never read the file)."""
    engine = create_engine(database_url)
    try:
        repository = SqlMediaRepository(engine)
        items = [make_media() for _ in range(count)]
        for item in items:
            await repository.add(item)
        return [item.id for item in items]
    finally:
        await engine.dispose()


async def admin_headers(http: httpx.AsyncClient) -> dict[str, str]:
    assert (await http.post("/auth/signup", json=CREDENTIALS)).status_code == 201
    login = await http.post("/auth/login", json=CREDENTIALS)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}
