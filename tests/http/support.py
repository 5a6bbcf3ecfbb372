"""Assertions shared by the HTTP tests."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int, code: str) -> None:
    """An RFC 9457 problem with this status and code, in the one envelope."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:klantroef:problem:{code}"
    assert body["title"]
    assert body["detail"]
