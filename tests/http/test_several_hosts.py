"""Two hosts behave as one: two ``klantroef serve`` processes with data folders of
their own and no shared disk, on one MariaDB database, one Redis and one S3 bucket.

A real MP4 uploaded through A is listed, streamed (exact ranges), played and
seeked in headless Chromium, and viewed through B; one client's view quota is one
quota whichever process counts it; analytics agree; and deleting through B
removes the object from the bucket. Skips when MariaDB, Redis, SeaweedFS or
Chromium is missing, and fails instead under ``KLANTROEF_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser import PLAY_AND_SEEK, SECONDS, SEEK_TO, Browser, encode_mp4, require_chromium
from tests.live_server import LiveServer, live_server
from tests.real_servers import (
    PREFIX,
    SECRETS,
    VIEW_LIMIT,
    admin_headers,
    clients,
    fresh_bucket,
    s3_env,
)
from tests.seaweedfs import SeaweedS3, list_bucket
from tests.sql_engines import fresh_database


@contextmanager
def two_hosts(folder: Path, env: dict[str, str]) -> Iterator[list[LiveServer]]:
    """A migrates the database and creates the bucket; B only serves."""
    with (
        live_server(folder / "host-a", env) as a,
        live_server(folder / "host-b", env, migrate=False) as b,
    ):
        yield [a, b]


async def test_two_hosts_on_one_database_redis_and_bucket_behave_as_one(
    tmp_path: Path, mariadb_url: str, redis_url: str, seaweedfs: SeaweedS3
) -> None:
    require_chromium()
    bucket = fresh_bucket()
    env = {
        "KLANTROEF_DATABASE_URL": await fresh_database(mariadb_url, suffix="several_hosts"),
        "KLANTROEF_REDIS_URL": redis_url,
        "KLANTROEF_TRUSTED_PROXIES": "127.0.0.1",
        **SECRETS,
        **s3_env(seaweedfs, bucket),
    }
    movie = tmp_path / "clip.mp4"
    encode_mp4(movie)
    data = movie.read_bytes()
    assert len(data) > 2_097_161
    with two_hosts(tmp_path, env) as hosts:
        async with clients(hosts) as (a, b):
            auth = await admin_headers(a)

            uploaded = await a.post(
                "/media",
                files={"file": ("clip.mp4", data, "video/mp4")},
                data={"title": "Shared clip"},
                headers=auth,
            )
            assert uploaded.status_code == 201, uploaded.text
            media_id = uploaded.json()["id"]
            assert (await list_bucket(seaweedfs, bucket, PREFIX)).objects != []
            for host in ("host-a", "host-b"):  # neither host keeps media on its own disk
                assert not (tmp_path / host / "media").exists()

            listed = (await b.get("/media", headers=auth)).json()["items"]
            assert [(item["id"], item["title"]) for item in listed] == [(media_id, "Shared clip")]

            link = (await b.get(f"/media/{media_id}/stream-url", headers=auth)).json()["url"]
            assert link.startswith(hosts[1].base_url)
            whole = await b.get(link)
            assert (whole.status_code, whole.content) == (200, data)
            for header, expected in [
                ("bytes=0-0", data[:1]),
                ("bytes=1048570-2097160", data[1_048_570:2_097_161]),
                ("bytes=-100", data[-100:]),
            ]:
                for http in (b, a):  # a link issued by B is good on A too
                    path = link.removeprefix(hosts[1].base_url)
                    part = await http.get(path, headers={"Range": header})
                    assert (part.status_code, part.content) == (206, expected), header

            with Browser() as browser:  # a player on host B's link, seeking by range
                played = browser.evaluate(
                    PLAY_AND_SEEK % {"seek": SEEK_TO, "url": repr(link)}, timeout=90
                )
            assert "error" not in played, played
            assert played["seekedAt"] == pytest.approx(SEEK_TO, abs=0.5)
            assert played["playingAt"] > played["seekedAt"]
            assert played["seekableEnd"] == pytest.approx(SECONDS, abs=0.1)

            # A viewer logs views through B with the link; the 31st in a minute is
            # refused whichever process gets it.
            token = link.split("token=")[1]
            view = f"/media/{media_id}/view?token={token}"
            viewer = {"X-Forwarded-For": "198.51.100.7"}
            for n in range(VIEW_LIMIT):
                posted = await b.post(view, headers=viewer)
                assert posted.status_code == 201, (n, posted.text)
            for http in (a, b):
                over = await http.post(view, headers=viewer)
                assert over.status_code == 429, over.text
                assert over.json()["code"] == "rate_limited"
            assert (
                await a.post(view, headers={"X-Forwarded-For": "198.51.100.8"})
            ).status_code == 201

            analytics = f"/media/{media_id}/analytics"
            reports = [(await http.get(analytics, headers=auth)).json() for http in (a, b)]
            assert reports[0] == reports[1]
            assert (reports[0]["total_views"], reports[0]["unique_ips"]) == (VIEW_LIMIT + 1, 2)

            # Deleting through B removes the object from the bucket; A's links die too.
            assert (await b.delete(f"/media/{media_id}", headers=auth)).status_code == 204
            assert (await list_bucket(seaweedfs, bucket, PREFIX)).objects == []
            gone = await a.get(link.removeprefix(hosts[1].base_url))
            assert (gone.status_code, gone.json()["code"]) == (404, "media_not_found")
            assert (await a.get("/media", headers=auth)).json()["items"] == []
