"""Secrets generated once and kept in the data folder, owner-only, when none are configured.

``klantroef rotate-keys`` replaces the access and stream keys kept there. Each
replaced key stays in the file, under ``*_previous`` with the moment it was
retired (``retired_at``, Unix seconds). A server accepts tokens signed with it
for two token lifetimes after that moment, by its own lifetime settings: one for
the servers to be restarted (until then they go on signing with it) and one for
the last tokens they signed to expire. Past that it is refused even while it is
still in the file, so a leaked key that was rotated away stops working on its
own; the first rotation after that moment drops it, and ``--revoke-previous``
drops every retired key at once. Servers read the file at start: restart them
after a rotation.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klantroef_adapters.storage.local import fsync_folder
from klantroef_app.settings import Settings, SettingsError

SECRETS_FILE = "secrets.json"
_NAMES = ("access_secret", "stream_secret", "ip_hash_secret")
ROTATED = ("access_secret", "stream_secret")
"""The keys ``rotate-keys`` replaces; the IP hash key is not one (see the README)."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secrets in force: configured ones win, generated ones fill the gaps.

    ``*_previous`` are the retired keys kept in the secrets file (newest
    first); configured keys have none there.
    """

    access_secret: str = field(repr=False)
    stream_secret: str = field(repr=False)
    ip_hash_secret: str = field(repr=False)
    access_previous: tuple[Retired, ...] = field(default=(), repr=False)
    stream_previous: tuple[Retired, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Retired:
    """A replaced key and the moment (Unix seconds) it stopped signing in the file."""

    secret: str = field(repr=False)
    retired_at: int

    def verifies_until(self, token_lifetime: int) -> int:
        """The moment this key stops verifying: a lifetime to restart, a lifetime to expire."""
        return self.retired_at + 2 * token_lifetime


def lifetimes(settings: Settings) -> dict[str, int]:
    """How long a token signed by each rotated key lives, by these settings."""
    return {
        "access_secret": settings.access_token_ttl,
        "stream_secret": settings.stream_link_ttl + settings.stream_leeway,
    }


@dataclass(frozen=True, slots=True)
class _Kept:
    """What the secrets file holds."""

    current: dict[str, str]
    previous: dict[str, list[Retired]]

    def dump(self) -> dict[str, Any]:
        content: dict[str, Any] = dict(self.current)
        for name in ROTATED:
            if self.previous[name]:
                content[f"{name}_previous"] = [
                    {"secret": r.secret, "retired_at": r.retired_at} for r in self.previous[name]
                ]
        return content


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
        fresh = {n: configured[n] or secrets.token_urlsafe(48) for n in _NAMES}
        return Secrets(fresh["access_secret"], fresh["stream_secret"], fresh["ip_hash_secret"])
    kept = _read_or_create(settings.data_dir / SECRETS_FILE)
    current = {name: configured[name] or kept.current[name] for name in _NAMES}

    def retired(name: str) -> tuple[Retired, ...]:  # they belong to the file's key, if in force
        return tuple(kept.previous[name]) if configured[name] is None else ()

    return Secrets(
        access_secret=current["access_secret"],
        stream_secret=current["stream_secret"],
        ip_hash_secret=current["ip_hash_secret"],
        access_previous=retired("access_secret"),
        stream_previous=retired("stream_secret"),
    )


@dataclass(frozen=True, slots=True)
class Rotation:
    """What ``rotate_secrets`` did: which keys it replaced, skipped, and how many it dropped.

    ``verifies_until`` is when each replaced key stops verifying, by these settings.
    """

    rotated: tuple[str, ...]
    configured: tuple[str, ...]
    dropped: int
    verifies_until: dict[str, int]


def rotate_secrets(settings: Settings, now: float, *, revoke_previous: bool = False) -> Rotation:
    """Replace the access and stream keys kept in the secrets file.

    The replaced key keeps verifying for two token lifetimes (see the module's
    docstring); retired keys already past that are dropped, and with
    ``revoke_previous`` every retired key is, the one replaced now included (for
    a key that leaked: its tokens stop verifying when the servers restart). Keys
    configured in the environment are left alone: they are rotated there.
    Concurrent rotations take turns (a lock file); the file is replaced
    atomically, keeping its owner, so a root shell does not lock the server out.
    """
    if settings.in_memory:
        raise SettingsError(
            "KLANTROEF_DATABASE_URL=memory:// keeps its keys in the server's memory: "
            "nothing to rotate (a restart makes new ones)"
        )
    configured = tuple(name for name in ROTATED if getattr(settings, name) is not None)
    rotating = tuple(name for name in ROTATED if name not in configured)
    if not rotating:
        raise SettingsError(
            "KLANTROEF_ACCESS_SECRET and KLANTROEF_STREAM_SECRET are set in the environment: "
            "rotate them there (README: Running on several hosts)"
        )
    lifetime = lifetimes(settings)
    path = settings.data_dir / SECRETS_FILE
    with _locked(path):
        kept = _read_or_create(path)
        dropped = 0
        until = {}
        for name in rotating:
            retiring = Retired(kept.current[name], math.floor(now))
            alive = [
                r
                for r in kept.previous[name]
                if not revoke_previous and r.verifies_until(lifetime[name]) > now
            ]
            dropped += len(kept.previous[name]) - len(alive) + revoke_previous
            kept.previous[name] = [] if revoke_previous else [retiring, *alive]
            kept.current[name] = secrets.token_urlsafe(48)
            until[name] = (
                math.floor(now) if revoke_previous else retiring.verifies_until(lifetime[name])
            )
        _write(path, kept.dump())
    return Rotation(rotating, configured, dropped, until)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _write(path: Path, content: dict[str, Any]) -> None:
    """Write a new file next to ``path`` (0600, its owner kept, fsynced) and rename it into place."""
    owner = path.stat()
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            if os.geteuid() == 0:  # root rotating a file the server's own user must read
                os.fchown(handle.fileno(), owner.st_uid, owner.st_gid)
            json.dump(content, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_folder(path.parent)


def _parse(path: Path, content: Any) -> _Kept:
    if not isinstance(content, dict) or not all(isinstance(content.get(n), str) for n in _NAMES):
        raise SettingsError(f"{path} is not a Klantroef secrets file; move it away")
    previous: dict[str, list[Retired]] = {}
    for name in ROTATED:
        entries = content.get(f"{name}_previous", [])
        if not isinstance(entries, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("secret"), str)
            and isinstance(e.get("retired_at"), int)
            for e in entries
        ):
            raise SettingsError(f"{path}: {name}_previous is not a list of retired keys")
        previous[name] = [Retired(e["secret"], e["retired_at"]) for e in entries]
    return _Kept({n: content[n] for n in _NAMES}, previous)


def _read_or_create(path: Path) -> _Kept:
    if path.exists():
        try:
            content = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot read {path}: {exc}") from exc
        return _parse(path, content)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = {name: secrets.token_urlsafe(48) for name in _NAMES}
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(fresh, handle)
    try:
        os.link(temporary, path)  # fails if another process created it first
    except FileExistsError:
        os.unlink(temporary)
        return _read_or_create(path)
    os.unlink(temporary)
    return _Kept(fresh, {name: [] for name in ROTATED})
