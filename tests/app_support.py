"""Building the whole app for HTTP tests: real container, real SQLite file, fast argon2."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from klantroef_adapters.migrate import upgrade
from klantroef_app.asgi import build_app
from klantroef_app.container import Container
from klantroef_app.settings import Settings

ADMIN_EMAIL = "ann@example.com"
ADMIN_PASSWORD = "correct horse battery"


def settings_for(folder: Path, **changes: Any) -> Settings:
    """Settings for a private data folder, with argon2 parameters too small to notice."""
    base = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'klantroef.db'}",
        media_dir=folder / "media",
        access_secret="a" * 40,
        stream_secret="s" * 40,
        ip_hash_secret="h" * 40,
        argon2_time_cost=1,
        argon2_memory_cost=8,
        argon2_parallelism=1,
    )
    return replace(base, **changes)


async def migrated_container(settings: Settings) -> Container:
    """A container whose database has the current schema."""
    await asyncio.to_thread(upgrade, settings.database_url)
    return Container(settings=settings)


@asynccontextmanager
async def app_client(container: Container) -> AsyncIterator[AsyncTestClient[Any]]:
    """An in-process client of the full app built over ``container``."""
    async with AsyncTestClient(app=build_app(container)) as client:
        yield client


async def signed_in(client: AsyncTestClient[Any]) -> dict[str, str]:
    """Sign up the first admin, log in, and return the Authorization header."""
    credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    response = await client.post("/auth/signup", json=credentials)
    assert response.status_code in (201, 403), response.text
    response = await client.post("/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
