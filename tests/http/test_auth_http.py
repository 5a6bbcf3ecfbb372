"""Auth over HTTP: signup, login, logout and me, and the nasty inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_app.container import Container, bootstrap
from klantroef_core.errors import Unavailable
from tests.app_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    app_client,
    migrated_container,
    settings_for,
    signed_in,
)
from tests.problems import assert_problem

Client = AsyncTestClient[Any]
CREDENTIALS = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


async def test_signup_login_me_logout_and_the_token_is_dead(client: Client) -> None:
    created = await client.post("/auth/signup", json={**CREDENTIALS, "email": "Ann@Example.com"})
    assert created.status_code == 201
    assert created.json()["email"] == ADMIN_EMAIL
    assert set(created.json()) == {"id", "email", "created_at"}

    login = await client.post("/auth/login", json=CREDENTIALS)
    assert login.status_code == 200
    assert login.json()["token_type"] == "Bearer"
    assert login.json()["expires_at"].endswith("Z")
    headers = {"Authorization": f"Bearer {login.json()['token']}"}

    me = await client.get("/auth/me", headers=headers)
    assert me.json() == created.json()

    assert (await client.post("/auth/logout", headers=headers)).status_code == 204
    assert_problem(await client.get("/auth/me", headers=headers), 401, "token_revoked")
    assert_problem(await client.post("/auth/logout", headers=headers), 401, "token_revoked")


async def test_signup_is_closed_to_strangers_once_an_admin_exists(client: Client) -> None:
    headers = await signed_in(client)
    other = {"email": "bob@example.com", "password": "another password"}
    assert_problem(await client.post("/auth/signup", json=other), 403, "signup_closed")
    assert (await client.post("/auth/signup", json=other, headers=headers)).status_code == 201
    assert_problem(
        await client.post("/auth/signup", json=other, headers=headers), 409, "email_taken"
    )


async def test_open_signup_by_setting(tmp_path: Path) -> None:
    container = migrated_container(tmp_path, signup_open=True)
    async with app_client(container) as client:
        for email in ("ann@example.com", "bob@example.com"):
            response = await client.post("/auth/signup", json={**CREDENTIALS, "email": email})
            assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"email": "not-an-email", "password": ADMIN_PASSWORD}, "email"),
        ({"email": "ann@example", "password": ADMIN_PASSWORD}, "email"),
        ({"email": ADMIN_EMAIL, "password": "short"}, "password"),
        ({"email": ADMIN_EMAIL, "password": "x" * 1025}, "password"),
    ],
)
async def test_bad_emails_and_weak_passwords_are_refused_at_the_door_naming_the_key(
    client: Client, body: Any, key: str
) -> None:
    """The OpenAPI schema states these rules, so the schema's validation enforces them."""
    response = await client.post("/auth/signup", json=body)
    assert_problem(response, 400, "validation_failed")
    assert [error["key"] for error in response.json()["errors"]] == [key]
    # No admin was made: the first signup is still open.
    assert (await client.post("/auth/signup", json=CREDENTIALS)).status_code == 201


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b'{"email": 1, "password": 2}', b'{"email": "a@b.co"}', b"null", b"\xff\xfe"],
)
async def test_malformed_bodies_are_400_problems(client: Client, content: bytes) -> None:
    response = await client.post(
        "/auth/login", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_oversized_body_is_413(client: Client) -> None:
    body = {"email": ADMIN_EMAIL, "password": "x" * 200_000}
    assert_problem(await client.post("/auth/login", json=body), 413, "payload_too_large")


async def test_wrong_password_and_unknown_email_give_one_401(client: Client) -> None:
    await signed_in(client)
    wrong = await client.post("/auth/login", json={**CREDENTIALS, "password": "wrong password"})
    unknown = await client.post("/auth/login", json={**CREDENTIALS, "email": "x@example.com"})
    assert_problem(wrong, 401, "bad_credentials")
    assert wrong.json() == unknown.json()


async def test_the_eleventh_login_in_a_minute_is_429_with_retry_after(client: Client) -> None:
    await signed_in(client)  # one login
    for _ in range(9):
        await client.post("/auth/login", json={**CREDENTIALS, "password": "wrong password"})
    response = await client.post("/auth/login", json=CREDENTIALS)
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-policy"] == '"login";q=10;w=60'
    assert response.headers["ratelimit"].startswith('"login";r=0;t=')


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "token_missing"),
        ("Bearer", "token_malformed"),
        ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "token_malformed"),
        ("Bearer a b", "token_malformed"),
        ("Bearer not.a.jwt", "token_invalid"),
        ("Bearer " + "x" * 10_000, "token_invalid"),
    ],
)
async def test_garbage_authorization_headers_are_401(
    client: Client, header: str | None, code: str
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.get("/auth/me", headers=headers)
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


class UnreachableTokenStore(InMemoryTokenStore):
    """A revocation store that is down."""

    async def is_revoked(self, token_id: str) -> bool:
        raise Unavailable("revocation store down")


async def test_protected_routes_fail_closed_when_revocations_cannot_be_checked(
    client: Client, container: Container
) -> None:
    headers = await signed_in(client)
    with container.token_store.override(UnreachableTokenStore(container.clock())):
        assert_problem(await client.get("/auth/me", headers=headers), 503, "service_unavailable")
    assert (await client.get("/auth/me", headers=headers)).status_code == 200


async def test_health_and_openapi(client: Client) -> None:
    assert (await client.get("/health/live")).json()["status"] == "ok"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/auth/login" in schema["paths"]


async def test_readiness_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, database_url="mysql+aiomysql://root@127.0.0.1:1/none")
    async with app_client(bootstrap(settings)) as client:
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["database"] is False


async def test_unknown_routes_and_methods_are_problems(client: Client) -> None:
    assert_problem(await client.get("/nope"), 404, "not_found")
    assert_problem(await client.get("/auth/login"), 405, "method_not_allowed")
