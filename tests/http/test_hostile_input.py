"""Hostile input over HTTP, as Hypothesis properties: never a 500, never wrong bytes.

The whole app in process (the composition root over SQLite and a local media folder),
spoken to over HTTP by Litestar's test client: huge and deeply nested JSON, bytes
that are not UTF-8, CR/LF and quotes in titles and file names, path traversal in
file names, thousands of ranges and overflowing numbers in Range, and forged tokens
(alg none, wrong key, each key in the other's place, another item's link, expired,
revoked, tampered). Every answer is below 500; every 4xx is a problem document;
a 200/206 carries exactly the stored bytes; Content-Disposition stays one header;
stored files stay inside the media folder. Example counts are bounded and the
examples derandomized, so CI stays quick and repeatable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from klantroef_app.asgi import build_app
from tests.app_support import ADMIN_EMAIL, ADMIN_PASSWORD, migrated_container
from tests.media_samples import MP4_HEAD, media_file, multipart_body

PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ACCESS_SECRET = b"a" * 40  # what tests.app_support.settings_for configures
STREAM_SECRET = b"s" * 40
FILE_SIZE = 10_000


@dataclass
class App:
    client: TestClient[Any]
    auth: dict[str, str]
    token: str
    folder: Path
    media_id: str
    other_id: str
    stream: str  # the path and query of media_id's stream link
    link_token: str
    other_link_token: str
    data: bytes

    def files_outside_media(self) -> set[Path]:
        media = self.folder / "media"
        return {p for p in self.folder.rglob("*") if p.is_file() and media not in p.parents}


def _upload(client: TestClient[Any], auth: dict[str, str], data: bytes) -> str:
    body, content_type = multipart_body([("title", "clip")], data)
    response = client.post("/media", content=body, headers={**auth, "content-type": content_type})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _link(client: TestClient[Any], auth: dict[str, str], media_id: str) -> tuple[str, str]:
    url = client.get(f"/media/{media_id}/stream-url", headers=auth).json()["url"]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}", unquote(parts.query.removeprefix("token="))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("hostile-input")
    container = migrated_container(folder)
    with TestClient(app=build_app(container)) as client:
        credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        assert client.post("/auth/signup", json=credentials).status_code == 201
        token = client.post("/auth/login", json=credentials).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        data = media_file(FILE_SIZE, seed=3)
        media_id = _upload(client, auth, data)
        other_id = _upload(client, auth, media_file(FILE_SIZE, seed=4))
        stream, link_token = _link(client, auth, media_id)
        _, other_link_token = _link(client, auth, other_id)
        yield App(
            client, auth, token, folder, media_id, other_id, stream, link_token,
            other_link_token, data,
        )  # fmt: skip


def assert_no_server_error(response: Any) -> None:
    """Below 500, and a 4xx is a problem document with its status inside."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), (
            response.status_code,
            response.headers,
        )
        if response.request.method != "HEAD":
            assert response.json()["status"] == response.status_code


# --- JSON: huge, deeply nested, not UTF-8 ------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def hostile_json(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["nested", "huge", "value", "bytes", "numbers"]))
    if kind == "nested":
        depth = draw(st.integers(1, 100_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return (opener * depth + "1" + closer * depth).encode()
    if kind == "huge":
        size = draw(st.integers(1, 3_000_000))
        return json.dumps({"email": "a" * size, "password": "b" * 10}).encode()
    if kind == "numbers":
        digits = draw(st.integers(1, 5000))
        return f'{{"email": {"9" * digits}, "password": 1e{"9" * digits}}}'.encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    return json.dumps(draw(JSON_VALUES)).encode()


@PROPERTY
@given(body=hostile_json(), path=st.sampled_from(["/auth/signup", "/auth/login"]))
def test_any_json_body_is_answered_without_a_server_error(app: App, body: bytes, path: str) -> None:
    response = app.client.post(path, content=body, headers={"content-type": "application/json"})
    assert_no_server_error(response)


@PROPERTY
@given(
    raw=st.binary(min_size=1, max_size=40),
    where=st.sampled_from(["path", "query", "bearer", "range", "if-none-match", "title"]),
)
def test_bytes_that_are_not_utf8_anywhere_are_a_4xx_at_worst(
    app: App, raw: bytes, where: str
) -> None:
    escaped = quote(raw, safe="")
    headers: dict[bytes, bytes] = {}
    if where == "path":
        response = app.client.get(f"/media/{escaped}/stream?token={app.link_token}")
    elif where == "query":
        response = app.client.get(f"/media/{app.media_id}/stream?token={escaped}")
    elif where == "title":
        boundary = "hostile-boundary-0123456789"
        field = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'.encode()
            + raw
            + b"\r\n"
        )
        body, content_type = multipart_body([], MP4_HEAD + bytes(100), boundary=boundary)
        response = app.client.post(
            "/media", content=field + body, headers={**app.auth, "content-type": content_type}
        )
        if response.status_code == 201:
            app.client.delete(f"/media/{response.json()['id']}", headers=app.auth)
    else:
        name = {"bearer": b"authorization", "range": b"range", "if-none-match": b"if-none-match"}
        headers[name[where]] = b"Bearer " + raw if where == "bearer" else raw
        target = "/auth/me" if where == "bearer" else app.stream
        response = app.client.get(target, headers=headers)
    assert_no_server_error(response)


# --- titles and file names: CR/LF, quotes, traversal --------------------------------------

NASTY_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            ["\r", "\n", "\r\n", '"', "\\", "%", ";", "=", "../", "..\\", "/", "\x00", "é",
             "Set-Cookie: a=b", "filename*=x", "\u2028", "\ud7ff", ".mp4", " "]
        ),
        max_size=12,
    ).map("".join),
)  # fmt: skip


