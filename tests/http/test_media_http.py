"""Media over HTTP: uploads, the catalogue, links and streaming.

The full app over a real SQLite file and a real media folder, in process.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from klantroef_adapters.sql.tables import media as media_table
from klantroef_app.container import Container, close
from tests.app_support import app_client, migrated_container, signed_in
from tests.fakes import FakeClock
from tests.media_samples import (
    M4A_HEAD,
    REFUSED_SAMPLES,
    UPLOAD_SAMPLES,
    media_file,
    multipart_body,
)
from tests.problems import assert_problem

Client = AsyncTestClient[Any]
MEDIA_KEYS = {"id", "title", "type", "content_type", "size_bytes", "created_at", "uploaded_by"}


@dataclass
class Api:
    """A signed-in client of the app and the container behind it."""

    client: Client
    container: Container
    auth: dict[str, str]

    @property
    def media_dir(self) -> Path:
        return Path(self.container.settings().media_dir)

    async def upload(
        self,
        data: bytes,
        fields: list[tuple[str, str]] | None = None,
        *,
        filename: str | None = "movie.mp4",
        after: list[tuple[str, str]] | None = None,
    ) -> Any:
        body, content_type = multipart_body(
            fields or [], data, filename=filename, after=after or []
        )
        return await self.client.post(
            "/media", content=body, headers={**self.auth, "content-type": content_type}
        )

    async def uploaded(self, data: bytes, **kwargs: Any) -> dict[str, Any]:
        response = await self.upload(data, **kwargs)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def stream_path(self, media_id: str) -> str:
        """The path and query of a fresh stream link (the in-process client needs no host)."""
        response = await self.client.get(f"/media/{media_id}/stream-url", headers=self.auth)
        assert response.status_code == 200, response.text
        url = urlsplit(response.json()["url"])
        return f"{url.path}?{url.query}"

    async def row_count(self) -> int:
        async with self.container.engine().connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(media_table))).scalar_one()
            )

    async def nothing_stored(self) -> bool:
        files = list(self.media_dir.iterdir()) if self.media_dir.exists() else []
        return files == [] and await self.row_count() == 0


Open = Callable[..., Awaitable[Api]]


@pytest.fixture
async def open_api(tmp_path: Path) -> AsyncIterator[Open]:
    """Open the app over settings with some changes, with a clock set before the first request."""
    opened: list[tuple[Container, Any]] = []

    async def open_api(clock: FakeClock | None = None, **changes: Any) -> Api:
        overrides = {"clock": clock} if clock is not None else {}
        container = migrated_container(tmp_path, overrides, **changes)
        manager = app_client(container)
        client = await manager.__aenter__()
        opened.append((container, manager))
        return Api(client, container, await signed_in(client))

    yield open_api
    for container, manager in opened:
        await manager.__aexit__(None, None, None)
        await close(container)


@pytest.fixture
async def api(open_api: Open) -> Api:
    return await open_api()


# --- uploads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head", [head for head, _ in UPLOAD_SAMPLES.values()], ids=UPLOAD_SAMPLES.keys()
)
async def test_each_container_signature_is_accepted(api: Api, head: bytes) -> None:
    kind = dict(UPLOAD_SAMPLES.values())[head]
    data = head + bytes(20_000)

    response = await api.upload(data, filename="Opening night.bin")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == MEDIA_KEYS
    assert body["type"] == kind.media_type.value
    assert body["content_type"] == kind.content_type
    assert body["size_bytes"] == len(data)
    assert body["title"] == "Opening night"
    assert body["created_at"].endswith("Z")
    assert response.headers["location"] == f"/media/{body['id']}"
    assert (await api.client.get(response.headers["location"], headers=api.auth)).json() == body


async def test_the_file_is_stored_under_a_generated_name_with_its_exact_bytes(api: Api) -> None:
    data = media_file(300_000)

    body = await api.uploaded(data, filename="../../evil.mp4")

    [stored] = list(api.media_dir.iterdir())
    assert stored.name == body["id"]
    assert stored.read_bytes() == data
    assert body["title"] == "evil"


@pytest.mark.parametrize("data", REFUSED_SAMPLES.values(), ids=REFUSED_SAMPLES.keys())
async def test_a_file_that_is_not_audio_or_video_is_refused_whatever_its_name(
    api: Api, data: bytes
) -> None:
    response = await api.upload(data + bytes(1000), fields=[("type", "video")], filename="x.mp4")

    assert_problem(response, 415, "not_media")
    assert await api.nothing_stored()


async def test_an_announced_body_over_the_limit_is_refused_before_it_is_read(
    open_api: Open,
) -> None:
    api = await open_api(max_upload_bytes=10_000)
    body, content_type = multipart_body([], media_file(2_000_000))

    response = await api.client.post(
        "/media", content=body, headers={**api.auth, "content-type": content_type}
    )

    assert_problem(response, 413, "file_too_large")
    assert await api.nothing_stored()


async def test_a_file_over_the_limit_in_a_body_under_the_margin_is_refused_while_streaming(
    open_api: Open,
) -> None:
    api = await open_api(max_upload_bytes=10_000)

    assert_problem(await api.upload(media_file(10_001)), 413, "file_too_large")
    assert await api.nothing_stored()
    assert (await api.upload(media_file(10_000))).status_code == 201


async def test_an_upload_without_a_file_part_is_a_bad_request(api: Api) -> None:
    body, content_type = multipart_body([("title", "No file")])
    response = await api.client.post(
        "/media", content=body, headers={**api.auth, "content-type": content_type}
    )
    assert_problem(response, 400, "file_missing")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "multipart/form-data",
        "multipart/mixed; boundary=abc",
        "multipart/form-data; boundary=" + "b" * 71,
        "",
    ],
)
async def test_an_upload_that_is_not_a_multipart_form_is_a_bad_request(
    api: Api, content_type: str
) -> None:
    headers = {**api.auth, "content-type": content_type}
    response = await api.client.post("/media", content=media_file(1000), headers=headers)
    assert_problem(response, 400, "multipart_required")


async def test_a_cut_off_multipart_body_is_a_bad_request_and_leaves_nothing(api: Api) -> None:
    body, content_type = multipart_body([], media_file(50_000))
    response = await api.client.post(
        "/media", content=body[:-100], headers={**api.auth, "content-type": content_type}
    )
    assert_problem(response, 400, "bad_multipart")
    assert await api.nothing_stored()


@pytest.mark.parametrize(
    ("fields", "after", "status", "code"),
    [
        ([("type", "audio")], [], 422, "type_mismatch"),
        ([], [("type", "audio")], 422, "type_mismatch"),
        ([("type", "podcast")], [], 422, "bad_type"),
        ([("title", "t" * 201)], [], 422, "bad_title"),
        ([], [("title", "\x1b[31m")], 422, "bad_title"),
        ([("title", "a"), ("title", "b")], [], 400, "duplicate_field"),
        ([("title", "a")], [("title", "b")], 400, "duplicate_field"),
        ([("note", "n" * 5000)], [], 400, "field_too_large"),
    ],
)
async def test_bad_fields_are_refused_and_leave_nothing(
    api: Api, fields: list[tuple[str, str]], after: list[tuple[str, str]], status: int, code: str
) -> None:
    response = await api.upload(media_file(20_000), fields, after=after)
    assert_problem(response, status, code)
    assert await api.nothing_stored()


async def test_a_second_file_part_is_refused_and_leaves_nothing(api: Api) -> None:
    one, content_type = multipart_body([], media_file(5000))
    boundary = content_type.split("boundary=")[1]
    two, _ = multipart_body([], media_file(5000), boundary=boundary)
    body = one.removesuffix(f"--{boundary}--\r\n".encode()) + two
    response = await api.client.post(
        "/media", content=body, headers={**api.auth, "content-type": content_type}
    )
    assert_problem(response, 400, "one_file_only")
    assert await api.nothing_stored()


async def test_title_and_type_may_come_after_the_file(api: Api) -> None:
    body = await api.uploaded(
        M4A_HEAD + bytes(1000), after=[("title", " Zoë's song "), ("type", "audio")]
    )
    assert (body["title"], body["type"], body["content_type"]) == (
        "Zoë's song",
        "audio",
        "audio/mp4",
    )


async def test_two_concurrent_uploads_of_the_same_file_name_are_both_kept(api: Api) -> None:
    first, second = await asyncio.gather(
        api.uploaded(media_file(100_000, seed=1), filename="same.mp4"),
        api.uploaded(media_file(100_000, seed=2), filename="same.mp4"),
    )

    assert first["id"] != second["id"]
    assert first["title"] == second["title"] == "same"
    assert (api.media_dir / first["id"]).read_bytes() == media_file(100_000, seed=1)
    assert (api.media_dir / second["id"]).read_bytes() == media_file(100_000, seed=2)


async def test_only_admins_reach_the_catalogue(api: Api) -> None:
    item = await api.uploaded(media_file(1000))
    body, content_type = multipart_body([], media_file(1000))
    calls = [
        api.client.post("/media", content=body, headers={"content-type": content_type}),
        api.client.get("/media"),
        api.client.get(f"/media/{item['id']}"),
        api.client.delete(f"/media/{item['id']}"),
        api.client.get(f"/media/{item['id']}/stream-url"),
    ]
    for call in calls:
        assert_problem(await call, 401, "token_missing")
    assert await api.row_count() == 1


# --- the catalogue ------------------------------------------------------------------------


async def test_the_catalogue_pages_newest_first(open_api: Open) -> None:
    clock = FakeClock()
    api = await open_api(clock=clock)
    ids = []
    for _ in range(5):
        ids.append((await api.uploaded(media_file(1000)))["id"])
        clock.advance(seconds=1)

    seen: list[str] = []
    query = "/media?limit=2"
    while True:
        page = (await api.client.get(query, headers=api.auth)).json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"/media?limit=2&cursor={page['next_cursor']}"

    assert seen == ids[::-1]


async def test_an_empty_catalogue_is_an_empty_page(api: Api) -> None:
    response = await api.client.get("/media", headers=api.auth)
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("limit=0", 400, "validation_failed"),
        ("limit=101", 400, "validation_failed"),
        (f"cursor={'x' * 201}", 400, "validation_failed"),
        ("limit=ten", 400, "validation_failed"),
        ("cursor=not-a-cursor", 422, "bad_cursor"),
    ],
)
async def test_bad_paging_parameters_are_refused(
    api: Api, query: str, status: int, code: str
) -> None:
    assert_problem(await api.client.get(f"/media?{query}", headers=api.auth), status, code)


@pytest.mark.parametrize("media_id", ["00000000-0000-4000-8000-000000000000", "nope", "x" * 80])
async def test_unknown_or_malformed_ids_are_404(api: Api, media_id: str) -> None:
    for call in (api.client.get, api.client.delete):
        assert_problem(await call(f"/media/{media_id}", headers=api.auth), 404, "media_not_found")
    response = await api.client.get(f"/media/{media_id}/stream-url", headers=api.auth)
    assert_problem(response, 404, "media_not_found")


async def test_delete_removes_the_file_and_the_row(api: Api) -> None:
    item = await api.uploaded(media_file(10_000))

    response = await api.client.delete(f"/media/{item['id']}", headers=api.auth)

    assert response.status_code == 204
    assert response.content == b""
    assert await api.nothing_stored()
    assert_problem(
        await api.client.get(f"/media/{item['id']}", headers=api.auth), 404, "media_not_found"
    )


# --- stream links ---------------------------------------------------------------------------


async def test_a_stream_url_is_absolute_and_lives_ten_minutes(open_api: Open) -> None:
    clock = FakeClock()
    api = await open_api(clock=clock)
    item = await api.uploaded(media_file(1000))

    body = (await api.client.get(f"/media/{item['id']}/stream-url", headers=api.auth)).json()

    assert set(body) == {"url", "token", "expires_at", "play_url"}
    assert body["play_url"] == body["url"].replace("/stream?", "/play?")
    assert body["url"].endswith(f"?token={body['token']}")
    url = urlsplit(body["url"])
    assert (url.scheme, url.netloc, url.path) == (
        "http",
        "testserver.local",
        f"/media/{item['id']}/stream",
    )
    assert url.query.startswith("token=")
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires == clock.now() + timedelta(minutes=10)


async def test_the_public_base_url_and_link_lifetime_are_configurable(open_api: Open) -> None:
    clock = FakeClock()
    api = await open_api(
        clock=clock, public_base_url="https://media.example.com/klantroef", stream_link_ttl=60
    )
    item = await api.uploaded(media_file(1000))

    body = (await api.client.get(f"/media/{item['id']}/stream-url", headers=api.auth)).json()

    assert body["url"].startswith(
        f"https://media.example.com/klantroef/media/{item['id']}/stream?token="
    )
    assert datetime.fromisoformat(body["expires_at"]) == clock.now() + timedelta(seconds=60)
    page = await api.client.get(f"/media/{item['id']}/play?token={body['token']}")
    assert f'src="/klantroef/media/{item["id"]}/stream?token=' in page.text  # behind the proxy
    assert '<script src="/klantroef/player.js">' in page.text


async def test_a_link_for_one_media_is_forbidden_on_another(api: Api) -> None:
    first = await api.uploaded(media_file(1000, seed=1))
    second = await api.uploaded(media_file(1000, seed=2))
    query = (await api.stream_path(first["id"])).split("?")[1]

    response = await api.client.get(f"/media/{second['id']}/stream?{query}")

    assert_problem(response, 403, "token_wrong_media")


async def test_streams_without_a_good_token_are_forbidden_with_the_reason(api: Api) -> None:
    item = await api.uploaded(media_file(1000))
    path = f"/media/{item['id']}/stream"
    access_token = api.auth["Authorization"].removeprefix("Bearer ")
    stream_token = (await api.stream_path(item["id"])).split("token=")[1]

    assert_problem(await api.client.get(path), 403, "token_missing")
    assert_problem(await api.client.get(path + "?token="), 403, "token_missing")
    assert_problem(await api.client.get(path + "?token=forged.token.here"), 403, "token_invalid")
    assert_problem(await api.client.get(f"{path}?token={access_token}"), 403, "token_invalid")
    tampered = stream_token[:-4] + ("AAAA" if not stream_token.endswith("AAAA") else "BBBB")
    assert_problem(await api.client.get(f"{path}?token={tampered}"), 403, "token_invalid")
    # ... and a stream token is no access token either
    me = await api.client.get(
        "/auth/me", headers={"Authorization": f"Bearer {unquote(stream_token)}"}
    )
    assert me.status_code == 401


async def test_an_expired_link_fails_by_the_clock(open_api: Open) -> None:
    clock = FakeClock()
    api = await open_api(clock=clock)
    item = await api.uploaded(media_file(1000))
    path = await api.stream_path(item["id"])

    clock.advance(minutes=10)
    assert (await api.client.get(path)).status_code == 200  # within the few seconds of leeway
    clock.advance(seconds=6)

    assert_problem(await api.client.get(path), 403, "token_expired")


async def test_deleting_media_kills_its_link_at_once(api: Api) -> None:
    item = await api.uploaded(media_file(1000))
    path = await api.stream_path(item["id"])
    assert (await api.client.get(path)).status_code == 200

    await api.client.delete(f"/media/{item['id']}", headers=api.auth)

    assert_problem(await api.client.get(path), 404, "media_not_found")


# --- streaming ------------------------------------------------------------------------------

SIZE = 10_000


@pytest.fixture
async def streamed(api: Api) -> tuple[Api, str, bytes, dict[str, Any]]:
    """A media item of SIZE bytes with a title to encode, and its stream path."""
    data = media_file(SIZE)
    item = await api.uploaded(data, fields=[("title", 'Zoë "night" 100%')])
    return api, await api.stream_path(item["id"]), data, item


Streamed = tuple[Api, str, bytes, dict[str, Any]]


async def test_the_whole_file_comes_with_every_header_a_player_needs(streamed: Streamed) -> None:
    api, path, data, item = streamed

    response = await api.client.get(path)

    assert response.status_code == 200
    assert response.content == data
    headers = response.headers
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-length"] == str(SIZE)
    assert headers["content-type"] == "video/mp4"
    assert headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    created = datetime.fromisoformat(item["created_at"])
    assert parsedate_to_datetime(headers["last-modified"]) == created.replace(microsecond=0)
    assert headers["cache-control"].startswith("private")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-disposition"] == (
        "inline; filename=\"Zo_ _night_ 100_.mp4\"; filename*=UTF-8''Zo%C3%AB%20%22night%22%20100%25.mp4"
    )


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=9999-9999", 9999, 9999),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        ("bytes=-20000", 0, SIZE - 1),
        ("bytes=9000-", 9000, SIZE - 1),
        ("bytes=5000-99999", 5000, SIZE - 1),
        ("bytes=0-", 0, SIZE - 1),
        ("Bytes=10-19", 10, 19),
        ("bytes=10-19,", 10, 19),
    ],
)
async def test_a_single_range_gets_206_with_exactly_its_bytes(
    streamed: Streamed, range_header: str, start: int, end: int
) -> None:
    api, path, data, _ = streamed

    response = await api.client.get(path, headers={"Range": range_header})

    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize("range_header", ["bytes=10000-", "bytes=20000-30000", "bytes=-0"])
async def test_an_unsatisfiable_range_is_416_with_the_size(
    streamed: Streamed, range_header: str
) -> None:
    api, path, _, _ = streamed

    response = await api.client.get(path, headers={"Range": range_header})

    assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=0-1,5-6",
        "bytes=0-1, -5",
        "items=0-5",
        "bytes=5-1",
        "bytes=abc",
        "bytes 0-5",
        "bytes=" + "1" * 1000,
    ],
    ids=[
        "two ranges",
        "range and suffix",
        "other unit",
        "backwards",
        "garbage",
        "no equals",
        "too long",
    ],
)
async def test_several_or_malformed_ranges_get_the_whole_file(
    streamed: Streamed, range_header: str
) -> None:
    api, path, data, _ = streamed

    response = await api.client.get(path, headers={"Range": range_header})

    assert response.status_code == 200
    assert response.content == data
    assert "content-range" not in response.headers


async def test_if_range_with_the_current_etag_or_date_allows_the_range(streamed: Streamed) -> None:
    api, path, data, _ = streamed
    full = await api.client.get(path)

    for validator in (full.headers["etag"], full.headers["last-modified"]):
        response = await api.client.get(path, headers={"Range": "bytes=5-9", "If-Range": validator})
        assert response.status_code == 206
        assert response.content == data[5:10]


@pytest.mark.parametrize(
    "validator",
    ['"some-other-tag"', "W/{etag}", "Mon, 01 Jan 2024 00:00:00 GMT", "yesterday"],
)
async def test_if_range_with_a_changed_validator_gets_the_whole_file(
    streamed: Streamed, validator: str
) -> None:
    api, path, data, _ = streamed
    etag = (await api.client.get(path)).headers["etag"]

    response = await api.client.get(
        path, headers={"Range": "bytes=5-9", "If-Range": validator.format(etag=etag)}
    )

    assert response.status_code == 200
    assert response.content == data


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_if_none_match_with_the_etag_is_304_without_a_body(
    streamed: Streamed, method: str
) -> None:
    api, path, _, _ = streamed
    etag = (await api.client.get(path)).headers["etag"]

    for header in (etag, f'"x", W/{etag}', "*"):
        response = await api.client.request(
            method, path, headers={"If-None-Match": header, "Range": "bytes=0-5"}
        )
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "content-range" not in response.headers

    response = await api.client.get(path, headers={"If-None-Match": '"other"'})
    assert response.status_code == 200


async def test_head_sends_the_headers_of_a_get_and_no_body(streamed: Streamed) -> None:
    api, path, _, _ = streamed
    get = await api.client.get(path)

    head = await api.client.head(path)

    assert head.status_code == 200
    assert head.content == b""
    for name in (
        "accept-ranges",
        "content-length",
        "content-type",
        "etag",
        "last-modified",
        "content-disposition",
    ):
        assert head.headers[name] == get.headers[name]


async def test_head_ignores_range_as_rfc_9110_asks(streamed: Streamed) -> None:
    api, path, _, _ = streamed

    head = await api.client.head(path, headers={"Range": "bytes=0-9"})

    assert head.status_code == 200
    assert head.headers["content-length"] == str(SIZE)


async def test_head_checks_the_token_too(streamed: Streamed) -> None:
    api, path, _, _ = streamed
    response = await api.client.head(path.split("?")[0])
    assert response.status_code == 403


async def test_a_last_modified_date_is_an_http_date_in_gmt(streamed: Streamed) -> None:
    api, path, _, item = streamed
    created = datetime.fromisoformat(item["created_at"]).astimezone(UTC)
    response = await api.client.head(path)
    assert response.headers["last-modified"] == format_datetime(created, usegmt=True)
