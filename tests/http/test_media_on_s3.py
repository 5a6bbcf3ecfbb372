"""``klantroef serve`` with its media bytes in S3 (the session's SeaweedFS), next to local files.

The same requests get the same answers whichever store holds the bytes: exact
ranges, If-Range, ETag, HEAD and 304.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.live_server import FAST_ARGON2, LiveServer, free_port, live_server
from tests.media_samples import media_file
from tests.problems import assert_problem
from tests.real_servers import CREDENTIALS, PREFIX, fresh_bucket, s3_env
from tests.seaweedfs import SeaweedS3, list_bucket, presigned_expiry


async def delete_object(server: SeaweedS3, bucket: str, name: str) -> None:
    """Remove an object behind the service's back, as a store that lost it would."""
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    ) as client:
        await client.delete_object(Bucket=bucket, Key=name)


@dataclass
class Serving:
    server: LiveServer
    http: httpx.Client
    auth: dict[str, str]
    data_dir: Path
    bucket: str | None


@pytest.fixture(params=["local", "s3"])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Serving]:
    data = tmp_path / "var"
    bucket = None
    env: dict[str, str] = {}
    if request.param == "s3":
        seaweed: SeaweedS3 = request.getfixturevalue("seaweedfs")
        bucket = fresh_bucket()  # missing: serve creates it
        env = s3_env(seaweed, bucket)
    with (
        live_server(data, env) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        yield Serving(server, http, {"Authorization": f"Bearer {token}"}, data, bucket)


def upload(serving: Serving, data: bytes) -> tuple[str, str]:
    """Upload ``data``; return its id and a stream URL."""
    response = serving.http.post(
        "/media",
        files={"file": ("clip.mp4", data, "video/mp4")},
        data={"title": "A clip"},
        headers=serving.auth,
    )
    assert response.status_code == 201, response.text
    media_id = response.json()["id"]
    url = serving.http.get(f"/media/{media_id}/stream-url", headers=serving.auth).json()["url"]
    return media_id, url


def test_ranges_validators_and_head_answer_alike_on_either_store(
    serving: Serving, seaweedfs: SeaweedS3
) -> None:
    data = media_file(9 * 1024 * 1024 + 123)  # above one 8 MiB part: a multipart upload on S3
    media_id, url = upload(serving, data)

    whole = serving.http.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["accept-ranges"] == "bytes"
    etag = whole.headers["etag"]
    for header, expected in [
        ("bytes=0-0", data[:1]),
        ("bytes=-1000", data[-1000:]),
        ("bytes=8388600-8388700", data[8_388_600:8_388_701]),  # across the part boundary
        ("bytes=5000000-", data[5_000_000:]),
    ]:
        part = serving.http.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == expected
        assert part.headers["content-length"] == str(len(expected))
        assert part.headers["etag"] == etag
    assert serving.http.get(url, headers={"Range": "bytes=99999999-"}).status_code == 416

    current = serving.http.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert (current.status_code, current.content) == (206, data[10:20])
    stale = serving.http.get(url, headers={"Range": "bytes=10-19", "If-Range": '"other"'})
    assert (stale.status_code, stale.content) == (200, data)
    unchanged = serving.http.get(url, headers={"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")

    head = serving.http.head(url)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["etag"] == etag

    if serving.bucket is not None:  # the bytes are in the bucket, none on local disk
        listing = asyncio.run(list_bucket(seaweedfs, serving.bucket, PREFIX))
        # beside the item, its HLS outcome (a refusal: these bytes are no H.264)
        assert len([name for name in listing.objects if ".hls." not in name]) == 1
        assert listing.uploads == []
        assert not (serving.data_dir / "media").exists()
        assert serving.http.delete(f"/media/{media_id}", headers=serving.auth).status_code == 204
        assert asyncio.run(list_bucket(seaweedfs, serving.bucket, PREFIX)).objects == []


def run_serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_DATA_DIR": str(tmp_path / "var"),
        **FAST_ARGON2,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "klantroef_app.cli", "serve", "--port", str(free_port())],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_exits_with_one_clear_line_when_the_store_cannot_be_reached(
    tmp_path: Path, seaweedfs: SeaweedS3
) -> None:
    env = {**s3_env(seaweedfs, fresh_bucket()), "KLANTROEF_S3_ENDPOINT": "http://127.0.0.1:9"}

    run = run_serve(tmp_path, env)

    assert run.returncode == 2
    problem = [line for line in run.stderr.splitlines() if line.startswith("klantroef:")]
    assert len(problem) == 1, run.stderr
    assert "S3 bucket" in problem[0]
    assert seaweedfs.secret_access_key not in run.stderr + run.stdout
    assert not (tmp_path / "var" / "media").exists()


def test_serve_exits_with_one_clear_line_when_the_store_refuses_the_credentials(
    tmp_path: Path, seaweedfs: SeaweedS3
) -> None:
    bucket = fresh_bucket()
    env = {**s3_env(seaweedfs, bucket), "KLANTROEF_S3_SECRET_ACCESS_KEY": "not-the-secret-at-all"}

    run = run_serve(tmp_path, env)

    assert run.returncode == 2
    problem = [line for line in run.stderr.splitlines() if line.startswith("klantroef:")]
    assert len(problem) == 1, run.stderr
    assert bucket in problem[0]
    assert "not-the-secret-at-all" not in run.stderr + run.stdout


def test_bytes_lost_behind_the_services_back_are_a_404_problem_on_a_real_server(
    serving: Serving, seaweedfs: SeaweedS3
) -> None:
    data = media_file(700_000, seed=3)
    media_id, url = upload(serving, data)
    assert serving.http.get(url).content == data

    if serving.bucket is None:
        (file,) = (serving.data_dir / "media").glob(media_id)
        file.unlink()
    else:
        (name,) = asyncio.run(list_bucket(seaweedfs, serving.bucket, PREFIX + media_id)).objects[:1]
        asyncio.run(delete_object(seaweedfs, serving.bucket, name))

    for headers in ({}, {"Range": "bytes=10-99"}, {"Range": "bytes=-5"}):
        answer = serving.http.get(url, headers=headers)
        assert_problem(answer, 404, "media_bytes_missing")
        assert "etag" not in answer.headers
    head = serving.http.head(url)
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["content-type"].startswith("application/problem+json")
    assert serving.http.get(f"/media/{media_id}", headers=serving.auth).status_code == 200


def link_expiry(url: str) -> datetime:
    """The ``exp`` of a stream URL's token (read, not verified: the server did that)."""
    token = parse_qs(urlsplit(url).query)["token"][0]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return datetime.fromtimestamp(claims["exp"], UTC)


def test_redirect_mode_sends_players_to_a_presigned_url_that_dies_with_the_link(
    tmp_path: Path, seaweedfs: SeaweedS3
) -> None:
    bucket = fresh_bucket()
    env = {**s3_env(seaweedfs, bucket), "KLANTROEF_S3_REDIRECT": "1"}
    data = media_file(6 * 1024 * 1024 + 77, seed=11)
    with (
        live_server(tmp_path / "var", env) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        serving = Serving(server, http, {"Authorization": f"Bearer {token}"}, tmp_path, bucket)
        _, url = upload(serving, data)

        redirect = http.get(url, headers={"Range": "bytes=0-99"})
        assert redirect.status_code == 307
        assert redirect.headers["cache-control"] == "no-store"
        location = redirect.headers["location"]
        assert location.startswith(seaweedfs.endpoint + "/" + bucket + "/" + PREFIX)
        assert presigned_expiry(location) <= link_expiry(url)
        assert presigned_expiry(location) >= link_expiry(url) - timedelta(seconds=5)

        with httpx.Client(timeout=30, follow_redirects=True) as player:
            whole = player.get(url)
            assert (whole.status_code, whole.content) == (200, data)
            assert whole.headers["content-type"] == "video/mp4"
            for header, expected in [
                ("bytes=0-0", data[:1]),
                ("bytes=-1000", data[-1000:]),
                ("bytes=5000000-", data[5_000_000:]),
                ("bytes=1000-2999999", data[1000:3_000_000]),
            ]:
                part = player.get(url, headers={"Range": header})
                assert (part.status_code, part.content) == (206, expected), header

        head = http.head(url)  # a presigned GET cannot answer HEAD: the service does
        assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
        refused = http.get(url.split("?")[0] + "?token=forged")
        assert refused.status_code == 403
        assert "location" not in refused.headers
        other = http.get(url.replace("/media/", "/media/0", 1))
        assert other.status_code == 403  # the token is for another item: checked as ever
