"""GET /media/{id}/play: the page, its element by kind, escaping, its headers and its refusals."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from klantroef_app.asgi import redirect_origins
from klantroef_app.container import Container
from klantroef_app.settings import Settings
from klantroef_core.domain.media import MediaType
from klantroef_core.use_cases.file_upload import FileUpload
from klantroef_http.media.play_page import PLAYER_SCRIPT_PATH, play_page_policy
from tests.app_support import app_client, migrated_container, signed_in
from tests.fakes import FakeClock
from tests.media_samples import M4A_HEAD, MP4_HEAD, media_file
from tests.problems import assert_problem

Client = AsyncTestClient[Any]
TITLE = '<script>alert("x")</script> & Ann\'s clip'


async def issued(
    client: Client, container: Container, kind: MediaType = MediaType.VIDEO, title: str = TITLE
) -> tuple[str, dict[str, Any], dict[str, str]]:
    headers = await signed_in(client)
    me = (await client.get("/auth/me", headers=headers)).json()
    head = M4A_HEAD if kind is MediaType.AUDIO else MP4_HEAD
    upload = FileUpload.from_chunks([media_file(3000, head)], title=title)
    media = await container.upload_media()(upload, me["id"])
    link = (await client.get(f"/media/{media.id}/stream-url", headers=headers)).json()
    return media.id, link, headers


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver.local")


async def test_the_stream_link_comes_with_the_page_that_plays_it(
    client: Client, container: Container
) -> None:
    media_id, link, _ = await issued(client, container)
    assert (
        link["play_url"] == f"http://testserver.local/media/{media_id}/play?token={link['token']}"
    )
    page = await client.get(path_of(link["play_url"]))
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == play_page_policy()
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    stream = f"/media/{media_id}/stream?token={link['token']}"
    view = f"/media/{media_id}/view?token={link['token']}"
    assert re.search(rf'<video id="player" [^>]*src="{re.escape(stream)}"', page.text)
    assert f'data-view-url="{view}"' in page.text
    assert "<audio" not in page.text
    assert f'<script src="{PLAYER_SCRIPT_PATH}"></script>' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
    assert "http" not in page.text  # every URL is relative: nothing from another site
    # the one URL on the page the stream accepts
    assert (await client.get(stream, headers={"range": "bytes=0-9"})).status_code == 206


async def test_audio_gets_an_audio_element(client: Client, container: Container) -> None:
    _, link, _ = await issued(client, container, MediaType.AUDIO)
    page = await client.get(path_of(link["play_url"]))
    assert page.status_code == 200
    assert '<audio id="player"' in page.text
    assert "<video" not in page.text


async def test_everything_from_the_item_is_escaped(client: Client, container: Container) -> None:
    _, link, _ = await issued(client, container)
    page = (await client.get(path_of(link["play_url"]))).text
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Ann&#x27;s clip"
    assert f"<title>{escaped}</title>" in page
    assert f"<h1>{escaped}</h1>" in page
    assert "<script>alert" not in page


async def test_the_style_is_allowed_by_its_hash_and_nothing_else_inline(
    client: Client, container: Container
) -> None:
    _, link, _ = await issued(client, container)
    page = await client.get(path_of(link["play_url"]))
    policy = {
        words[0]: words[1:]
        for words in (p.split() for p in page.headers["content-security-policy"].split(";"))
    }
    style = re.search(r"<style>(.*?)</style>", page.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert policy["style-src"] == [f"'sha256-{digest}'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


async def test_the_player_script_is_served_here_as_javascript(client: Client) -> None:
    script = await client.get(PLAYER_SCRIPT_PATH)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "dataset.viewUrl" in script.text
    assert '"playing"' in script.text
    assert "{once: true}" in script.text


async def test_the_page_refuses_what_the_stream_refuses(
    client: Client, container: Container
) -> None:
    media_id, link, headers = await issued(client, container)
    other_id, _, _ = await issued(client, container, title="Other")
    for query, code in (
        ("", "token_missing"),
        ("?token=forged.not.jwt", "token_invalid"),
        (f"?token={link['token']}x", "token_invalid"),
    ):
        assert_problem(await client.get(f"/media/{media_id}/play{query}"), 403, code)
    wrong = await client.get(f"/media/{other_id}/play?token={link['token']}")
    assert_problem(wrong, 403, "token_wrong_media")
    assert (await client.delete(f"/media/{media_id}", headers=headers)).status_code == 204
    assert_problem(await client.get(path_of(link["play_url"])), 404, "media_not_found")


async def test_an_expired_link_gets_no_page(tmp_path: Path) -> None:
    clock = FakeClock()
    container = migrated_container(tmp_path / "data", {"clock": clock})
    async with app_client(container) as client:
        _, link, _ = await issued(client, container)
        clock.advance(minutes=11)
        assert_problem(await client.get(path_of(link["play_url"])), 403, "token_expired")


@pytest.mark.parametrize(
    ("endpoint", "redirect", "expected"),
    [
        ("http://127.0.0.1:8333", True, ("http://127.0.0.1:8333",)),
        (
            None,
            True,
            (
                "https://media.s3.us-east-1.amazonaws.com",
                "https://media.s3.amazonaws.com",
                "https://s3.us-east-1.amazonaws.com",
            ),
        ),
        ("http://user:secret@127.0.0.1:8333", True, ("http://127.0.0.1:8333",)),
        ("http://127.0.0.1:8333", False, ()),
    ],
)
def test_in_redirect_mode_the_page_may_play_from_the_store(
    endpoint: str | None, redirect: bool, expected: tuple[str, ...]
) -> None:
    env = {
        "KLANTROEF_DATABASE_URL": "mysql+aiomysql://k@db.invalid:3306/k",
        "KLANTROEF_S3_BUCKET": "media",
        "KLANTROEF_S3_REDIRECT": "1" if redirect else "0",
        **({"KLANTROEF_S3_ENDPOINT": endpoint} if endpoint else {}),
    }
    origins = redirect_origins(Settings.from_env(env))
    assert origins == expected
    sources = " ".join(("'self'", *expected))
    assert f"media-src {sources};" in play_page_policy(origins)
