"""The few settings that shape HTTP behaviour rather than rules."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from klantroef_core.domain.client_ip import IPNetwork, TrustedProxies, normalise_ip
from klantroef_http.observability import AccessWriter, HttpMetrics


@dataclass(frozen=True, slots=True)
class AllowList:
    """Addresses and networks allowed something (who may scrape ``/metrics``)."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """From addresses or CIDRs, e.g. ``["127.0.0.0/8", "::1"]``."""
        return cls(
            tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())
        )

    def allows(self, address: str) -> bool:
        ip = normalise_ip(address)
        return ip is not None and any(
            ip.version == network.version and ip in network for network in self.networks
        )


def _raw(address: str) -> str:
    return address


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Who the client is behind proxies, where links point, how large a JSON body may be,
    and what is observed: the HTTP metrics (None: none kept, ``/metrics`` is 404), how a
    scrape is rendered, who may scrape, how logs show a client address, and where access
    lines go (None: records on the ``klantroef.access`` logger),
    and which other sites' pages may call the admin API (``cors_origins``, lowercase)."""

    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    public_base_url: str | None = None
    max_json_body_bytes: int = 64 * 1024
    debug: bool = False
    metrics: HttpMetrics | None = None
    render_metrics: Callable[[], bytes] | None = None
    metrics_allow: AllowList = field(
        default_factory=lambda: AllowList.parse(["127.0.0.0/8", "::1"])
    )
    client_label: Callable[[str], str] = _raw
    write_access: AccessWriter | None = None
    cors_origins: frozenset[str] = frozenset()
    media_sources: tuple[str, ...] = ()
    """Origins a stream GET may redirect players to (the object store, in redirect mode)."""
