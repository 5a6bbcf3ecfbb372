"""The few settings that shape HTTP behaviour rather than rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from klantroef_core.domain.client_ip import TrustedProxies


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Who the client is behind proxies, where links point, how large a JSON body may be,
    and which other sites' pages may call the admin API (``cors_origins``, lowercase)."""

    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    public_base_url: str | None = None
    max_json_body_bytes: int = 64 * 1024
    debug: bool = False
    cors_origins: frozenset[str] = frozenset()
    media_sources: tuple[str, ...] = ()
    """Origins a stream GET may redirect players to (the object store, in redirect mode)."""
