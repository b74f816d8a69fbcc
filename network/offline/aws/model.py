"""What the emulator knows about a VPN connection beyond moto's model.

moto's ``VPNConnection`` has no tunnels; the emulator keeps a :class:`VpnExtension`
in the connection's ``__dict__`` (so moto's serializer never sees it) and derives the
botocore-shaped views (``Options``, ``VgwTelemetry``, ``Routes``) from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ec2.exceptions import EC2ClientError
from netaddr import IPNetwork

# AWS outside addresses handed out offline. Real ones are Amazon public IPs; the
# emulator uses the RFC 5737 documentation ranges so nothing it prints is routable:
# tunnel 1 from TEST-NET-2, tunnel 2 from TEST-NET-3, so the two tunnels of a
# connection always sit on two different addresses, as on AWS.
OUTSIDE_POOLS = (IPNetwork("198.51.100.0/24"), IPNetwork("203.0.113.0/24"))
FIRST_OUTSIDE_HOST = 10

_KEY = "_crossnet"


@dataclass
class VpnTunnel:
    """One tunnel of a VPN connection, with every option AWS reports."""

    outside_ip: str
    inside_cidr: str | None
    inside_ipv6_cidr: str | None
    psk: str
    phase1_encryption: list[str]
    phase2_encryption: list[str]
    phase1_integrity: list[str]
    phase2_integrity: list[str]
    phase1_dh: list[int]
    phase2_dh: list[int]
    ike_versions: list[str]
    phase1_lifetime: int
    phase2_lifetime: int
    rekey_margin: int
    rekey_fuzz: int
    replay_window: int
    dpd_timeout: int
    dpd_action: str
    startup_action: str
    lifecycle_control: bool
    # Telemetry: nobody terminates the tunnel offline, so it is DOWN, as AWS shows
    # it until the customer device connects. telemetry.set_tunnel_status() changes it.
    status: str = "DOWN"
    status_message: str = ""
    learned_prefixes: list[str] = field(default_factory=list)
    last_status_change: datetime = field(default_factory=lambda: datetime.now(UTC))

    def inside_addresses(self) -> tuple[str, str, int]:
        """(AWS inside address, customer inside address, prefix length) of the tunnel.

        AWS takes the first host of the inside block, the customer side the second.
        """
        net = IPNetwork(self.inside_cidr or self.inside_ipv6_cidr or "")
        return str(net[1]), str(net[2]), net.prefixlen


@dataclass
class VpnExtension:
    """A VPN connection's options, tunnels and static routes, as AWS holds them."""

    static_routes_only: bool
    inside_ip_version: str
    enable_acceleration: bool
    tunnel_bandwidth: str
    local_cidr: str
    remote_cidr: str
    customer_ip: str
    customer_asn: int
    aws_asn: int
    tunnels: list[VpnTunnel]
    # Static routes (CreateVpnConnectionRoute), in creation order.
    routes: list[str] = field(default_factory=list)

    def known_prefixes(self) -> list[str]:
        """Prefixes the connection really offers its gateway, as far as the emulator knows.

        AWS propagates a connection's routes only while a tunnel is UP: its static
        routes, or the BGP prefixes the customer side advertised on an UP tunnel.
        """
        up = [t for t in self.tunnels if t.status == "UP"]
        if not up:
            return []
        if self.static_routes_only:
            return list(self.routes)
        prefixes: list[str] = []
        for tunnel in up:
            prefixes.extend(p for p in tunnel.learned_prefixes if p not in prefixes)
        return prefixes


def extension_of(connection: Any) -> VpnExtension | None:
    """The emulator's record of a moto VPN connection (None: made before install)."""
    found = connection.__dict__.get(_KEY)
    return found if isinstance(found, VpnExtension) else None


def attach_extension(connection: Any, ext: VpnExtension) -> None:
    """Keep ``ext`` on a moto VPN connection."""
    connection.__dict__[_KEY] = ext


def live_extensions(backend: Any) -> list[tuple[Any, VpnExtension]]:
    """(connection, extension) of every emulated, not deleted connection of a backend."""
    found = []
    for connection in backend.vpn_connections.values():
        ext = extension_of(connection)
        if ext is not None and connection.state != "deleted":
            found.append((connection, ext))
    return found


class OutsideAllocator:
    """Hands out AWS outside addresses in order, never twice per installation."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start again at the first address of each pool."""
        self._next = [FIRST_OUTSIDE_HOST] * len(OUTSIDE_POOLS)
        self._used: set[str] = set()

    def allocate(self, tunnel_index: int, forbidden: set[str]) -> str:
        """Next free address of the tunnel's pool, skipping customer gateway IPs."""
        pool = OUTSIDE_POOLS[tunnel_index]
        while self._next[tunnel_index] < pool.size - 1:  # never the broadcast address
            candidate = str(pool[self._next[tunnel_index]])
            self._next[tunnel_index] += 1
            if candidate not in self._used and candidate not in forbidden:
                self._used.add(candidate)
                return candidate
        raise EC2ClientError(
            "VpnConnectionLimitExceeded",
            f"The emulator has no AWS outside address left in {pool}",
        )


ALLOCATOR = OutsideAllocator()