@PROPERTY
@given(title=NASTY_TEXT, filename=NASTY_TEXT)
def test_titles_and_file_names_never_split_headers_nor_escape_the_media_folder(
    app: App, title: str, filename: str
) -> None:
    before = app.files_outside_media()
    body, content_type = multipart_body(
        [("title", title)] if title else [], MP4_HEAD + bytes(200), filename=filename
    )
    response = app.client.post(
        "/media", content=body, headers={**app.auth, "content-type": content_type}
    )
    assert_no_server_error(response)
    assert app.files_outside_media() == before
    if response.status_code != 201:
        return
    item = response.json()
    try:
        path, _ = _link(app.client, app.auth, item["id"])
        streamed = app.client.get(path)
        assert streamed.status_code == 200
        assert streamed.content == MP4_HEAD + bytes(200)
        disposition = [v for k, v in streamed.headers.multi_items() if k == "content-disposition"]
        assert len(disposition) == 1
        value = disposition[0]
        assert "\r" not in value
        assert "\n" not in value
        assert "set-cookie" not in streamed.headers
        ascii_part, _, exact = value.partition("; filename*=UTF-8''")
        assert ascii_part.startswith('inline; filename="')
        assert ascii_part.endswith('"')
        assert '"' not in ascii_part[len('inline; filename="') : -1]
        assert unquote(exact).startswith(item["title"])
        stored = [p for p in (app.folder / "media").iterdir() if p.is_file()]
        assert all(p.parent == app.folder / "media" for p in stored)
    finally:
        app.client.delete(f"/media/{item['id']}", headers=app.auth)


# --- Range: thousands of ranges, overflowing numbers ----------------------------------------

BIG = st.one_of(
    st.integers(0, FILE_SIZE * 2),
    st.integers(2**63 - 5, 2**63 + 5),
    st.integers(10**30, 10**80),
    st.just(2**64),
)
ONE_RANGE = st.one_of(
    st.builds(lambda a, b: f"{a}-{b}", BIG, BIG),
    st.builds(lambda a: f"{a}-", BIG),
    st.builds(lambda a: f"-{a}", BIG),
    st.sampled_from(
        ["-", "", "-0", "0-0", "a-b", "1--2", "+1-2", " 1 - 2 ", "0x10-20", "\uff11-\uff12"]
    ),
)


@st.composite
def range_headers(draw: st.DrawFn) -> str:
    unit = draw(st.sampled_from(["bytes", "BYTES", "bytes ", "items", ""]))
    many = draw(st.integers(1, 5))
    if draw(st.booleans()):
        many = draw(st.integers(100, 5000))
    ranges = draw(st.lists(ONE_RANGE, min_size=1, max_size=5))
    return f"{unit}=" + ",".join((ranges * (many // len(ranges) + 1))[:many])


@PROPERTY
@given(header=range_headers())
def test_any_range_header_gets_exact_bytes_or_a_clear_refusal(app: App, header: str) -> None:
    response = app.client.get(app.stream, headers={b"range": header.encode()})
    assert_no_server_error(response)
    assert response.status_code in (200, 206, 416), response.status_code
    if response.status_code == 200:
        assert response.content == app.data
    elif response.status_code == 206:
        unit, _, span = response.headers["content-range"].partition(" ")
        first, _, rest = span.partition("-")
        last, _, size = rest.partition("/")
        assert (unit, int(size)) == ("bytes", FILE_SIZE)
        assert response.content == app.data[int(first) : int(last) + 1]
        assert int(response.headers["content-length"]) == len(response.content)
    else:
        assert response.headers["content-range"] == f"bytes */{FILE_SIZE}"


# --- forged tokens ------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def sign(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWS in compact form, signed with HMAC-SHA256 under ``key`` (None: no signature)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(
        str(header.get("alg")), hashlib.sha256
    )
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), digest).digest())}"


