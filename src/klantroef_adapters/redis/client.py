"""Connecting to Redis, and turning its failures into the core's ``Unavailable``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from klantroef_core.errors import Unavailable

SOCKET_TIMEOUT = 2.0
"""Seconds to connect, and to wait for each answer (``KLANTROEF_REDIS_TIMEOUT``)."""
HEALTH_CHECK_INTERVAL = 15


def create_redis(url: str, *, timeout: float = SOCKET_TIMEOUT) -> Redis:
    """A client for ``url`` that gives up quickly: a command waits at most ``timeout``
    seconds for a connection and as long for its answer, so the caller soon learns
    that Redis is gone and fails open or closed.

    A broken connection (Redis restarted, the socket reset) is retried once on a
    fresh one, after at most 0.2 s; a timeout is not retried: a server that did
    not answer in time will not answer the retry either, and the wait would
    double. Connects lazily (nothing happens until the first command); raw bytes
    in and out.
    """
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        retry=Retry(
            ExponentialBackoff(cap=0.2, base=0.02),
            retries=1,
            supported_errors=(RedisConnectionError,),
        ),
    )


@contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Re-raise any Redis, socket or timeout failure inside the block as ``Unavailable``."""
    try:
        yield
    except (RedisError, OSError) as exc:  # OSError covers ConnectionError and TimeoutError
        raise Unavailable(f"{what}: Redis is unreachable ({type(exc).__name__})") from exc
