"""Views and analytics over HTTP, on the full app over SQLite."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select, update

from klantroef_adapters.sql.tables import view_clients, view_days, view_totals, views
from klantroef_app.asgi import build_app
from klantroef_app.container import Container, close
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.tokens import StreamClaims
from klantroef_http.views.routes import no_cache
from tests.app_support import app_client, migrated_container, signed_in
from tests.factories import make_media, new_id
from tests.fakes import FakeClock
from tests.problems import assert_problem
from tests.unreachable import UnreachableCache, UnreachableLimiter

Client = AsyncTestClient[Any]
BEFORE_MIDNIGHT = datetime(2025, 3, 14, 23, 59, 0, tzinfo=UTC)


async def add_media(container: Container) -> str:
    """A media row (no file: views and analytics never read one)."""
    item = make_media()
    await container.media_repository().add(item)
    return item.id


def stream_token(container: Container, media_id: str, *, expires_in: float = 600) -> str:
    now = container.clock().now().replace(microsecond=0)
    claims = StreamClaims(media_id, new_id(), now, now + timedelta(seconds=expires_in))
    return container.signer().sign_stream(claims)


async def logged_clients(container: Container) -> list[str]:
    """The client column of every logged view, oldest first."""
    async with container.engine().connect() as conn:
        rows = await conn.execute(select(views.c.client).order_by(views.c.id))
        return [row.client for row in rows]


Build = Callable[..., Awaitable[Container]]


@pytest.fixture
async def build(tmp_path: Path) -> AsyncIterator[Build]:
    """Build containers over a private SQLite file, with some settings changed; closed after."""
    built: list[Container] = []

    async def build(**changes: Any) -> Container:
        container = migrated_container(tmp_path, **changes)
        built.append(container)
        return container

    yield build
    for container in built:
        await close(container)


@asynccontextmanager
async def from_peer(container: Container, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app whose requests arrive from the socket address ``peer``.

    Litestar's test client always reports the peer "testclient", which is not an
    address (so its views count as client "unknown"); httpx's ASGI transport lets
    a test choose the peer, which the trusted-proxy rule depends on.
    """
    app: Any = build_app(container)  # Litestar's precise ASGI types vs httpx's loose ones
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://klantroef.test") as http:
        yield http


async def test_an_admin_logs_a_view_and_sees_the_quota_left(
    client: Client, container: Container
) -> None:
    headers = await signed_in(client)
    media_id = await add_media(container)

    response = await client.post(f"/media/{media_id}/view", headers=headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"media_id", "viewed_at"}
    assert body["media_id"] == media_id
    assert body["viewed_at"].endswith("Z")
    assert response.headers["RateLimit-Policy"] == '"views";q=30;w=60'
    assert response.headers["RateLimit"] == '"views";r=29;t=60'
    assert await logged_clients(container) == ["unknown"]  # the test client's peer


async def test_the_items_stream_token_may_log_its_view(
    client: Client, container: Container
) -> None:
    media_id = await add_media(container)
    token = stream_token(container, media_id)

    response = await client.post(f"/media/{media_id}/view", params={"token": token})

    assert response.status_code == 201, response.text
    assert response.json()["media_id"] == media_id


async def test_a_stream_token_is_checked_as_for_streaming(
    client: Client, container: Container
) -> None:
    media_id, other = await add_media(container), await add_media(container)
    url = f"/media/{media_id}/view"

    wrong = await client.post(url, params={"token": stream_token(container, other)})
    assert_problem(wrong, 403, "token_wrong_media")
    expired = stream_token(container, media_id, expires_in=-60)
    assert_problem(await client.post(url, params={"token": expired}), 403, "token_expired")
    forged = stream_token(container, media_id)[:-4] + "AAAA"
    assert_problem(await client.post(url, params={"token": forged}), 403, "token_invalid")
    assert await logged_clients(container) == []


async def test_an_access_token_is_not_a_stream_token(client: Client, container: Container) -> None:
    media_id = await add_media(container)
    access = (await signed_in(client))["Authorization"].removeprefix("Bearer ")

    response = await client.post(f"/media/{media_id}/view", params={"token": access})

    assert_problem(response, 403, "token_invalid")


async def test_without_any_token_a_view_is_unauthorised(
    client: Client, container: Container
) -> None:
    media_id = await add_media(container)
    assert_problem(await client.post(f"/media/{media_id}/view"), 401, "token_missing")
    assert_problem(
        await client.post(f"/media/{media_id}/view", params={"token": ""}), 401, "token_missing"
    )
    bad_bearer = {"Authorization": "Bearer nonsense"}
    response = await client.post(f"/media/{media_id}/view", headers=bad_bearer)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_view_of_an_unknown_item_is_404(client: Client) -> None:
    headers = await signed_in(client)
    for media_id in (new_id(), "not-a-uuid", "x" * 300):
        response = await client.post(f"/media/{media_id}/view", headers=headers)
        assert_problem(response, 404, "media_not_found")


