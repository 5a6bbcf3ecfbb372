"""No log line holds a password, a token or a full stream URL.

Runs last (``@pytest.mark.last``): it reads every line the service logged during the
session (``tests/log_capture.py``: in-process apps through both formatters, real
servers' whole output) and every secret the tests sent or were handed. Run alone,
it first makes such traffic itself, in process and against a real server, so it
never passes for want of lines.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from klantroef_app.container import Container
from tests.app_support import app_client, signed_in
from tests.live_server import live_server
from tests.log_capture import CAPTURE
from tests.media_samples import media_file
from tests.real_servers import CREDENTIALS, SECRETS


def flow(http: httpx.Client) -> None:
    http.post("/auth/signup", json=CREDENTIALS)
    token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    upload = http.post(
        "/media",
        headers=headers,
        files={"file": ("clip.mp4", media_file(2048), "video/mp4")},
        data={"title": "clip"},
    )
    media = upload.json()["id"]
    url = http.get(f"/media/{media}/stream-url", headers=headers).json()["url"]
    assert http.get(url, headers={"Range": "bytes=0-9"}).status_code == 206
    assert http.post(f"/media/{media}/view?{url.split('?', 1)[1]}").status_code == 201
    assert http.get("/media/nope/stream?token=" + "x" * 40).status_code == 403
    assert http.post("/auth/logout", headers=headers).status_code == 204
    assert http.get("/auth/me", headers=headers).status_code == 401


@pytest.mark.last
async def test_no_log_line_holds_a_secret_the_tests_used(
    container: Container, tmp_path: Path
) -> None:
    async with app_client(container) as client:  # in process
        headers = await signed_in(client)
        upload = await client.post(
            "/media",
            headers=headers,
            files={"file": ("clip.mp4", media_file(2048), "video/mp4")},
            data={"title": "clip"},
        )
        media = upload.json()["id"]
        link = (await client.get(f"/media/{media}/stream-url", headers=headers)).json()
        assert (await client.get(link["url"])).status_code == 200
        assert (await client.post("/auth/logout", headers=headers)).status_code == 204
    with live_server(tmp_path, SECRETS) as server, httpx.Client(base_url=server.base_url) as http:
        flow(http)

    stream_lines = [line for line in CAPTURE.lines if "/stream" in line]
    assert len(stream_lines) >= 4, "the stream requests were logged"
    assert len(CAPTURE.secrets) >= 6, "tokens and passwords were collected"
    assert any(link["token"] == secret for secret in CAPTURE.secrets)
    everything = "\n".join(CAPTURE.lines)
    leaked = [secret for secret in CAPTURE.secrets if secret in everything]
    assert [next(line for line in CAPTURE.lines if secret in line) for secret in leaked] == []
