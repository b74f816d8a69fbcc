"""Jinja filters for addresses, backed by netaddr (pure, each one unit-tested).

Registered explicitly by network.render.environment; templates use nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netaddr import IPAddress, IPNetwork


def ip(value: str) -> str:
    """The address alone: '169.254.10.2/30' -> '169.254.10.2'."""
    return str(IPNetwork(value).ip)


def network(value: str) -> str:
    """The network address of a CIDR: '10.0.0.0/16' -> '10.0.0.0'."""
    return str(IPNetwork(value).network)


def netmask(value: str) -> str:
    """The dotted netmask of a CIDR: '10.0.0.0/16' -> '255.255.0.0'."""
    return str(IPNetwork(value).netmask)


def prefixlen(value: str) -> int:
    """The prefix length of a CIDR: '10.0.0.0/16' -> 16."""
    return int(IPNetwork(value).prefixlen)


def with_prefixlen(address: str, cidr: str) -> str:
    """An address with the prefix length of `cidr`: ('169.254.10.2', '169.254.10.0/30')
    -> '169.254.10.2/30'. Raises if the address lies outside the CIDR."""
    net = IPNetwork(cidr)
    addr = IPAddress(address)
    if addr not in net:
        raise ValueError(f"{address} is not inside {cidr}")
    return f"{addr}/{net.prefixlen}"


def network_netmask(value: str) -> str:
    """Cisco and FortiOS style: '10.0.0.0/16' -> '10.0.0.0 255.255.0.0'."""
    net = IPNetwork(value)
    return f"{net.network} {net.netmask}"


def address_netmask(address: str, cidr: str) -> str:
    """An interface address, Cisco style: ('169.254.10.2', '169.254.10.0/30')
    -> '169.254.10.2 255.255.255.252'."""
    with_prefixlen(address, cidr)  # same containment check
    return f"{IPAddress(address)} {IPNetwork(cidr).netmask}"


FILTERS: dict[str, Callable[..., Any]] = {
    "ip": ip,
    "network": network,
    "netmask": netmask,
    "prefixlen": prefixlen,
    "with_prefixlen": with_prefixlen,
    "network_netmask": network_netmask,
    "address_netmask": address_netmask,
}
