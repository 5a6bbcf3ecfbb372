"""Connecting to Redis, and turning its failures into the core's ``Unavailable``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from klantroef_core.errors import Unavailable

SOCKET_TIMEOUT = 2.0
HEALTH_CHECK_INTERVAL = 15


def create_redis(url: str) -> Redis:
    """A client for ``url`` that gives up quickly: a request waits seconds, not minutes,
    before the caller learns that Redis is gone and fails open or closed.

    Connects lazily (nothing happens until the first command); raw bytes in and out.
    """
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
    )


@contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Re-raise any Redis, socket or timeout failure inside the block as ``Unavailable``."""
    try:
        yield
    except (RedisError, OSError) as exc:  # OSError covers ConnectionError and TimeoutError
        raise Unavailable(f"{what}: Redis is unreachable ({type(exc).__name__})") from exc
