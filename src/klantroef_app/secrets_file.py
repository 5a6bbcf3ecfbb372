"""Secrets generated once and kept in the data folder, owner-only, when none are configured."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from klantroef_app.settings import Settings, SettingsError

SECRETS_FILE = "secrets.json"
_NAMES = ("access_secret", "stream_secret", "ip_hash_secret")


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secrets in force: configured ones win, generated ones fill the gaps."""

    access_secret: str = field(repr=False)
    stream_secret: str = field(repr=False)
    ip_hash_secret: str = field(repr=False)


def load_secrets(settings: Settings) -> Secrets:
    """Configured secrets, else those kept in ``data_dir/secrets.json`` (created if missing).

    In memory mode nothing is written: missing secrets are made for this process alone.
    """
    configured = {name: getattr(settings, name) for name in _NAMES}
    for name, minimum in (("access_secret", 32), ("stream_secret", 32), ("ip_hash_secret", 16)):
        value = configured[name]
        if value is not None and len(value.encode()) < minimum:
            raise SettingsError(f"KLANTROEF_{name.upper()} must be at least {minimum} bytes")
    if all(configured.values()):
        return Secrets(**configured)
    if settings.in_memory:  # nothing is kept on disk: fresh secrets for this process
        return Secrets(**{n: configured[n] or secrets.token_urlsafe(48) for n in _NAMES})
    kept = _read_or_create(settings.data_dir / SECRETS_FILE)
    return Secrets(**{name: configured[name] or kept[name] for name in _NAMES})


def _read_or_create(path: Path) -> dict[str, str]:
    if path.exists():
        try:
            kept = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot read {path}: {exc}") from exc
        if isinstance(kept, dict) and all(isinstance(kept.get(n), str) for n in _NAMES):
            return {n: kept[n] for n in _NAMES}
        raise SettingsError(f"{path} is not a Klantroef secrets file; move it away")
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = {name: secrets.token_urlsafe(48) for name in _NAMES}
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(fresh, handle)
    try:
        os.link(temporary, path)  # fails if another process created it first
    except FileExistsError:
        os.unlink(temporary)
        return _read_or_create(path)
    os.unlink(temporary)
    return fresh