async def test_the_31st_view_in_a_minute_gets_429_with_retry_after(
    client: Client, container: Container
) -> None:
    headers = await signed_in(client)
    media_id, other = await add_media(container), await add_media(container)
    for expected_remaining in range(29, -1, -1):
        accepted = await client.post(f"/media/{media_id}/view", headers=headers)
        assert accepted.status_code == 201
        assert f"r={expected_remaining};" in accepted.headers["RateLimit"]

    refused = await client.post(f"/media/{media_id}/view", headers=headers)

    assert_problem(refused, 429, "rate_limited")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.headers["RateLimit-Policy"] == '"views";q=30;w=60'
    assert refused.headers["RateLimit"] == f'"views";r=0;t={retry_after}'
    analytics = await client.get(f"/media/{media_id}/analytics", headers=headers)
    assert analytics.json()["total_views"] == 30
    # Another item from the same client is a separate quota.
    assert (await client.post(f"/media/{other}/view", headers=headers)).status_code == 201


async def test_with_the_limiter_and_cache_down_views_still_count(
    client: Client, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await signed_in(client)
    media_id = await add_media(container)
    container.rate_limiter.override(providers.Object(UnreachableLimiter()))
    container.analytics_cache.override(providers.Object(UnreachableCache()))

    with caplog.at_level(logging.WARNING, logger="klantroef.views"):
        response = await client.post(f"/media/{media_id}/view", headers=headers)
        report = await client.get(f"/media/{media_id}/analytics", headers=headers)

    assert response.status_code == 201, response.text
    assert "RateLimit" not in response.headers  # no quota known, none advertised
    assert report.json()["total_views"] == 1
    assert "rate limiter unreachable" in caplog.text


async def test_analytics_read_right_after_a_view_include_it(
    client: Client, container: Container
) -> None:
    headers = await signed_in(client)
    media_id = await add_media(container)
    url = f"/media/{media_id}/analytics"

    empty = await client.get(url, headers=headers)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "media_id": media_id,
        "total_views": 0,
        "unique_ips": 0,
        "views_per_day": {},
    }
    assert empty.headers["Cache-Control"] == "no-store"

    for expected in (1, 2, 3):
        await client.post(f"/media/{media_id}/view", headers=headers)
        assert (await client.get(url, headers=headers)).json()["total_views"] == expected


async def test_cache_control_no_cache_reads_the_log_and_caches_that_report(
    client: Client, container: Container
) -> None:
    headers = await signed_in(client)
    media_id = await add_media(container)
    url = f"/media/{media_id}/analytics"
    await client.post(f"/media/{media_id}/view", headers=headers)
    assert (await client.get(url, headers=headers)).json()["total_views"] == 1
    # A view written straight into the tables: the analytics cache is not told.
    day = container.clock().now().date()
    async with container.engine().begin() as conn:
        await conn.execute(
            insert(views).values(
                media_id=media_id, client="198.51.100.9", viewed_at=container.clock().now()
            )
        )
        await conn.execute(
            update(view_days)
            .where(view_days.c.media_id == media_id, view_days.c.day == day)
            .values(views=view_days.c.views + 1)
        )
        await conn.execute(insert(view_clients).values(media_id=media_id, client="198.51.100.9"))
        await conn.execute(
            update(view_totals)
            .where(view_totals.c.media_id == media_id)
            .values(
                total_views=view_totals.c.total_views + 1,
                unique_clients=view_totals.c.unique_clients + 1,
            )
        )

    fresh = await client.get(url, headers=headers | {"Cache-Control": "max-age=0, No-Cache"})

    assert fresh.status_code == 200, fresh.text
    assert (fresh.json()["total_views"], fresh.json()["unique_ips"]) == (2, 2)
    assert fresh.json()["views_per_day"] == {day.isoformat(): 2}
    # The fresh report replaced the cached one: a plain read now agrees with it.
    assert (await client.get(url, headers=headers)).json()["total_views"] == 2


@pytest.mark.parametrize(
    ("value", "fresh"),
    [
        ("no-cache", True),
        ("NO-CACHE", True),
        ("max-age=0, no-cache", True),
        ('no-cache="set-cookie"', True),
        ("no-store", False),
        ("max-age=0", False),
        ("", False),
        (None, False),
    ],
)
def test_which_cache_control_values_ask_for_a_fresh_report(value: str | None, fresh: bool) -> None:
    assert no_cache(value) is fresh


def test_the_openapi_document_describes_the_cache_control_header(
    container: Container,
) -> None:
    schema = build_app(container).openapi_schema.to_schema()
    parameters = schema["paths"]["/media/{media_id}/analytics"]["get"]["parameters"]
    header = next(p for p in parameters if p["in"] == "header")
    assert header["name"].lower() == "cache-control"
    assert "no-cache" in header["description"]


