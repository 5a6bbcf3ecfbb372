"""Seeding a fresh server over HTTP, as a user would: an admin, media, stream links.

Only the million seeded views go straight into the tables (``Backend.seed_views``):
over HTTP they would take longer than the whole benchmark.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.backends import Backend
from benchmarks.client import Client, bearer, curl_upload
from benchmarks.playable import playable_head

EMAIL = "bench@example.com"
PASSWORD = "benchmark horse battery staple"
MIB = 1024 * 1024


def make_media_file(path: Path, size: int) -> Path:
    """A real MP4 of exactly ``size`` bytes (a one-frame clip, then a ``free`` box of
    random bytes, repeated 1 MiB blocks, so nothing on the way can compress it away)."""
    block = os.urandom(MIB)
    head = playable_head(size)
    with path.open("wb") as out:
        out.write(head)
        left = size - len(head)
        while left > 0:
            chunk = block[: min(left, MIB)]
            out.write(chunk)
            left -= len(chunk)
    path.chmod(0o644)
    return path


@dataclass(slots=True)
class Fixture:
    """What the cases' paths and headers are made from."""

    base_url: str
    token: str
    routes: frozenset[tuple[str, str]]
    media: str | None = None
    analytics_media: str | None = None
    file_size: int = 0
    seeded_views: int = 0
    notes: list[str] = field(default_factory=list)

    def has(self, method: str, template: str) -> bool:
        """Whether the server has this route (path parameters written ``{}``)."""
        return (method, template) in self.routes

    def stream_token(self) -> str:
        """A fresh stream link's token for ``media`` (links expire; take one per case)."""
        client = Client(self.base_url)
        try:
            reply = client.request(
                "GET", f"/media/{self.media}/stream-url", headers=bearer(self.token)
            )
        finally:
            client.close()
        if reply.status != 200:
            raise RuntimeError(f"stream-url answered {reply.status}: {reply.body[:200]!r}")
        query = urlsplit(reply.json()["url"]).query
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if name == "token":
                return str(value)
        raise RuntimeError("the stream URL carries no token")


def routes_of(client: Client) -> frozenset[tuple[str, str]]:
    """Every (METHOD, path) of the server's OpenAPI document, parameters as ``{}``."""
    reply = client.request("GET", "/schema/openapi.json")
    if reply.status != 200:
        raise RuntimeError(f"no OpenAPI document ({reply.status})")
    found: set[tuple[str, str]] = set()
    for path, operations in reply.json()["paths"].items():
        template = "/".join("{}" if part.startswith("{") else part for part in path.split("/"))
        found.update((method.upper(), template) for method in operations)
    return frozenset(found)


def first_admin_token(client: Client) -> str:
    """Sign up the first admin of a fresh server and log in: a bearer token."""
    credentials = {"email": EMAIL, "password": PASSWORD}
    reply = client.request("POST", "/auth/signup", json_body=credentials)
    if reply.status != 201:
        raise RuntimeError(f"signup answered {reply.status}: {reply.body[:200]!r}")
    reply = client.request("POST", "/auth/login", json_body=credentials)
    if reply.status != 200:
        raise RuntimeError(f"login answered {reply.status}: {reply.body[:200]!r}")
    token: str = reply.json()["token"]
    return token


def seed(base_url: str, backend: Backend, media_file: Path, views: int, workdir: Path) -> Fixture:
    """Sign up and log in the first admin, upload the media, seed the analytics item."""
    client = Client(base_url)
    try:
        fixture = Fixture(base_url, first_admin_token(client), routes_of(client))
    finally:
        client.close()
    if not fixture.has("POST", "/media"):
        fixture.notes.append("POST /media is not there yet: no media to measure")
        return fixture
    fixture.media = upload(fixture, media_file, workdir / "upload-reply.json")
    fixture.file_size = media_file.stat().st_size
    small = workdir / "small.mp4"
    if not small.exists():
        make_media_file(small, MIB)
    fixture.analytics_media = upload(fixture, small, workdir / "upload-reply.json")
    backend.seed_views(fixture.analytics_media, views, clients=max(1, views // 20))
    fixture.seeded_views = views
    # Start the cases from a settled disk: otherwise the first write case pays for the
    # writeback of the file and rows just seeded (SQLite's checkpoint fsync waits behind it).
    os.sync()
    return fixture


def upload(fixture: Fixture, file: Path, reply_file: Path) -> str:
    """Upload ``file`` and return the new media id."""
    status, _ = curl_upload(f"{fixture.base_url}/media", fixture.token, file, reply_file)
    if status != 201:
        raise RuntimeError(f"upload answered {status}: {reply_file.read_text()[:200]}")
    media_id: str = json.loads(reply_file.read_text())["id"]
    return media_id
