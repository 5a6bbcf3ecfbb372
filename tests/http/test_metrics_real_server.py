"""``/metrics`` of a real ``klantroef serve --workers 2``: counts equal the traffic sent,
whichever worker served it and whichever worker answers the scrape; refused elsewhere.

The server runs on MariaDB and Redis behind a pretend proxy on 127.0.0.1
(``KLANTROEF_TRUSTED_PROXIES``), and only 127.0.0.1 may scrape
(``KLANTROEF_METRICS_ALLOW``), so a client bound to 127.0.0.2 is a peer that is
not allowed, on loopback.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.live_server import LiveServer, live_server
from tests.media_samples import media_file
from tests.real_servers import CREDENTIALS, SECRETS, VIEW_LIMIT
from tests.sql_engines import fresh_database

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

SIZES = (70_000, 300_000, 1_234_567)  # three uploads; the last one is streamed
VIEWERS = 12  # distinct addresses, one view each
LIMITED = VIEW_LIMIT + 4  # from one address: the last 4 are refused
RANGES = ((0, 99), (1000, 1999), (5, 5))
SCRAPES = 6


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def requests_by_route(found: Samples) -> Counter[tuple[str, str, str]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for (name, labels), count in found.items():
        if name == "klantroef_http_requests_total":
            label = dict(labels)
            counts[label["method"], label["route"], label["status"]] = int(count)
    return counts


async def traffic(http: httpx.AsyncClient) -> tuple[Counter[tuple[str, str, str]], int]:
    """Known traffic; the requests it made by (method, route, status), and media bytes sent."""
    sent: Counter[tuple[str, str, str]] = Counter()

    async def request(route: str, method: str, url: str, **kwargs: object) -> httpx.Response:
        response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
        sent[method, route, str(response.status_code)] += 1
        return response

    assert (await request("/auth/signup", "POST", "/auth/signup", json=CREDENTIALS)).is_success
    login = await request("/auth/login", "POST", "/auth/login", json=CREDENTIALS)
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    ids = []
    for n, size in enumerate(SIZES):
        upload = await request(
            "/media",
            "POST",
            "/media",
            headers=headers,
            files={"file": (f"clip{n}.mp4", media_file(size, seed=n), "video/mp4")},
            data={"title": f"clip {n}"},
        )
        assert upload.status_code == 201, upload.text
        ids.append(upload.json()["id"])
    media = ids[-1]
    link = await request(
        "/media/{media_id}/stream-url", "GET", f"/media/{media}/stream-url", headers=headers
    )
    token = link.json()["token"]
    stream = "/media/{media_id}/stream"
    streamed = 0
    for _ in range(2):  # whole file: granian sends it itself (pathsend)
        whole = await request(stream, "GET", f"/media/{media}/stream", params={"token": token})
        assert whole.status_code == 200
        assert len(whole.content) == SIZES[-1]
        streamed += SIZES[-1]
    for first, last in RANGES:
        part = await request(
            stream,
            "GET",
            f"/media/{media}/stream",
            params={"token": token},
            headers={"Range": f"bytes={first}-{last}"},
        )
        assert part.status_code == 206
        streamed += len(part.content)
    head = await request(stream, "HEAD", f"/media/{media}/stream", params={"token": token})
    assert head.status_code == 200

    view = "/media/{media_id}/view"
    for n in range(VIEWERS):
        forwarded = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        response = await request(
            view, "POST", f"/media/{media}/view", params={"token": token}, headers=forwarded
        )
        assert response.status_code == 201
    for _ in range(LIMITED):
        await request(
            view,
            "POST",
            f"/media/{media}/view",
            params={"token": token},
            headers={"X-Forwarded-For": "198.51.100.9"},
        )
    assert sent["POST", view, "429"] == LIMITED - VIEW_LIMIT
    for _ in range(3):  # a miss (then stored in Redis), then two hits, on either worker
        report = await request(
            "/media/{media_id}/analytics", "GET", f"/media/{media}/analytics", headers=headers
        )
        assert report.json()["total_views"] == VIEWERS + VIEW_LIMIT
    await request("unmatched", "GET", "/no/such/route")
    return sent, streamed


async def test_two_workers_report_the_traffic_sent_and_refuse_other_addresses(
    tmp_path: Path, mariadb_url: str, redis_url: str
) -> None:
    env = {
        "KLANTROEF_DATABASE_URL": await fresh_database(mariadb_url, "metrics"),
        "KLANTROEF_REDIS_URL": redis_url,
        "KLANTROEF_TRUSTED_PROXIES": "127.0.0.1",
        "KLANTROEF_METRICS_ALLOW": "127.0.0.1",
        **SECRETS,
    }
    server: LiveServer
    with live_server(tmp_path, env, args=("--workers", "2")) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            sent, streamed = await traffic(http)

            # Anyone else gets the 404 of an unknown path: another loopback peer, a
            # client forwarded by the trusted proxy, a peer that is not a proxy
            # naming an allowed address.
            other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            async with httpx.AsyncClient(
                base_url=server.base_url, transport=other, timeout=30
            ) as elsewhere:
                refused = [
                    await elsewhere.get("/metrics"),
                    await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.50"}),
                    await elsewhere.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}),
                ]
            for response in refused:
                assert response.status_code == 404
                assert response.json()["code"] == "not_found"
                assert "klantroef_" not in response.text
            sent["GET", "/metrics", "404"] += len(refused)

            for scrape in range(SCRAPES):
                response = await http.get("/metrics")
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
                found = samples(response.text)
                counted = requests_by_route(found)
                live = counted.pop(("GET", "/health/live", "200"))
                assert live >= 1  # the start-up probe's, however many it took
                assert counted == sent + Counter({("GET", "/metrics", "200"): scrape}), scrape
                assert value(found, "klantroef_views_total") == VIEWERS + VIEW_LIMIT
                assert value(found, "klantroef_views_rate_limited_total") == LIMITED - VIEW_LIMIT
                assert value(found, "klantroef_uploads_total") == len(SIZES)
                assert value(found, "klantroef_upload_bytes_total") == sum(SIZES)
                assert value(found, "klantroef_stream_bytes_total") == streamed
                cache = "klantroef_analytics_cache_requests_total"
                assert value(found, cache, result="miss") == 1
                assert value(found, cache, result="hit") == 2
                count = value(
                    found,
                    "klantroef_http_request_duration_seconds_count",
                    method="POST",
                    route="/media/{media_id}/view",
                )
                assert count == VIEWERS + LIMITED

        # Both workers served some of it (each access line names its process).
        lines = [json.loads(line) for line in server.log.read_text().splitlines()]
        workers = {line["pid"] for line in lines if line["logger"] == "klantroef.access"}
        assert len(workers) == 2
