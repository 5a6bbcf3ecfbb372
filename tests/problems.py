"""Checking an RFC 9457 problem response, for every HTTP test module."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int, code: str) -> None:
    """``response`` is a problem document with this status and machine code, fully filled in."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:klantroef:problem:{code}"
    assert body["title"]
    assert body["detail"]