async def test_views_per_day_split_at_utc_midnight_and_narrowed_by_from_and_to(
    client: Client, container: Container
) -> None:
    clock = FakeClock(BEFORE_MIDNIGHT)
    container.clock.override(providers.Object(clock))
    media_id = await add_media(container)
    for minutes in (0, 0.5, 1, 1, 1 + 60 * 24):  # two before midnight, two after, one a day on
        clock.set(BEFORE_MIDNIGHT + timedelta(minutes=minutes))
        token = stream_token(container, media_id)
        response = await client.post(f"/media/{media_id}/view", params={"token": token})
        assert response.status_code == 201, response.text
    url = f"/media/{media_id}/analytics"
    headers = await signed_in(client)

    whole = (await client.get(url, headers=headers)).json()
    narrowed = await client.get(
        url, headers=headers, params={"from": "2025-03-15", "to": "2025-03-15"}
    )
    from_only = await client.get(url, headers=headers, params={"from": "2025-03-16"})

    assert whole["views_per_day"] == {"2025-03-14": 2, "2025-03-15": 2, "2025-03-16": 1}
    assert list(whole["views_per_day"]) == sorted(whole["views_per_day"])
    assert (whole["total_views"], whole["unique_ips"]) == (5, 1)
    assert narrowed.json()["views_per_day"] == {"2025-03-15": 2}
    assert narrowed.json()["total_views"] == 5
    assert from_only.json()["views_per_day"] == {"2025-03-16": 1}


async def test_bad_analytics_requests_are_problems(client: Client, container: Container) -> None:
    headers = await signed_in(client)
    media_id = await add_media(container)
    url = f"/media/{media_id}/analytics"

    reversed_range = {"from": "2025-03-16", "to": "2025-03-15"}
    assert_problem(
        await client.get(url, headers=headers, params=reversed_range), 422, "bad_date_range"
    )
    bad_date = await client.get(url, headers=headers, params={"from": "14/03/2025"})
    assert_problem(bad_date, 400, "validation_failed")
    assert_problem(
        await client.get(f"/media/{new_id()}/analytics", headers=headers), 404, "media_not_found"
    )
    assert_problem(await client.get(url), 401, "token_missing")
    token = stream_token(container, media_id)
    assert_problem(await client.get(url, params={"token": token}), 401, "token_missing")


async def test_the_forwarded_address_counts_only_from_a_trusted_proxy(build: Build) -> None:
    container = await build(trusted_proxies=("10.0.0.0/8",))
    async with app_client(container) as client:
        headers = await signed_in(client)
    media_id = await add_media(container)
    forwarded = {**headers, "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}

    async with from_peer(container, "10.0.0.5") as proxy:
        assert (await proxy.post(f"/media/{media_id}/view", headers=forwarded)).status_code == 201
    async with from_peer(container, "::ffff:198.51.100.77") as stranger:
        assert (
            await stranger.post(f"/media/{media_id}/view", headers=forwarded)
        ).status_code == 201

    assert await logged_clients(container) == ["203.0.113.9", "198.51.100.77"]


async def test_the_limit_follows_the_forwarded_client_not_the_proxy(build: Build) -> None:
    container = await build(trusted_proxies=("10.0.0.0/8",), view_rate=Rate(1, 60.0))
    async with app_client(container) as client:
        headers = await signed_in(client)
    media_id = await add_media(container)

    async with from_peer(container, "10.0.0.5") as proxy:
        statuses = [
            (
                await proxy.post(
                    f"/media/{media_id}/view", headers={**headers, "X-Forwarded-For": ip}
                )
            ).status_code
            for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.1")
        ]

    assert statuses == [201, 201, 429]


async def test_in_hmac_mode_no_address_reaches_the_database(build: Build) -> None:
    container = await build(ip_storage="hmac")
    async with app_client(container) as client:
        headers = await signed_in(client)
    media_id = await add_media(container)

    for peer in ("198.51.100.23", "198.51.100.23", "2001:db8::23"):
        async with from_peer(container, peer) as http:
            response = await http.post(f"/media/{media_id}/view", headers=headers)
            assert response.status_code == 201

    key = container.secrets().ip_hash_secret.encode()
    expected = [
        hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()
        for ip in ("198.51.100.23", "198.51.100.23", "2001:db8::23")
    ]
    assert await logged_clients(container) == expected
    async with container.engine().connect() as conn:
        kept = {row.client for row in await conn.execute(select(view_clients.c.client))}
    assert kept == set(expected)
    async with from_peer(container, "198.51.100.23") as http:
        report = (await http.get(f"/media/{media_id}/analytics", headers=headers)).json()
    assert (report["total_views"], report["unique_ips"]) == (3, 2)
