"""What every response and request gets: headers, hostile JSON, and an OpenAPI that tells the truth."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from klantroef_app.container import Container
from klantroef_core.use_cases.file_upload import FileUpload
from klantroef_http.docs import DOCS_CSP
from klantroef_http.hardening import NOTHING_TO_LOAD, security_headers
from tests.app_support import signed_in, uploaded_link
from tests.live_server import live_server
from tests.media_samples import media_file
from tests.problems import assert_problem

Client = AsyncTestClient[Any]


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup"])
async def test_json_nested_thirty_thousand_deep_is_a_400_problem(client: Client, path: str) -> None:
    body = b'{"email":' + b"[" * 30_000
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert_problem(response, 400, "json_too_deep")


async def test_every_kind_of_response_says_nosniff(client: Client, container: Container) -> None:
    headers = await signed_in(client)
    link = await uploaded_link(client, container, headers)
    etag = (await client.get(link)).headers["etag"]
    responses = {
        "json": await client.get("/auth/me", headers=headers),
        "problem": await client.get("/media/none", headers=headers),
        "not found route": await client.get("/nowhere"),
        "health": await client.get("/health/live"),
        "openapi": await client.get("/schema/openapi.json"),
        "media": await client.get(link),
        "range": await client.get(link, headers={"range": "bytes=0-9"}),
        "not modified": await client.get(link, headers={"if-none-match": etag}),
        "method not allowed": await client.put("/auth/me", headers=headers),
        "options": await client.options("/media"),
        "docs page": await client.get("/schema/swagger"),
        "docs script": await client.get("/schema/swagger-init.js"),
        "docs not found": await client.get("/schema/nowhere"),
        "no content": await client.post("/auth/logout", headers=headers),
    }
    for kind, response in responses.items():
        assert response.status_code < 500, kind
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], kind
        assert response.headers.get_list("server") == ["klantroef"], kind
        if response.headers.get("content-type", "").startswith("text/html"):
            assert response.headers["content-security-policy"], kind


async def test_responses_that_carry_a_token_are_not_stored_nor_referred(
    client: Client, container: Container
) -> None:
    headers = await signed_in(client)
    login = await client.post(
        "/auth/login", json={"email": "ann@example.com", "password": "correct horse battery"}
    )
    media = await container.upload_media()(
        FileUpload.from_chunks([media_file(1000)], title="Clip"),
        (await client.get("/auth/me", headers=headers)).json()["id"],
    )
    link = await client.get(f"/media/{media.id}/stream-url", headers=headers)
    for response in (login, link):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_a_bad_query_parameter_is_reported_under_the_name_the_client_sent(
    client: Client,
) -> None:
    headers = await signed_in(client)
    response = await client.get(
        "/media/any/analytics", params={"from": "2026-01-01", "to": "soon"}, headers=headers
    )
    assert_problem(response, 400, "validation_failed")
    assert [(e["key"], e["source"]) for e in response.json()["errors"]] == [("to", "query")]


async def test_the_openapi_document_names_every_problem_and_the_streams_media_types(
    client: Client,
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and not path.startswith("/health"):
                    content = response.get("content", {})
                    assert list(content) == ["application/problem+json"], (method, path, status)
                    assert content["application/problem+json"]["schema"] == problem_ref
    stream = document["paths"]["/media/{media_id}/stream"]["get"]["responses"]
    assert set(stream) == {"200", "206", "304", "307", "403", "404", "416", "503"}
    assert set(stream["307"]["headers"]) == {"Location", "Cache-Control"}
    assert "content" not in stream["307"]
    assert "media_bytes_missing" in stream["404"]["description"]
    assert set(stream["206"]["content"]) == {"video/*", "audio/*"}
    assert "Content-Range" in stream["206"]["headers"]
    signup = document["components"]["schemas"]["Credentials"]["properties"]
    assert signup["password"] == {"type": "string", "minLength": 8, "maxLength": 1024}
    assert signup["email"]["maxLength"] == 254
    assert signup["email"]["pattern"].startswith("^")


def directives(policy: str) -> dict[str, list[str]]:
    parsed = [part.split() for part in policy.split(";") if part.strip()]
    return {words[0]: words[1:] for words in parsed}


async def test_the_docs_page_runs_only_pinned_checked_scripts_and_no_inline_code(
    client: Client,
) -> None:
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == DOCS_CSP
    policy = directives(DOCS_CSP)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:"} & set(policy[directive])
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert len(scripts) == 3
    for attributes, body in scripts:  # no inline code: every script is a file
        assert body == "", attributes
        assert "src=" in attributes
    external = re.findall(r'(?:src|href)="(https://[^"]+)"', page.text)
    assert len(external) == 3
    for url in external:  # each CDN file is one the policy names, checked by its hash
        assert url in policy["script-src"] + policy["style-src"]
        assert re.search(re.escape(url) + r'" integrity="sha384-[A-Za-z0-9+/=]{64}"', page.text)
    init = await client.get("/schema/swagger-init.js")
    assert init.status_code == 200
    assert init.headers["content-type"].startswith("text/javascript")
    assert "/schema/openapi.json" in page.text


async def test_an_html_response_without_a_policy_of_its_own_may_load_nothing() -> None:
    hook = security_headers()
    bare: dict[str, Any] = {
        "type": "http.response.start",
        "status": 404,
        "headers": [(b"content-type", b"text/html; charset=utf-8")],
    }
    own: dict[str, Any] = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"Content-Type", b"text/html"), (b"Content-Security-Policy", b"x")],
    }
    scope: dict[str, Any] = {"type": "http", "path": "/", "method": "GET", "headers": []}
    await hook(bare, scope)  # type: ignore[arg-type]
    await hook(own, scope)  # type: ignore[arg-type]
    assert (b"content-security-policy", NOTHING_TO_LOAD.encode()) in bare["headers"]
    assert [v for k, v in own["headers"] if k.lower() == b"content-security-policy"] == [b"x"]


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_real_server_names_no_software_nor_version(tmp_path: Path, server: str) -> None:
    with live_server(tmp_path / "var", args=("--server", server)) as running:
        responses = [
            httpx.get(running.base_url + "/health/live"),
            httpx.get(running.base_url + "/nowhere"),
            httpx.options(running.base_url + "/media"),
        ]
        preflight = httpx.options(
            running.base_url + "/media/any/stream",
            headers={"origin": "https://blog.example.org", "access-control-request-method": "GET"},
        )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    for response in responses:
        assert response.headers.get_list("server") == ["klantroef"], response.headers
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
        assert not {"x-powered-by", "via"} & set(response.headers)
