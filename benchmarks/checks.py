"""The correctness half of the view case: every acknowledged view is counted, no
more; it survives kill -9 of the server; the view past the rate limit is refused."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from benchmarks.client import Client, bearer
from benchmarks.seed import Fixture


def total_views(fixture: Fixture, media_id: str) -> int:
    """The analytics total of ``media_id``, read over HTTP as an admin."""
    client = Client(fixture.base_url)
    try:
        reply = client.request("GET", f"/media/{media_id}/analytics", headers=bearer(fixture.token))
    finally:
        client.close()
    if reply.status != 200:
        raise RuntimeError(f"analytics answered {reply.status}: {reply.body[:200]!r}")
    total: int = reply.json()["total_views"]
    return total


def settled_total(fixture: Fixture, media_id: str, quiet: float = 0.5, limit: float = 30) -> int:
    """The analytics total once it stops moving: requests a load generator left in
    flight when it stopped are still being served for a moment after it exits."""
    deadline = time.monotonic() + limit
    total = total_views(fixture, media_id)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = total_views(fixture, media_id)
        if again == total:
            return total
        total = again
    raise RuntimeError(f"the analytics total of {media_id} kept moving for {limit:.0f} s")


def post_views(fixture: Fixture, path: str, count: int, workers: int = 16) -> int:
    """Send exactly ``count`` views from random client IPs, ``workers`` at a time;
    return how many were acknowledged (201)."""

    def worker(share: int) -> int:
        client = Client(fixture.base_url)
        rng = random.Random()  # spreads addresses; guards nothing
        acknowledged = 0
        try:
            for _ in range(share):
                ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                reply = client.request("POST", path, headers={"x-forwarded-for": ip})
                acknowledged += reply.status == 201
        finally:
            client.close()
        return acknowledged

    shares = [count // workers + (i < count % workers) for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(worker, shares))


def exact_view_check(fixture: Fixture, media_id: str, path: str, count: int) -> tuple[bool, str]:
    """A bounded burst of views, then: does the analytics total rise by exactly the
    number acknowledged? (wrk cannot tell: requests in flight when it stops are
    served but not counted by it.)"""
    before = settled_total(fixture, media_id)
    acknowledged = post_views(fixture, path, count)
    after = total_views(fixture, media_id)
    ok = after - before == acknowledged
    return ok, (
        f"exact check: {count} views sent, {acknowledged} acknowledged, "
        f"analytics rose by {after - before}"
    )


def durability_check(
    fixture: Fixture,
    media_id: str,
    path: str,
    count: int,
    restart: Callable[[], None],
    logged_rows: Callable[[], int],
) -> tuple[bool, str]:
    """A view answered 201 survives ``kill -9``: ``count`` views at once (32 in flight),
    then ``restart`` (kill -9 of the server's process tree right after the last 201
    arrived, and a start on the same data and settings); the analytics total and the
    logged rows (``logged_rows``, read straight from the database) must each have
    risen by exactly the number acknowledged."""
    before, rows_before = settled_total(fixture, media_id), logged_rows()
    acknowledged = post_views(fixture, path, count, workers=32)
    restart()
    after, rows_after = total_views(fixture, media_id), logged_rows()
    ok = after - before == acknowledged == rows_after - rows_before
    return ok, (
        f"durability: {count} views sent, {acknowledged} acknowledged, kill -9 of the server "
        f"right after the last one, restarted: analytics rose by {after - before}, "
        f"logged rows by {rows_after - rows_before}"
    )


def rate_limit_check(fixture: Fixture, media_id: str, path: str) -> tuple[bool, str]:
    """One new client sends the limit's worth of views (``q`` of the server's
    ``RateLimit-Policy``, 30 by default), then one more, all inside the window ``w``:
    the first ``q`` must be 201, the next 429, and analytics must count exactly ``q``."""
    rng = random.Random()  # a fresh address in 198.18.0.0/15, which wrk's 10/8 never uses
    ip = f"198.{rng.randrange(18, 20)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    before = settled_total(fixture, media_id)
    client = Client(fixture.base_url)
    try:
        started = time.monotonic()
        first = client.request("POST", path, headers={"x-forwarded-for": ip})
        limit, window = _policy(first.headers.get("ratelimit-policy", ""))
        statuses = [first.status] + [
            client.request("POST", path, headers={"x-forwarded-for": ip}).status
            for _ in range(limit)
        ]
        elapsed = time.monotonic() - started
    finally:
        client.close()
    after = total_views(fixture, media_id)
    ok = (
        statuses[:limit] == [201] * limit
        and statuses[limit] == 429
        and after - before == limit
        and elapsed < window
    )
    refused = statuses[limit]
    return ok, (
        f"rate limit: {limit} views per {window:g} s; from one client in {elapsed:.1f} s: "
        f"{statuses[:limit].count(201)} of the first {limit} answered 201, view {limit + 1} "
        f"answered {refused}; analytics rose by {after - before}"
    )


def _policy(header: str) -> tuple[int, float]:
    """``q`` and ``w`` of a ``RateLimit-Policy`` value such as ``"views";q=30;w=60``."""
    found: dict[str, str] = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        found[name] = value
    if "q" not in found or "w" not in found:
        raise RuntimeError(f"the view answered no usable RateLimit-Policy: {header!r}")
    return int(found["q"]), float(found["w"])
