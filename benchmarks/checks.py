"""The correctness half of the view case: every acknowledged view is counted, no more."""

from __future__ import annotations

import random
import time
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
