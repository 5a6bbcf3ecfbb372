"""TrustedProxies: whose address a request is counted under."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klantroef_core.domain.client_ip import IPAddress, TrustedProxies, normalise_ip

NOBODY = TrustedProxies()
LOOPBACK = TrustedProxies.parse(["127.0.0.1"])
LAYERED = TrustedProxies.parse(["10.0.0.0/8", " 192.168.1.1 ", "", "fd00::/8"])


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert NOBODY.client_ip("198.51.100.4", ["203.0.113.9"]) == "198.51.100.4"


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    assert LOOPBACK.client_ip("198.51.100.4", ["203.0.113.9"]) == "198.51.100.4"


def test_a_trusted_peer_passes_on_the_forwarded_address() -> None:
    assert LOOPBACK.client_ip("127.0.0.1", ["203.0.113.9"]) == "203.0.113.9"


def test_a_trusted_peer_without_a_forwarded_header_is_the_client() -> None:
    assert LOOPBACK.client_ip("127.0.0.1", []) == "127.0.0.1"
    assert LOOPBACK.client_ip("127.0.0.1", [" , "]) == "127.0.0.1"


def test_the_right_most_untrusted_hop_wins_so_a_client_cannot_prepend_a_fake() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; two of our proxies appended to it.
    header = ["1.1.1.1, 203.0.113.9, 10.1.2.3"]
    assert LAYERED.client_ip("10.0.0.1", header) == "203.0.113.9"


def test_several_forwarded_headers_read_as_one_list_in_order() -> None:
    assert LAYERED.client_ip("10.0.0.1", ["1.1.1.1", "203.0.113.9, 192.168.1.1"]) == "203.0.113.9"


def test_when_every_hop_is_trusted_the_left_most_is_the_client() -> None:
    assert LAYERED.client_ip("10.0.0.1", ["10.9.9.9, 192.168.1.1"]) == "10.9.9.9"


def test_garbage_stops_the_walk_at_the_last_good_hop() -> None:
    assert LAYERED.client_ip("10.0.0.1", ["203.0.113.9, not-an-ip, 10.1.2.3"]) == "10.1.2.3"
    assert LAYERED.client_ip("10.0.0.1", ["203.0.113.9, unknown"]) == "10.0.0.1"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("fd00::1", ["[2001:db8::5]:4711"], "2001:db8::5"),
        ("fd00::1", ["2001:DB8:0:0::5"], "2001:db8::5"),
        ("2001:db8::9", ["2001:db8::5"], "2001:db8::9"),
        ("::ffff:10.0.0.1", ["203.0.113.9"], "203.0.113.9"),  # a mapped peer is the IPv4 one
        ("10.0.0.1", ["::ffff:203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["203.0.113.9:51234"], "203.0.113.9"),
        ("10.0.0.1", ["fe80::1%eth0"], "fe80::1"),
    ],
)
def test_ipv6_ports_zones_and_mapped_addresses_are_normalised(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert LAYERED.client_ip(peer, forwarded) == client


def test_an_ipv4_network_does_not_trust_ipv6_peers_or_the_reverse() -> None:
    assert LAYERED.client_ip("::1", ["203.0.113.9"]) == "::1"
    assert TrustedProxies.parse(["::/0"]).client_ip("10.0.0.1", ["203.0.113.9"]) == "10.0.0.1"


def test_a_cidr_trusts_exactly_its_range() -> None:
    proxies = TrustedProxies.parse(["172.16.0.0/12"])
    assert proxies.client_ip("172.31.255.255", ["203.0.113.9"]) == "203.0.113.9"
    assert proxies.client_ip("172.32.0.0", ["203.0.113.9"]) == "172.32.0.0"


def test_a_cidr_with_host_bits_set_is_read_as_its_network() -> None:
    address = normalise_ip("10.200.0.1")
    assert address is not None
    assert TrustedProxies.parse(["10.1.2.3/8"]).trusts(address)


def test_a_malformed_trusted_proxy_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        TrustedProxies.parse(["10.0.0.0/33"])


@pytest.mark.parametrize("peer", [None, "", "testclient", "unix:/run/sock"])
def test_a_peer_that_is_not_an_address_is_unknown(peer: str | None) -> None:
    assert LOOPBACK.client_ip(peer, ["203.0.113.9"]) == "unknown"


@given(
    peer=st.ip_addresses(),
    hops=st.lists(st.ip_addresses().map(str) | st.text(max_size=8), max_size=6),
)
def test_an_untrusted_peer_is_always_its_own_client(peer: IPAddress, hops: list[str]) -> None:
    proxies = TrustedProxies.parse(["10.0.0.0/8"])
    address = normalise_ip(str(peer))
    assert address is not None
    client = proxies.client_ip(str(peer), [", ".join(hops)])
    if not proxies.trusts(address):
        assert client == str(address)
    else:
        assert normalise_ip(client) is not None  # never garbage, whatever was forwarded