def forge(token: str, kind: str, key: bytes, other_key: bytes) -> str:
    header_part, claims_part, _ = token.split(".")
    header, claims = _unb64(header_part), _unb64(claims_part)
    now = int(time.time())
    if kind == "alg none":
        return sign({**header, "alg": "none"}, claims, None)
    if kind == "wrong key":
        return sign(header, claims, b"w" * 40)
    if kind == "the other key":  # a stream key signing an access token, and back
        return sign(header, claims, other_key)
    if kind == "expired":
        return sign(header, {**claims, "exp": now - 3600, "iat": now - 7200}, key)
    if kind == "tampered":
        return sign(header, claims, key)[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    if kind == "other algorithm":
        return sign({**header, "alg": "HS512"}, claims, key)
    if kind == "unknown kid":
        return sign({**header, "kid": "../../etc/passwd"}, claims, key)
    if kind == "no expiry":
        return sign(header, {k: v for k, v in claims.items() if k != "exp"}, key)
    if kind == "huge expiry":
        return sign(header, {**claims, "exp": 10**40}, key)
    if kind == "wrong audience":
        return sign(header, {**claims, "aud": "klantroef-other"}, key)
    raise AssertionError(kind)


FORGERIES = [
    "alg none", "wrong key", "the other key", "expired", "tampered", "other algorithm",
    "unknown kid", "no expiry", "huge expiry", "wrong audience",
]  # fmt: skip


def test_the_forger_signs_as_the_server_does(app: App) -> None:
    """Re-signing a real token unchanged is accepted: the forgeries test the checks, not typos."""
    _, claims_part, _ = app.token.split(".")
    header = _unb64(app.token.split(".")[0])
    access = sign(header, _unb64(claims_part), ACCESS_SECRET)
    assert (
        app.client.get("/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    )
    header_part, claims_part, _ = app.link_token.split(".")
    link = sign(_unb64(header_part), _unb64(claims_part), STREAM_SECRET)
    assert app.client.get(f"/media/{app.media_id}/stream?token={link}").status_code == 200


@PROPERTY
@given(kind=st.sampled_from(FORGERIES), target=st.sampled_from(["me", "list", "upload"]))
def test_a_forged_access_token_is_always_a_401(app: App, kind: str, target: str) -> None:
    token = forge(app.token, kind, ACCESS_SECRET, STREAM_SECRET)
    headers = {"Authorization": f"Bearer {token}"}
    if target == "me":
        response = app.client.get("/auth/me", headers=headers)
    elif target == "list":
        response = app.client.get("/media", headers=headers)
    else:
        body, content_type = multipart_body([], MP4_HEAD + bytes(10))
        response = app.client.post(
            "/media", content=body, headers={**headers, "content-type": content_type}
        )
    assert_no_server_error(response)
    assert response.status_code == 401, (kind, response.status_code, response.text)


@PROPERTY
@given(
    kind=st.sampled_from([*FORGERIES, "access token", "another item's link", "garbage"]),
    garbage=st.text(max_size=200),
    method=st.sampled_from(["GET", "HEAD", "VIEW"]),
)
def test_a_forged_stream_link_never_streams(app: App, kind: str, garbage: str, method: str) -> None:
    if kind == "access token":
        token = app.token
    elif kind == "another item's link":
        token = app.other_link_token
    elif kind == "garbage":
        token = garbage
    else:
        token = forge(app.link_token, kind, STREAM_SECRET, ACCESS_SECRET)
    query = f"token={quote(token, safe='')}"
    if method == "VIEW":
        response = app.client.post(f"/media/{app.media_id}/view?{query}")
    else:
        response = app.client.request(
            method, f"/media/{app.media_id}/stream?{query}", headers={"range": "bytes=0-"}
        )
    assert_no_server_error(response)
    assert response.status_code in (400, 401, 403), (kind, response.status_code, response.text)
    assert app.data[:64] not in response.content


def test_a_revoked_access_token_is_refused_everywhere(app: App) -> None:
    credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    token = app.client.post("/auth/login", json=credentials).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert app.client.get("/auth/me", headers=headers).status_code == 200
    assert app.client.post("/auth/logout", headers=headers).status_code == 204
    for path in (
        "/auth/me",
        "/media",
        f"/media/{app.media_id}",
        f"/media/{app.media_id}/stream-url",
    ):
        response = app.client.get(path, headers=headers)
        assert_no_server_error(response)
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
