"""Media through a real ``klantroef serve`` process (granian, and uvicorn), over real sockets."""

from __future__ import annotations

import select
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer, live_server
from tests.media_samples import media_file, multipart_body

CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}
SERVERS = ["granian", "uvicorn"]


@dataclass
class Running:
    server: LiveServer
    http: httpx.Client
    auth: dict[str, str]
    token: str
    media_dir: Path

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.media_dir.iterdir()) if self.media_dir.exists() else []

    def items(self) -> list[dict[str, object]]:
        items: list[dict[str, object]] = self.http.get("/media", headers=self.auth).json()["items"]
        return items

    def address(self) -> tuple[str, int]:
        host, port = self.server.base_url.removeprefix("http://").split(":")
        return host, int(port)


@pytest.fixture(params=SERVERS)
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    data = tmp_path / "var"
    env = {"KLANTROEF_MAX_UPLOAD_BYTES": str(32 * 1024 * 1024)}
    with (
        live_server(data, env, args=("--server", request.param)) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        yield Running(server, http, {"Authorization": f"Bearer {token}"}, token, data / "media")


def wait_until(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.05)
    return False


def raw_request_head(running: Running, content_type: str, extra: str) -> bytes:
    return (
        f"POST /media HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {running.token}\r\n"
        f"Content-Type: {content_type}\r\n{extra}\r\n"
    ).encode()


def read_status(sock: socket.socket) -> int:
    sock.settimeout(10)
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_a_several_megabyte_upload_streams_back_with_exact_ranges(
    running: Running, tmp_path: Path
) -> None:
    data = media_file(6 * 1024 * 1024 + 123)
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)

    with source.open("rb") as file:  # httpx streams a file object in chunks
        response = running.http.post(
            "/media",
            files={"file": ("clip.mp4", file, "video/mp4")},
            data={"title": "A clip"},
            headers=running.auth,
        )
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["size_bytes"], item["title"]) == (len(data), "A clip")
    link = running.http.get(f"/media/{item['id']}/stream-url", headers=running.auth).json()
    url = link["url"]
    assert url.startswith(running.server.base_url + "/media/")

    whole = running.http.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-length"] == str(len(data))
    for header, expected in [
        ("bytes=0-0", data[:1]),
        ("bytes=-1000", data[-1000:]),
        ("bytes=5000000-", data[5_000_000:]),
        ("bytes=1000-2999999", data[1000:3_000_000]),
    ]:
        part = running.http.get(url, headers={"Range": header})
        assert part.status_code == 206
        assert part.content == expected
    assert running.http.get(url, headers={"Range": "bytes=99999999-"}).status_code == 416

    head = running.http.head(url)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(data))
    forbidden = running.http.head(url.split("?")[0])
    assert (forbidden.status_code, forbidden.content) == (403, b"")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_uploads_and_curl_r_fetches_the_exact_bytes(running: Running, tmp_path: Path) -> None:
    data = media_file(3 * 1024 * 1024, seed=7)
    source = tmp_path / "movie.mp4"
    source.write_bytes(data)
    base = running.server.base_url

    def curl(*args: str) -> bytes:
        result = subprocess.run(
            ["curl", "-sS", "--fail", *args], capture_output=True, timeout=60, check=True
        )
        return result.stdout

    auth = f"Authorization: Bearer {running.token}"
    item = httpx.Response(
        200, content=curl("-H", auth, "-F", f"file=@{source}", f"{base}/media")
    ).json()
    assert item["title"] == "movie"
    url = running.http.get(f"/media/{item['id']}/stream-url", headers=running.auth).json()["url"]

    assert curl("-r", "0-99", url) == data[:100]
    assert curl("-r", "-4096", url) == data[-4096:]
    assert curl("-r", "1048576-", url) == data[1048576:]
    assert curl(url) == data


def test_a_client_that_disconnects_mid_upload_leaves_no_file_and_no_row(
    running: Running,
) -> None:
    body, content_type = multipart_body([], media_file(8 * 1024 * 1024))
    head = raw_request_head(running, content_type, f"Content-Length: {len(body)}\r\n")

    with socket.create_connection(running.address()) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # let the server store the first half

    assert wait_until(lambda: running.leftovers() == [])
    assert running.items() == []
    assert running.http.get("/health/live").status_code == 200


def test_a_file_that_is_not_media_is_refused_before_the_body_is_sent(running: Running) -> None:
    body, content_type = multipart_body([], b"just text, renamed to movie.mp4\n" * 600_000)
    head = raw_request_head(running, content_type, f"Content-Length: {len(body)}\r\n")

    with socket.create_connection(running.address()) as sock:
        sock.sendall(head + body[:65536])  # a sliver of 19 MB: the answer must not wait
        assert read_status(sock) == 415

    assert wait_until(lambda: running.leftovers() == [])
    assert running.items() == []


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole response (it must have a Content-Length): status, headers, body."""
    sock.settimeout(10)
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a response: {reply!r}"
        reply += chunk
    head, body = reply.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (x.split(":", 1) for x in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed mid-response"
        body += chunk
    return int(status_line.split(" ", 2)[1]), headers, body


def test_a_refusal_reaches_a_client_that_sends_its_whole_body_first(running: Running) -> None:
    # Found by the soak: a client that sends the whole body before reading (httpx,
    # curl, browsers) got a reset connection instead of the 415 under load, or a
    # keep-alive connection the server then dropped under its next request.
    body, content_type = multipart_body([], b"%PDF-1.7\n" + bytes(2 * 1024 * 1024))
    head = raw_request_head(running, content_type, f"Content-Length: {len(body)}\r\n")
    sock = socket.create_connection(running.address())
    try:
        for _ in range(5):
            sock.sendall(head + body)
            status, headers, reply = read_response(sock)
            assert status == 415, reply
            if headers.get("connection", "").lower() == "close":  # said so: a new connection
                sock.close()
                sock = socket.create_connection(running.address())
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(sock)[0] == 200  # the connection kept alive is still good
    finally:
        sock.close()
    assert wait_until(lambda: running.leftovers() == [])


def test_an_oversized_chunked_upload_is_refused_once_it_passes_the_limit(running: Running) -> None:
    # Three times the 32 MiB limit: far more than loopback's socket buffers can hold, so
    # the client cannot have sent it all before the server's refusal arrives.
    body, content_type = multipart_body([], media_file(96 * 1024 * 1024))
    head = raw_request_head(running, content_type, "Transfer-Encoding: chunked\r\n")
    sent = 0

    with socket.create_connection(running.address()) as sock:
        sock.settimeout(5)
        sock.sendall(head)
        while sent < len(body) and not select.select([sock], [], [], 0)[0]:
            piece = body[sent : sent + 256 * 1024]
            try:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: it has answered
            sent += len(piece)
        status = read_status(sock)

    assert status == 413
    assert sent < len(body)
    assert wait_until(lambda: running.leftovers() == [])
    assert running.items() == []
