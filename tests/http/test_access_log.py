"""The access log of real ``klantroef serve`` processes: one JSON line per request (text on
a terminal, or when asked), the route template and the path without its query, the
request id taken or made and echoed, the client as the privacy setting allows."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer, live_server
from tests.media_samples import media_file
from tests.real_servers import CREDENTIALS, SECRETS

STREAM_ROUTE = "/media/{media_id}/stream"


def access_lines(server: LiveServer) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.log.read_text().splitlines()]
    return [line for line in lines if line["logger"] == "klantroef.access"]


def wait_for_lines(server: LiveServer, count: int) -> list[dict[str, Any]]:
    """The access lines, once ``count`` are written (a worker writes after it answered)."""
    deadline = time.monotonic() + 10
    while True:
        lines = access_lines(server)
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def stream_flow(http: httpx.Client) -> tuple[str, str]:
    """Sign in, upload, get a link and read a range of it: the media id and the link's token."""
    assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
    token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    upload = http.post(
        "/media",
        headers=headers,
        files={"file": ("clip.mp4", media_file(4096), "video/mp4")},
        data={"title": "clip"},
    )
    assert upload.status_code == 201, upload.text
    media = upload.json()["id"]
    link = http.get(f"/media/{media}/stream-url", headers=headers).json()["token"]
    return media, link


def test_one_json_line_per_request_with_route_path_status_bytes_and_request_id(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path, SECRETS) as server, httpx.Client(base_url=server.base_url) as http:
        before = len(access_lines(server))  # the start-up probe's
        media, token = stream_flow(http)
        ranged = http.get(
            f"/media/{media}/stream",
            params={"token": token},
            headers={"Range": "bytes=0-99", "X-Request-ID": "trace-42.a:b"},
        )
        assert ranged.status_code == 206
        assert ranged.headers["x-request-id"] == "trace-42.a:b"
        bad_id = http.get("/health/live", headers={"X-Request-ID": "no spaces\tplease"})
        generated = bad_id.headers["x-request-id"]
        assert generated != "no spaces\tplease"
        assert len(generated) == 32
        missing = http.get("/no/such/path?token=abc")
        assert missing.status_code == 404
        lines = wait_for_lines(server, before + 7)

    ours = lines[before:]
    assert [(line["method"], line["route"], line["status"]) for line in ours] == [
        ("POST", "/auth/signup", 201),
        ("POST", "/auth/login", 200),
        ("POST", "/media", 201),
        ("GET", "/media/{media_id}/stream-url", 200),
        ("GET", STREAM_ROUTE, 206),
        ("GET", "/health/live", 200),
        ("GET", "unmatched", 404),
    ]
    stream = ours[4]
    assert stream["path"] == f"/media/{media}/stream"  # no query: the token stays out
    assert stream["bytes"] == 100
    assert stream["request_id"] == "trace-42.a:b"
    assert stream["client"] == "127.0.0.1"
    assert stream["level"] == "info"
    assert isinstance(stream["duration_ms"], float)
    assert stream["duration_ms"] >= 0
    assert stream["time"].endswith("Z")
    assert ours[5]["request_id"] == generated
    assert ours[6]["path"] == "/no/such/path"
    assert ours[3]["bytes"] > 0
    for line in ours:
        assert len(line["request_id"]) >= 1
        assert token not in json.dumps(line)


def test_in_hmac_mode_the_client_is_logged_as_its_keyed_hash(tmp_path: Path) -> None:
    env = {**SECRETS, "KLANTROEF_IP_STORAGE": "hmac", "KLANTROEF_LOG_FORMAT": "json"}
    with live_server(tmp_path, env) as server, httpx.Client(base_url=server.base_url) as http:
        assert http.get("/health/live").status_code == 200
        lines = wait_for_lines(server, 2)
    expected = hmac.new(
        SECRETS["KLANTROEF_IP_HASH_SECRET"].encode(), b"127.0.0.1", hashlib.sha256
    ).hexdigest()
    assert {line["client"] for line in lines} == {expected}
    assert all("127.0.0.1" not in json.dumps(line) for line in lines)


def test_text_lines_when_asked(tmp_path: Path) -> None:
    env = {**SECRETS, "KLANTROEF_LOG_FORMAT": "text"}
    with live_server(tmp_path, env) as server, httpx.Client(base_url=server.base_url) as http:
        rid = http.get("/health/live").headers["x-request-id"]
        deadline = time.monotonic() + 10
        while rid not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    line = next(line for line in server.log.read_text().splitlines() if rid in line)
    assert not line.startswith("{")
    assert " GET /health/live 200 " in line
    assert "client=127.0.0.1" in line
    assert f"id={rid}" in line


def run_cli_on(stdout: int, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "klantroef_app.cli", "migrate"],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        check=True,
        timeout=60,
    )


@pytest.mark.parametrize("setting", ["auto", ""])
def test_auto_is_text_on_a_terminal_and_json_otherwise(setting: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_DATABASE_URL": "memory://",
        "KLANTROEF_LOG_FORMAT": setting,
    }
    piped = tmp_path / "piped.log"
    with piped.open("wb") as file:
        run_cli_on(file.fileno(), env)
    line = json.loads(piped.read_text().splitlines()[0])
    assert line["message"] == "nothing to migrate: every store is in memory"

    controller, terminal = pty.openpty()
    try:
        run_cli_on(terminal, env)
        os.close(terminal)
        terminal = -1
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: everything was read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    text = seen.decode()
    assert "INFO    klantroef: nothing to migrate: every store is in memory" in text
    assert "{" not in text
