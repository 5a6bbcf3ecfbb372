"""Reaching the real MariaDB and Redis the contract tests run against.

Tests that need a server skip when it is unreachable, unless
``KLANTROEF_REQUIRE_SERVICES=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

MARIADB_URL = os.environ.get(
    "KLANTROEF_TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/klantroef_test"
)
REDIS_URL = os.environ.get("KLANTROEF_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    """Whether a missing service is a failure (CI) rather than a skip."""
    return os.environ.get("KLANTROEF_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def reachable(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), 1.0):
            return True
    except OSError:
        return False


def require(name: str, url: str) -> None:
    """Skip (or, in CI, fail) the calling test when ``url`` is unreachable."""
    if reachable(url):
        return
    message = f"{name} is not reachable at {url}"
    if services_required():
        pytest.fail(message + " and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def require_tool(name: str, package: str) -> str:
    """The path of the ``name`` program (beside this Python, or on PATH); skip or fail without it."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is not None:
        return found
    message = f"`{name}` is missing (install {package}: it is in the dev extra)"
    if services_required():
        pytest.fail(message + " and KLANTROEF_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)
