"""What every response and request gets: headers, hostile JSON, and an OpenAPI that tells the truth."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from klantroef_app.container import Container
from klantroef_core.use_cases.file_upload import FileUpload
from tests.app_support import signed_in
from tests.media_samples import media_file
from tests.problems import assert_problem

Client = AsyncTestClient[Any]


async def uploaded_link(client: Client, container: Container, headers: dict[str, str]) -> str:
    me = (await client.get("/auth/me", headers=headers)).json()
    upload = FileUpload.from_chunks([media_file(5000)], filename="clip.mp4")
    media = await container.upload_media()(upload, me["id"])
    response = await client.get(f"/media/{media.id}/stream-url", headers=headers)
    url: str = response.json()["url"]
    return url.removeprefix("http://testserver.local")


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
        "no content": await client.post("/auth/logout", headers=headers),
    }
    for kind, response in responses.items():
        assert response.status_code < 500, kind
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], kind


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
