"""The cases and their targets: one declarative entry each.

A case names the routes it needs (checked against the server's OpenAPI
document, so a route that does not exist yet makes the case "not available"
rather than a crash), how wrk loads it, which ceiling it is compared with,
and its target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Ceiling = Literal[
    "hello", "nginx_stream", "nginx_range", "dd", "s3_upload", "s3_stream", "s3_range"
]
Auth = Literal["none", "bearer", "stream"]
Driver = Literal["wrk", "upload"]
BOTH = ("sqlite", "mariadb-redis")
S3 = ("sqlite-s3",)


@dataclass(frozen=True, slots=True)
class Target:
    """What "met" means; every bound that is set must hold."""

    min_ratio: float | None = None
    max_p50_ms: float | None = None
    max_p99_ms: float | None = None
    max_rss_growth_mb: float | None = None
    views_counted: bool = False

    def describe(self, ceiling: Ceiling | None) -> str:
        """The target in words, for the table."""
        parts = []
        if self.min_ratio is not None:
            parts.append(f">= {self.min_ratio:.0%} of {ceiling}")
        if self.max_p50_ms is not None:
            parts.append(f"p50 < {self.max_p50_ms:g} ms")
        if self.max_p99_ms is not None:
            parts.append(f"p99 < {self.max_p99_ms:g} ms")
        if self.max_rss_growth_mb is not None:
            parts.append(f"RSS growth < {self.max_rss_growth_mb:g} MB")
        if self.views_counted:
            parts.append("analytics count = views acknowledged")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Case:
    """One measured path. ``path`` is formatted with the seeded fixture's fields:
    ``media`` (the streamed file), ``analytics_media`` (the one with the seeded
    views) and ``stream_token`` (a fresh link's token for ``media``)."""

    key: str
    title: str
    routes: tuple[tuple[str, str], ...]
    path: str
    target: Target
    method: str = "GET"
    auth: Auth = "bearer"
    ceiling: Ceiling | None = "hello"
    metric: Literal["rps", "bytes"] = "rps"
    driver: Driver = "wrk"
    connections: int = 32
    backends: tuple[str, ...] = BOTH
    many_ips: bool = False
    range_bytes: int = 0
    random_days: bool = False
    count_status: bool = False
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request, beside the auth


MEDIA = ("POST", "/media")
STREAM_URL = ("GET", "/media/{}/stream-url")
VIEW = ("POST", "/media/{}/view")
ANALYTICS = ("GET", "/media/{}/analytics")
MIB = 1024 * 1024


SQLITE, MARIADB = ("sqlite",), ("mariadb-redis",)


def _view_case(target: Target, backend: str) -> Case:
    """Views as players log them: the item's stream token, a new client IP each time."""
    return Case(
        key="view",
        title="POST /media/{id}/view, many client IPs",
        routes=(MEDIA, STREAM_URL, VIEW, ANALYTICS),
        path="/media/{media}/view?token={stream_token}",
        target=target,
        method="POST",
        auth="stream",
        backends=(backend,),
        many_ips=True,
        count_status=True,
    )


# The targets of issue 9, per backend: embedded (SQLite) first, then MariaDB + Redis.
CASES: tuple[Case, ...] = (
    _view_case(Target(min_ratio=0.30, max_p99_ms=15, views_counted=True), "sqlite"),
    _view_case(Target(min_ratio=0.20, max_p99_ms=25, views_counted=True), "mariadb-redis"),
    *(
        Case(
            key="analytics_hit",
            title="GET /media/{id}/analytics, cache hit",
            routes=(MEDIA, ANALYTICS),
            path="/media/{analytics_media}/analytics",
            target=Target(min_ratio=ratio),
            backends=backends,
        )
        for ratio, backends in ((0.55, SQLITE), (0.45, MARIADB))
    ),
    *(
        Case(
            key="analytics_miss",
            title="GET /media/{id}/analytics with Cache-Control: no-cache (a true miss: "
            "read from the log), random from/to, 1M views over 365 days, 1 connection",
            routes=(MEDIA, ANALYTICS),
            path="/media/{analytics_media}/analytics",
            target=Target(max_p50_ms=p50),
            ceiling=None,
            connections=1,
            random_days=True,
            headers=(("cache-control", "no-cache"),),
            backends=backends,
        )
        for p50, backends in ((1, SQLITE), (2, MARIADB))
    ),
    *(
        Case(
            key="media_get",
            title="GET /media/{id} with a bearer token",
            routes=(MEDIA, ("GET", "/media/{}")),
            path="/media/{media}",
            target=Target(min_ratio=ratio),
            backends=backends,
        )
        for ratio, backends in ((0.45, SQLITE), (0.35, MARIADB))
    ),
    *(
        Case(
            key="auth_me",
            title="GET /auth/me with a bearer token (the same check, no media lookup)",
            routes=(("GET", "/auth/me"),),
            path="/auth/me",
            target=Target(min_ratio=ratio),
            backends=backends,
        )
        for ratio, backends in ((0.45, SQLITE), (0.35, MARIADB))
    ),
    Case(
        key="stream",
        title="GET /media/{id}/stream, whole file, 4 parallel downloads",
        routes=(MEDIA, STREAM_URL, ("GET", "/media/{}/stream")),
        path="/media/{media}/stream?token={stream_token}",
        target=Target(min_ratio=0.90, max_rss_growth_mb=100),
        auth="stream",
        ceiling="nginx_stream",
        metric="bytes",
        connections=4,
    ),
    Case(
        key="range",
        title="GET /media/{id}/stream, 1 MiB ranges at random offsets",
        routes=(MEDIA, STREAM_URL, ("GET", "/media/{}/stream")),
        path="/media/{media}/stream?token={stream_token}",
        target=Target(min_ratio=0.70),
        auth="stream",
        ceiling="nginx_range",
        range_bytes=MIB,
    ),
    Case(
        key="upload",
        title="POST /media of the whole file (multipart, curl)",
        routes=(MEDIA,),
        path="/media",
        target=Target(min_ratio=0.60, max_rss_growth_mb=100),
        method="POST",
        ceiling="dd",
        metric="bytes",
        driver="upload",
        connections=1,
    ),
    # Media on S3 (a private SeaweedFS): each against the same transfer made directly
    # against the gateway with a plain S3 client in the same run. First figures: the
    # targets are a starting point, to be revised once there are several runs.
    Case(
        key="upload",
        title="POST /media of the whole file to S3 storage (multipart, curl); first figures",
        routes=(MEDIA,),
        path="/media",
        target=Target(min_ratio=0.50, max_rss_growth_mb=100),
        method="POST",
        ceiling="s3_upload",
        metric="bytes",
        driver="upload",
        connections=1,
        backends=S3,
    ),
    Case(
        key="stream",
        title="GET /media/{id}/stream from S3 storage, whole file, 4 parallel downloads; "
        "first figures",
        routes=(MEDIA, STREAM_URL, ("GET", "/media/{}/stream")),
        path="/media/{media}/stream?token={stream_token}",
        target=Target(min_ratio=0.50, max_rss_growth_mb=100),
        auth="stream",
        ceiling="s3_stream",
        metric="bytes",
        connections=4,
        backends=S3,
    ),
    Case(
        key="range",
        title="GET /media/{id}/stream from S3 storage, 1 MiB ranges at random offsets; "
        "first figures",
        routes=(MEDIA, STREAM_URL, ("GET", "/media/{}/stream")),
        path="/media/{media}/stream?token={stream_token}",
        target=Target(min_ratio=0.50, max_rss_growth_mb=100),
        auth="stream",
        ceiling="s3_range",
        range_bytes=MIB,
        backends=S3,
    ),
)
