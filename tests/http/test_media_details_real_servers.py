"""Metadata, posters and waveforms through real ``klantroef serve`` processes.

Both deployments the issue names: the embedded default (SQLite, local files) and
MariaDB + Redis with the bytes in S3 (the session's SeaweedFS). Files are real,
encoded by PyAV; pictures are decoded back to check them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from klantroef_adapters.sql.engine import create_engine
from klantroef_adapters.sql.tables import media as media_table
from klantroef_adapters.testing.media_files import (
    PictureFacts,
    audio_file,
    brightness_at,
    video_file,
)
from tests.live_server import FAST_ARGON2, live_server
from tests.problems import assert_problem
from tests.real_servers import CREDENTIALS, PREFIX, SECRETS, fresh_bucket, s3_env
from tests.seaweedfs import SeaweedS3, list_bucket, remove_object
from tests.services import MARIADB_URL, REDIS_URL, require
from tests.sql_engines import fresh_database

GARBAGE = os.urandom(300_000)
DETAIL_COLUMNS = [
    column.name
    for column in media_table.columns
    if column.name not in {c.name for c in media_table.primary_key.columns} and column.nullable
]


@dataclass
class Deployment:
    http: httpx.Client
    auth: dict[str, str]
    data_dir: Path
    env: dict[str, str]
    database_url: str
    seaweed: SeaweedS3 | None
    bucket: str | None

    def stored(self) -> list[str]:
        """Every blob the media store holds (files, or objects under the prefix)."""
        if self.seaweed is None or self.bucket is None:
            folder = self.data_dir / "media"
            return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        listing = asyncio.run(list_bucket(self.seaweed, self.bucket, PREFIX))
        return listing.objects + listing.uploads

    def blobs_of(self, item: dict[str, object]) -> list[str]:
        return [blob for blob in self.stored() if str(item["id"]) in blob]

    def upload(self, data: bytes, name: str = "clip.mp4") -> httpx.Response:
        return self.http.post(
            "/media", files={"file": (name, data)}, data={"title": "A clip"}, headers=self.auth
        )

    def uploaded(self, data: bytes, name: str = "clip.mp4") -> dict[str, object]:
        response = self.upload(data, name)
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body

    def poster_path(self, media_id: object) -> str:
        link = self.http.get(f"/media/{media_id}/stream-url", headers=self.auth)
        assert link.status_code == 200, link.text
        return f"/media/{media_id}/poster?{urlsplit(link.json()['url']).query}"

    def klantroef(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The ``klantroef`` command with the server's settings."""
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
            "KLANTROEF_DATA_DIR": str(self.data_dir),
            **FAST_ARGON2,
            **self.env,
        }
        return subprocess.run(
            [sys.executable, "-m", "klantroef_app.console", *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module", params=["embedded", "mariadb-redis-s3"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One server per deployment for the module: each test looks only at its own items."""
    data = tmp_path_factory.mktemp("details") / "var"
    env = dict(SECRETS)
    seaweed, bucket = None, None
    database_url = f"sqlite:///{data / 'klantroef.db'}"
    if request.param == "mariadb-redis-s3":
        require("MariaDB", MARIADB_URL)
        require("Redis", REDIS_URL)
        seaweed = request.getfixturevalue("seaweedfs")
        bucket = fresh_bucket()
        database_url = asyncio.run(fresh_database(MARIADB_URL, "details"))
        env |= s3_env(seaweed, bucket) | {
            "KLANTROEF_DATABASE_URL": database_url,
            "KLANTROEF_REDIS_URL": REDIS_URL,
        }
    with (
        live_server(data, env) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        yield Deployment(http, auth, data, env, database_url, seaweed, bucket)


def test_a_video_is_described_and_its_poster_is_a_frame_a_tenth_in(
    deployment: Deployment,
) -> None:
    data = video_file(4.0, width=1280, height=720, codec="libx264")  # H.264 + AAC

    item = deployment.uploaded(data)

    assert "mp4" in str(item["container"])
    assert item["duration_seconds"] == pytest.approx(4.0, abs=1 / 25)
    assert isinstance(item["bit_rate"], int)
    assert item["bit_rate"] > 0
    assert item["video"] == {"codec": "h264", "width": 1280, "height": 720, "frame_rate": 25.0}
    assert item["audio"] == {"codec": "aac", "channels": 2, "sample_rate": 44100}
    assert deployment.http.get(f"/media/{item['id']}", headers=deployment.auth).json() == item
    listed = deployment.http.get("/media", headers=deployment.auth).json()["items"]
    assert item in listed

    poster = deployment.http.get(deployment.poster_path(item["id"]))

    assert poster.status_code == 200, poster.text
    assert poster.headers["content-type"] == "image/jpeg"
    assert int(poster.headers["content-length"]) == len(poster.content)
    assert poster.headers["cache-control"] == "private, max-age=0, must-revalidate"
    facts = PictureFacts(poster.content)
    assert (facts.codec, facts.width, facts.height) == ("mjpeg", 640, 360)
    luma = brightness_at(10, 100)  # frame 10 of 100
    assert facts.mean() == pytest.approx((luma - 16) * 255 / 219, abs=6)


def test_a_poster_has_validators_and_the_stream_links_checks(deployment: Deployment) -> None:
    item = deployment.uploaded(video_file(1.0, width=320, height=240))
    path = deployment.poster_path(item["id"])
    first = deployment.http.get(path)
    etag = first.headers["etag"]

    again = deployment.http.get(path, headers={"if-none-match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "last-modified" in again.headers
    assert deployment.http.get(path, headers={"if-none-match": '"other"'}).status_code == 200
    assert_problem(deployment.http.get(f"/media/{item['id']}/poster"), 403, "token_missing")
    other = deployment.uploaded(video_file(1.0, width=320, height=240), "other.mp4")
    query = urlsplit(path).query
    assert_problem(
        deployment.http.get(f"/media/{other['id']}/poster?{query}"), 403, "token_wrong_media"
    )


def test_an_audio_file_gets_a_waveform(deployment: Deployment) -> None:
    item = deployment.uploaded(audio_file(3.0, rate=22050, channels=1), "song.mp3")

    assert item["type"] == "audio"
    assert item["container"] == "mp3"
    assert item["video"] is None
    assert item["audio"] == {"codec": "mp3", "channels": 1, "sample_rate": 22050}
    assert item["duration_seconds"] == pytest.approx(3.0, abs=1152 / 22050)
    poster = deployment.http.get(deployment.poster_path(item["id"]))
    assert poster.status_code == 200, poster.text
    assert poster.headers["content-type"] == "image/png"
    facts = PictureFacts(poster.content)
    assert (facts.codec, facts.width) == ("png", 640)
    assert facts.mean(0.0, 0.1) > facts.mean(0.9, 1.0) + 50  # rising loudness: more ink


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("clip.mp4", video_file(1.0)[:64] + GARBAGE),
        ("song.mp3", audio_file(1.0)[:3000] + GARBAGE),
    ],
    ids=["mp4 header then garbage", "mp3 start then garbage"],
)
def test_a_valid_header_followed_by_garbage_is_refused_and_nothing_is_kept(
    deployment: Deployment, name: str, data: bytes
) -> None:
    listed = deployment.http.get("/media", headers=deployment.auth).json()["items"]
    stored = deployment.stored()

    response = deployment.upload(data, name)

    assert_problem(response, 415, "unreadable_media")
    assert deployment.http.get("/media", headers=deployment.auth).json()["items"] == listed
    assert deployment.stored() == stored


def test_deleting_an_item_removes_its_poster(deployment: Deployment) -> None:
    item = deployment.uploaded(video_file(1.0, width=320, height=240))
    path = deployment.poster_path(item["id"])
    mine = deployment.blobs_of(item)
    assert any(b.endswith(str(item["id"])) for b in mine)  # the file
    assert any(b.endswith(f"{item['id']}.poster") for b in mine)  # and its poster

    assert (
        deployment.http.delete(f"/media/{item['id']}", headers=deployment.auth).status_code == 204
    )

    assert deployment.blobs_of(item) == []
    assert_problem(deployment.http.get(path), 404, "media_not_found")


async def _forget_details(database_url: str, ids: list[str]) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            query = update(media_table).where(media_table.c.id.in_(ids))
            await conn.execute(query.values(dict.fromkeys(DETAIL_COLUMNS)))
    finally:
        await engine.dispose()


def test_the_probe_command_reads_items_stored_before_probing(deployment: Deployment) -> None:
    video = deployment.uploaded(video_file(2.0, width=320, height=240))
    song = deployment.uploaded(audio_file(2.0), "song.mp3")
    for item in (video, song):  # as items stored before: no poster, no metadata
        for blob in deployment.blobs_of(item):
            if blob.endswith(".poster"):
                _remove_blob(deployment, blob)
    asyncio.run(_forget_details(deployment.database_url, [str(video["id"]), str(song["id"])]))
    old = deployment.http.get(f"/media/{video['id']}", headers=deployment.auth).json()
    assert [old[k] for k in ("duration_seconds", "bit_rate", "container", "video", "audio")] == [
        None
    ] * 5
    assert_problem(deployment.http.get(deployment.poster_path(video["id"])), 404, "poster_missing")

    run = deployment.klantroef("media", "probe", "--all")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "probed: 2" in run.stdout
    for item in (video, song):
        now = deployment.http.get(f"/media/{item['id']}", headers=deployment.auth).json()
        assert now == item
        assert deployment.http.get(deployment.poster_path(item["id"])).status_code == 200
    again = deployment.klantroef("media", "probe", "--all")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "probed" not in again.stdout


def _remove_blob(deployment: Deployment, name: str) -> None:
    if deployment.seaweed is None or deployment.bucket is None:
        (deployment.data_dir / "media" / name).unlink()
        return
    asyncio.run(remove_object(deployment.seaweed, deployment.bucket, name))  # prefixed
