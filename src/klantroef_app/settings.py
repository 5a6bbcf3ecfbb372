"""Configuration from ``KLANTROEF_*`` environment variables, read once at start."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from klantroef_core.domain.rates import Rate
from klantroef_core.errors import InvalidInput

GIB = 1024**3
MEMORY_URL = "memory://"
"""The database URL that keeps every store in this process's memory (nothing on disk)."""


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from exc
    if not 0 < value <= 3600:
        raise SettingsError(f"{name} must be more than 0 and at most 3600 seconds")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (true or false), not {value!r}")


def _s3(env: Mapping[str, str]) -> S3Settings | None:
    """The S3 settings, or None when ``KLANTROEF_S3_BUCKET`` is unset (local files)."""
    others = [
        name
        for name in (
            "KLANTROEF_S3_ENDPOINT",
            "KLANTROEF_S3_REGION",
            "KLANTROEF_S3_ACCESS_KEY_ID",
            "KLANTROEF_S3_SECRET_ACCESS_KEY",
            "KLANTROEF_S3_PREFIX",
            "KLANTROEF_S3_REDIRECT",
        )
        if env.get(name, "").strip()
    ]
    bucket = env.get("KLANTROEF_S3_BUCKET", "").strip()
    if not bucket:
        if others:
            raise SettingsError(f"{others[0]} is set but KLANTROEF_S3_BUCKET is not")
        return None
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise SettingsError(
            "KLANTROEF_S3_BUCKET must be a bucket name: 3 to 63 lowercase letters, digits, "
            f"dots and hyphens, starting and ending with a letter or digit, not {bucket!r}"
        )
    endpoint = env.get("KLANTROEF_S3_ENDPOINT", "").strip().rstrip("/") or None
    if endpoint is not None:
        parsed = urlsplit(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SettingsError(
                "KLANTROEF_S3_ENDPOINT must be an http:// or https:// URL "
                "(e.g. http://127.0.0.1:8333)"
            )
    key_id = env.get("KLANTROEF_S3_ACCESS_KEY_ID", "").strip() or None
    secret = env.get("KLANTROEF_S3_SECRET_ACCESS_KEY", "").strip() or None
    if (key_id is None) != (secret is None):
        raise SettingsError(
            "KLANTROEF_S3_ACCESS_KEY_ID and KLANTROEF_S3_SECRET_ACCESS_KEY go together: "
            "set both, or neither (to use the usual AWS credential chain)"
        )
    region = env.get("KLANTROEF_S3_REGION", "").strip() or "us-east-1"
    if not _REGION.fullmatch(region):
        raise SettingsError(f"KLANTROEF_S3_REGION must be a region name, not {region!r}")
    prefix = env.get("KLANTROEF_S3_PREFIX", "").strip()
    if prefix and (prefix.startswith("/") or not _PREFIX.fullmatch(prefix)):
        raise SettingsError(
            "KLANTROEF_S3_PREFIX may hold letters, digits and ._-/ and must not start with /"
        )
    return S3Settings(
        bucket=bucket,
        endpoint=endpoint,
        region=region,
        access_key_id=key_id,
        secret_access_key=secret,
        prefix=prefix,
        redirect=_flag(env, "KLANTROEF_S3_REDIRECT"),
    )


def _networks(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDRs; an empty value means none."""
    raw = env.get(name)
    entries = tuple(e.strip() for e in (default if raw is None else raw).split(",") if e.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise SettingsError(
                f"{name} must list addresses or CIDRs (e.g. 127.0.0.0/8,::1), not {entry!r}"
            ) from exc
    return entries


def _origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """``KLANTROEF_CORS_ORIGINS``: a comma list of origins (``scheme://host[:port]``)."""
    origins = []
    for raw in env.get("KLANTROEF_CORS_ORIGINS", "").split(","):
        origin = raw.strip().rstrip("/")
        if not origin:
            continue
        if not _ORIGIN.fullmatch(origin):
            raise SettingsError(
                "KLANTROEF_CORS_ORIGINS must list origins such as https://admin.example.com "
                f"(scheme, host and optional port; no path, no wildcard), not {raw.strip()!r}"
            )
        origins.append(origin.lower())
    return tuple(origins)


_ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


def _rate(env: Mapping[str, str], name: str, default: str) -> Rate:
    try:
        return Rate.parse(env.get(name, default) or default)
    except InvalidInput as exc:
        raise SettingsError(f"{name}: {exc}") from exc


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]{1,32}")
_PREFIX = re.compile(r"[A-Za-z0-9._/-]{1,200}")


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Where media bytes live when they live in an S3-compatible bucket."""

    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    prefix: str = ""
    redirect: bool = False


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. ``from_env`` documents the variable of each field.

    Built directly, the defaults keep every store in memory (what an embedding
    Python service or a test wants); ``from_env`` defaults to SQLite under ``./var``.
    """

    data_dir: Path = Path("var")
    database_url: str = field(default=MEMORY_URL, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    media_dir: Path = Path("var/media")
    access_secret: str | None = field(default=None, repr=False)
    access_secret_previous: str | None = field(default=None, repr=False)
    stream_secret: str | None = field(default=None, repr=False)
    stream_secret_previous: str | None = field(default=None, repr=False)
    ip_hash_secret: str | None = field(default=None, repr=False)
    access_token_ttl: int = 3600
    stream_link_ttl: int = 600
    stream_leeway: int = 5
    signup_open: bool = False
    trusted_proxies: tuple[str, ...] = ()
    public_base_url: str | None = None
    max_upload_bytes: int = 2 * GIB
    view_rate: Rate = field(default_factory=lambda: Rate(30, 60.0))
    login_rate: Rate = field(default_factory=lambda: Rate(10, 60.0))
    ip_storage: str = "raw"
    analytics_cache_ttl: int = 600
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4
    db_pool_size: int = 10
    s3: S3Settings | None = None
    probe_timeout: int = 60
    log_format: str = "auto"
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1")
    db_timeout: float = 5.0
    redis_timeout: float = 2.0
    s3_timeout: float = 10.0
    shutdown_grace: int = 8
    cors_origins: tuple[str, ...] = ()
    hls_package_timeout: int = 300
    upload_expiry: int = 24 * 3600

    @property
    def in_memory(self) -> bool:
        """Whether every store lives in this process's memory (``KLANTROEF_DATABASE_URL=memory://``)."""
        return self.database_url == MEMORY_URL

    def __post_init__(self) -> None:
        if self.argon2_memory_cost < 8 * self.argon2_parallelism:
            raise SettingsError(
                "KLANTROEF_ARGON2_MEMORY_COST must be at least 8 KiB per lane "
                "(8 x KLANTROEF_ARGON2_PARALLELISM)"
            )
        if self.s3 is not None and self.in_memory:
            raise SettingsError(
                "KLANTROEF_S3_BUCKET needs a database: with KLANTROEF_DATABASE_URL=memory:// "
                "the records vanish with the process and their objects would stay behind"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the ``KLANTROEF_*`` variables (see the README's table)."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("KLANTROEF_DATA_DIR") or "var")
        proxies = env.get("KLANTROEF_TRUSTED_PROXIES", "")
        return cls(
            data_dir=data_dir,
            database_url=env.get("KLANTROEF_DATABASE_URL")
            or f"sqlite:///{data_dir / 'klantroef.db'}",
            redis_url=env.get("KLANTROEF_REDIS_URL") or None,
            media_dir=Path(env.get("KLANTROEF_MEDIA_DIR") or data_dir / "media"),
            access_secret=env.get("KLANTROEF_ACCESS_SECRET") or None,
            access_secret_previous=env.get("KLANTROEF_ACCESS_SECRET_PREVIOUS") or None,
            stream_secret=env.get("KLANTROEF_STREAM_SECRET") or None,
            stream_secret_previous=env.get("KLANTROEF_STREAM_SECRET_PREVIOUS") or None,
            ip_hash_secret=env.get("KLANTROEF_IP_HASH_SECRET") or None,
            access_token_ttl=_int(env, "KLANTROEF_ACCESS_TOKEN_TTL", 3600, minimum=60),
            stream_link_ttl=_int(env, "KLANTROEF_STREAM_LINK_TTL", 600, minimum=10),
            stream_leeway=_int(env, "KLANTROEF_STREAM_LEEWAY", 5),
            signup_open=_choice(env, "KLANTROEF_SIGNUP", "closed", ("closed", "open")) == "open",
            trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip()),
            public_base_url=(env.get("KLANTROEF_PUBLIC_BASE_URL") or "").rstrip("/") or None,
            max_upload_bytes=_int(env, "KLANTROEF_MAX_UPLOAD_BYTES", 2 * GIB, minimum=1),
            view_rate=_rate(env, "KLANTROEF_VIEW_RATE", "30/minute"),
            login_rate=_rate(env, "KLANTROEF_LOGIN_RATE", "10/minute"),
            ip_storage=_choice(env, "KLANTROEF_IP_STORAGE", "raw", ("raw", "hmac")),
            analytics_cache_ttl=_int(env, "KLANTROEF_ANALYTICS_CACHE_TTL", 600, minimum=1),
            argon2_time_cost=_int(env, "KLANTROEF_ARGON2_TIME_COST", 3, minimum=1),
            argon2_memory_cost=_int(env, "KLANTROEF_ARGON2_MEMORY_COST", 65536, minimum=8),
            argon2_parallelism=_int(env, "KLANTROEF_ARGON2_PARALLELISM", 4, minimum=1),
            db_pool_size=_int(env, "KLANTROEF_DB_POOL_SIZE", 10, minimum=1),
            s3=_s3(env),
            probe_timeout=_int(env, "KLANTROEF_PROBE_TIMEOUT", 60, minimum=1),
            log_format=_choice(env, "KLANTROEF_LOG_FORMAT", "auto", ("auto", "json", "text")),
            metrics_allow=_networks(env, "KLANTROEF_METRICS_ALLOW", "127.0.0.0/8,::1"),
            db_timeout=_seconds(env, "KLANTROEF_DB_TIMEOUT", 5.0),
            redis_timeout=_seconds(env, "KLANTROEF_REDIS_TIMEOUT", 2.0),
            s3_timeout=_seconds(env, "KLANTROEF_S3_TIMEOUT", 10.0),
            shutdown_grace=_int(env, "KLANTROEF_SHUTDOWN_GRACE", 8),
            cors_origins=_origins(env),
            hls_package_timeout=_int(env, "KLANTROEF_HLS_PACKAGE_TIMEOUT", 300, minimum=1),
            upload_expiry=_int(env, "KLANTROEF_UPLOAD_EXPIRY", 24 * 3600, minimum=60),
        )


def client_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where ``klantroef login`` keeps the server URL and token, for this user alone.

    ``KLANTROEF_CLI_CONFIG`` if set, else ``$XDG_CONFIG_HOME/klantroef/credentials.json``
    (``~/.config`` when ``XDG_CONFIG_HOME`` is unset).
    """
    env = os.environ if env is None else env
    if explicit := env.get("KLANTROEF_CLI_CONFIG"):
        return Path(explicit)
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "klantroef" / "credentials.json"
