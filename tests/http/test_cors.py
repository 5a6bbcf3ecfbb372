"""CORS: players on other sites read the stream and log views; the admin API only where configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from klantroef_app.container import Container
from tests.app_support import app_client, migrated_container, signed_in, uploaded_link

Client = AsyncTestClient[Any]
PLAYER_SITE = "https://blog.example.org"
ADMIN_SITE = "https://admin.example.com"


def preflight(method: str, *headers: str, origin: str = PLAYER_SITE) -> dict[str, str]:
    asked = {"origin": origin, "access-control-request-method": method}
    if headers:
        asked["access-control-request-headers"] = ", ".join(headers)
    return asked


def listed(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


@pytest.fixture
async def admin_site_client(tmp_path: Path) -> AsyncIterator[tuple[Client, Container]]:
    container = migrated_container(tmp_path / "cors", cors_origins=(ADMIN_SITE, "http://x.test"))
    async with app_client(container) as client:
        yield client, container


async def test_any_site_may_read_the_stream_by_range_and_its_headers(
    client: Client, container: Container
) -> None:
    link = await uploaded_link(client, container, await signed_in(client))
    asked = await client.options(link, headers=preflight("GET", "range"))
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-origin"] == "*"
    assert {"get", "head"} <= listed(asked.headers["access-control-allow-methods"])
    assert "range" in listed(asked.headers["access-control-allow-headers"])
    assert int(asked.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in asked.headers

    got = await client.get(link, headers={"origin": PLAYER_SITE, "range": "bytes=0-9"})
    assert got.status_code == 206
    assert got.headers["access-control-allow-origin"] == "*"
    exposed = listed(got.headers["access-control-expose-headers"])
    assert {"content-range", "accept-ranges", "content-length", "etag"} <= exposed
    assert "access-control-allow-credentials" not in got.headers

    refused = await client.get(link.split("?")[0], headers={"origin": PLAYER_SITE})
    assert refused.status_code == 403  # the token is the credential: without it, nothing
    assert refused.headers["access-control-allow-origin"] == "*"  # but the player may read why


async def test_any_site_may_log_a_view_with_the_link_and_read_its_quota(
    client: Client, container: Container
) -> None:
    link = await uploaded_link(client, container, await signed_in(client))
    view = link.replace("/stream?", "/view?")
    asked = await client.options(view, headers=preflight("POST"))
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-origin"] == "*"
    assert "post" in listed(asked.headers["access-control-allow-methods"])
    assert "authorization" not in listed(asked.headers.get("access-control-allow-headers"))

    logged = await client.post(view, headers={"origin": PLAYER_SITE})
    assert logged.status_code == 201
    assert logged.headers["access-control-allow-origin"] == "*"
    assert {"ratelimit", "ratelimit-policy"} <= listed(
        logged.headers["access-control-expose-headers"]
    )


async def test_options_lists_every_method_of_a_path(client: Client) -> None:
    # Litestar's own answer listed only the first handler's methods (GET /media, not POST).
    expected = {
        "/media": {"get", "post", "options"},
        "/media/some-id": {"get", "delete", "options"},
        "/media/some-id/stream": {"get", "head", "options"},
        "/auth/login": {"post", "options"},
    }
    for path, methods in expected.items():
        response = await client.options(path)
        assert response.status_code == 204, path
        assert listed(response.headers["allow"]) == methods, path


async def test_the_admin_api_answers_no_other_site_by_default(client: Client) -> None:
    headers = await signed_in(client)
    for path in ("/auth/me", "/media", "/auth/login"):
        asked = await client.options(path, headers=preflight("GET", "authorization"))
        assert asked.status_code == 204, path
        assert not any(name.startswith("access-control-") for name in asked.headers), path
    read = await client.get("/auth/me", headers={**headers, "origin": ADMIN_SITE})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers


async def test_configured_origins_may_call_the_admin_api_with_a_bearer(
    admin_site_client: tuple[Client, Container],
) -> None:
    client, container = admin_site_client
    headers = await signed_in(client)
    asked = await client.options(
        "/media", headers=preflight("POST", "authorization", "content-type", origin=ADMIN_SITE)
    )
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-origin"] == ADMIN_SITE
    assert listed(asked.headers["access-control-allow-methods"]) == listed(asked.headers["allow"])
    assert {"authorization", "content-type"} <= listed(
        asked.headers["access-control-allow-headers"]
    )
    assert "origin" in listed(asked.headers["vary"])
    assert "access-control-allow-credentials" not in asked.headers

    read = await client.get("/media", headers={**headers, "origin": ADMIN_SITE})
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == ADMIN_SITE
    assert "origin" in listed(read.headers["vary"])

    for stranger in (PLAYER_SITE, ADMIN_SITE + ".evil.test", "null"):
        other = await client.options("/media", headers=preflight("GET", origin=stranger))
        assert "access-control-allow-origin" not in other.headers, stranger
        assert "origin" in listed(other.headers["vary"])

    link = await uploaded_link(client, container, headers)
    view = link.replace("/stream?", "/view?")
    admin_view = await client.options(
        view, headers=preflight("POST", "authorization", origin=ADMIN_SITE)
    )
    assert "authorization" in listed(admin_view.headers["access-control-allow-headers"])
