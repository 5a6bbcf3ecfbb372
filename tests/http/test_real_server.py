"""The README's promise, through a real server process on a loopback port."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

CREDENTIALS = {"email": "ann@example.com", "password": "correct horse battery"}


def test_a_fresh_data_folder_serves_the_whole_auth_flow(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with live_server(data) as server, httpx.Client(base_url=server.base_url) as http:
        assert http.post("/auth/signup", json=CREDENTIALS).status_code == 201
        token = http.post("/auth/login", json=CREDENTIALS).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert http.get("/auth/me", headers=headers).json()["email"] == CREDENTIALS["email"]
        assert http.post("/auth/logout", headers=headers).status_code == 204
        assert http.get("/auth/me", headers=headers).status_code == 401
        assert http.get("/health/ready").status_code == 200

    secrets = data / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert (data / "klantroef.db").exists()

    # A restart keeps the secrets, the admin and the revocation.
    with live_server(data) as server, httpx.Client(base_url=server.base_url) as http:
        assert http.get("/auth/me", headers=headers).json()["code"] == "token_revoked"
        again = http.post("/auth/login", json=CREDENTIALS)
        assert again.status_code == 200
        fresh = {"Authorization": f"Bearer {again.json()['token']}"}
        assert http.get("/auth/me", headers=fresh).status_code == 200


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``klantroef ARGS`` with only ``env`` (and PATH) in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "klantroef_app.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_several_workers_without_redis_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    result = run_cli("serve", "--workers", "2", KLANTROEF_DATA_DIR=str(tmp_path))
    assert result.returncode == 2
    assert "KLANTROEF_REDIS_URL" in result.stderr


def test_a_configured_secret_shorter_than_32_bytes_is_refused_at_start(tmp_path: Path) -> None:
    result = run_cli("serve", KLANTROEF_DATA_DIR=str(tmp_path), KLANTROEF_ACCESS_SECRET="too-short")
    assert result.returncode == 2
    assert "KLANTROEF_ACCESS_SECRET must be at least 32 bytes" in result.stderr


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KLANTROEF_ACCESS_SECRET_PREVIOUS": "too-short"}, "32"),
        ({"KLANTROEF_ACCESS_SECRET": "k" * 40, "KLANTROEF_STREAM_SECRET": "k" * 40}, "differ"),
    ],
)
def test_signing_keys_that_cannot_sign_are_refused_at_start_not_at_the_first_login(
    tmp_path: Path, env: dict[str, str], reason: str
) -> None:
    result = run_cli("serve", KLANTROEF_DATA_DIR=str(tmp_path), **env)
    assert result.returncode == 2, result.stderr
    assert "signing keys cannot be used" in result.stderr
    assert reason in result.stderr
