"""Logs and metrics of the app in process (over a SQLite file): lines written during a
request carry its id; ``/metrics`` moves with the traffic and answers only allowed peers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from dependency_injector import providers
from prometheus_client.parser import text_string_to_metric_families

from klantroef_app.asgi import build_app
from klantroef_app.container import Container
from klantroef_app.logs import JsonFormatter
from tests.app_support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.media_samples import media_file
from tests.unreachable import UnreachableLimiter


@asynccontextmanager
async def from_peer(container: Container, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    app: Any = build_app(container)
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://klantroef.test") as http:
        yield http


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def json_lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("klantroef")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def sign_in(http: httpx.AsyncClient) -> dict[str, str]:
    credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    await http.post("/auth/signup", json=credentials)
    token = (await http.post("/auth/login", json=credentials)).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def counters(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


async def test_a_warning_written_while_serving_a_request_carries_its_request_id(
    container: Container,
) -> None:
    async with from_peer(container, "198.51.100.4") as http:
        headers = await sign_in(http)
        upload = await http.post(
            "/media",
            headers=headers,
            files={"file": ("a.mp4", media_file(1024), "video/mp4")},
            data={"title": "a"},
        )
        media = upload.json()["id"]
        container.rate_limiter.override(providers.Object(UnreachableLimiter()))
        with json_lines() as captured:
            view = await http.post(
                f"/media/{media}/view", headers={**headers, "X-Request-ID": "req-7"}
            )
    assert view.status_code == 201
    warning, access = captured.lines
    assert warning["level"] == "warning"
    assert "rate limiter unreachable" in warning["message"]
    assert warning["request_id"] == access["request_id"] == "req-7"
    assert access["client"] == "198.51.100.4"
    assert access["route"] == "/media/{media_id}/view"


async def test_metrics_move_with_the_traffic_and_answer_only_allowed_peers(
    container: Container,
) -> None:
    async with (
        from_peer(container, "127.0.0.1") as http,
        from_peer(container, "203.0.113.9") as outsider,
    ):
        before = counters((await http.get("/metrics")).text)
        headers = await sign_in(http)
        upload = await http.post(
            "/media",
            headers=headers,
            files={"file": ("a.mp4", media_file(5000), "video/mp4")},
            data={"title": "a"},
        )
        media = upload.json()["id"]
        for _ in range(3):
            assert (await http.post(f"/media/{media}/view", headers=headers)).status_code == 201
        for _ in range(2):  # a miss, then a hit from the in-process cache
            assert (await http.get(f"/media/{media}/analytics", headers=headers)).is_success
        refused = await outsider.get("/metrics")
        after = counters((await http.get("/metrics")).text)

    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("klantroef_views_total") == 3
    assert moved("klantroef_uploads_total") == 1
    assert moved("klantroef_upload_bytes_total") == 5000
    assert moved("klantroef_analytics_cache_requests_total", result="miss") == 1
    assert moved("klantroef_analytics_cache_requests_total", result="hit") == 1
    view_route = {"method": "POST", "route": "/media/{media_id}/view"}
    assert moved("klantroef_http_requests_total", **view_route, status="201") == 3
    assert moved("klantroef_http_request_duration_seconds_count", **view_route) == 3
    assert moved("klantroef_http_requests_total", method="GET", route="/metrics", status="200") == 1
    assert moved("klantroef_http_requests_total", method="GET", route="/metrics", status="404") == 1
