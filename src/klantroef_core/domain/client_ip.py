"""Which address a request comes from, given the proxies we trust."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalise_ip(raw: str) -> IPAddress | None:
    """Parse an address; an IPv4-mapped IPv6 address becomes the IPv4 one. None if invalid."""
    text = raw.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:8080" or "[::1]"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "1.2.3.4:5678"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The networks whose ``X-Forwarded-For`` we believe."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> TrustedProxies:
        """Parse addresses or CIDRs, e.g. ``["10.0.0.0/8", "::1"]``."""
        return cls(
            tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())
        )

    def trusts(self, address: IPAddress) -> bool:
        """Whether ``address`` is one of our proxies."""
        return any(address.version == n.version and address in n for n in self.networks)

    def client_ip(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str:
        """The socket peer, or, behind trusted proxies, the right-most untrusted forwarded address.

        ``forwarded_for`` holds the raw ``X-Forwarded-For`` header values in order.
        Unparseable entries stop the walk: we never skip past garbage to an
        address a client could have made up.
        """
        peer_ip = normalise_ip(peer) if peer else None
        if peer_ip is None:
            return "unknown"
        if not self.trusts(peer_ip):
            return str(peer_ip)
        hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
        client = peer_ip
        for hop in reversed(hops):
            address = normalise_ip(hop)
            if address is None:
                break
            client = address
            if not self.trusts(address):
                break
        return str(client)
