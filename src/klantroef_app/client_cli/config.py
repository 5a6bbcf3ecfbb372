"""The client's credentials file: the server URL and the access token, for its owner alone."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from klantroef_app.settings import client_config_path


class ClientError(Exception):
    """What went wrong, worded for the person at the terminal on one line."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where to send requests, and the bearer token that ``klantroef login`` got."""

    url: str
    email: str
    token: str = field(repr=False)
    expires_at: str


def save(credentials: Credentials, path: Path | None = None) -> Path:
    """Write the file (0600, in a 0700 folder), replacing any earlier one atomically."""
    path = path or client_config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent.name == "klantroef":  # our own folder: keep it private even if it was not
        path.parent.chmod(0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "url": credentials.url,
                "email": credentials.email,
                "token": credentials.token,
                "expires_at": credentials.expires_at,
            },
            handle,
        )
    os.replace(temporary, path)
    return path


def load(path: Path | None = None) -> Credentials:
    """The saved credentials; a ClientError saying what to do when there are none."""
    path = path or client_config_path()
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read(65536)
    except FileNotFoundError:
        raise ClientError("not logged in: run klantroef login --url URL --email EMAIL") from None
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ClientError(
            f"{path} holds a token but others may read it: run chmod 600 {path}, "
            "or klantroef login again"
        )
    try:
        content = json.loads(raw)
        return Credentials(
            url=str(content["url"]),
            email=str(content["email"]),
            token=str(content["token"]),
            expires_at=str(content["expires_at"]),
        )
    except (ValueError, KeyError, TypeError):
        raise ClientError(f"{path} is damaged: run klantroef login again") from None


def remove(path: Path | None = None) -> bool:
    """Forget the credentials; whether there were any."""
    try:
        (path or client_config_path()).unlink()
    except FileNotFoundError:
        return False
    return True
