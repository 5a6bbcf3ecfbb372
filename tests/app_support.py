"""Building the whole app for HTTP tests: the composition root over a real SQLite file.

The schema is migrated once per test run into a template file; each test gets
a copy, so a test pays for a file copy instead of a run of Alembic.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from klantroef_adapters.migrate import upgrade
from klantroef_app.asgi import build_app
from klantroef_app.container import Container, bootstrap
from klantroef_app.settings import Settings
from klantroef_core.use_cases.file_upload import FileUpload
from tests.media_samples import media_file

ADMIN_EMAIL = "ann@example.com"
ADMIN_PASSWORD = "correct horse battery"
DATABASE_FILE = "klantroef.db"

_template: Path | None = None


def settings_for(folder: Path, **changes: Any) -> Settings:
    """Settings for a private data folder, with argon2 parameters too small to notice."""
    base = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / DATABASE_FILE}",
        media_dir=folder / "media",
        access_secret="a" * 40,
        stream_secret="s" * 40,
        ip_hash_secret="h" * 40,
        argon2_time_cost=1,
        argon2_memory_cost=8,
        argon2_parallelism=1,
    )
    return replace(base, **changes)


def migrated_template() -> Path:
    """A SQLite file with the current schema, migrated once per test run."""
    global _template  # noqa: PLW0603 - one template per process, made on first use
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="klantroef-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        # Alembic runs its own event loop: give it a thread, as callers may be inside one.
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(upgrade, f"sqlite:///{folder / DATABASE_FILE}").result()
        _template = folder / DATABASE_FILE
    return _template


def migrated_settings(folder: Path, **changes: Any) -> Settings:
    """:func:`settings_for` ``folder``, whose database already has the current schema."""
    settings = settings_for(folder, **changes)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_template(), folder / DATABASE_FILE)
    return settings


def migrated_container(
    folder: Path, overrides: Mapping[str, Any] | None = None, **changes: Any
) -> Container:
    """The composition root over a migrated private folder, with settings ``changes``
    (``signup_open=True``) and providers replaced by ``overrides`` (``{"clock": clock}``)."""
    return bootstrap(migrated_settings(folder, **changes), **(overrides or {}))


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


async def uploaded_link(
    client: AsyncTestClient[Any], container: Container, headers: dict[str, str]
) -> str:
    """Upload a small MP4 as the signed-in admin; its stream link, as a path with ``?token=``."""
    me = (await client.get("/auth/me", headers=headers)).json()
    upload = FileUpload.from_chunks([media_file(5000)], filename="clip.mp4")
    media = await container.upload_media()(upload, me["id"])
    response = await client.get(f"/media/{media.id}/stream-url", headers=headers)
    url: str = response.json()["url"]
    return url.removeprefix("http://testserver.local")
