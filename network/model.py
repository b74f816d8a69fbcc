"""The stack's network, as typed and validated data (pure: no pulumi import).

`network.config` builds a `NetworkSpec` from the stack config; `network.plan`
turns it into a `Plan` with every address allocated.
"""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork


class Secret:
    """A value that must never be printed: str() and repr() mask it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Tier:
    name: str
    prefix_length: int | None = None
    subnets: tuple[tuple[str, IPNetwork], ...] = ()  # explicit (az, cidr) pairs


@dataclass(frozen=True)
class PortRange:
    first: int
    last: int

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class IngressRule:
    """Flows the datacenter side may open towards some tiers of one VPC."""

    sources: tuple[IPNetwork, ...]
    tiers: tuple[str, ...]
    icmp: bool
    tcp: tuple[PortRange, ...]
    udp: tuple[PortRange, ...]


@dataclass(frozen=True)
class VpcSpec:
    name: str
    region: str
    cidr: IPNetwork
    azs: tuple[str, ...]
    tiers: tuple[Tier, ...]
    ingress: tuple[IngressRule, ...] = ()
    # Subnets reserved per tier for availability zones (see network.allocate);
    # None: the AZs given, rounded up to a power of two.
    az_slots: int | None = None


@dataclass(frozen=True)
class RouterSpec:
    datacenter: str
    name: str
    public_ip: IPAddress
    platform: str
    # Zone-based platforms (Junos SRX, FortiOS) forward nothing between the tunnels
    # and the LAN without a policy: crossnet renders one scoped to the planned prefixes
    # unless the site keeps its own (`firewallPolicies: false`).
    firewall_policies: bool = True
    # The BGP router ID (default: the public IP). A new router ID resets every BGP
    # session of the router at once: pin it to keep the sessions through an address change.
    router_id: IPAddress | None = None

    @property
    def key(self) -> str:
        """Stable identity of a datacenter router across the whole stack.

        `<datacenter>-<router>`: render directories, lab namespaces and the
        outputs contract use it. The plan rejects two routers with one key
        (datacenter `dc1-a` router `b` and datacenter `dc1` router `a-b`).
        """
        return f"{self.datacenter}-{self.name}"

    @property
    def ref(self) -> str:
        """How the stack config names the router: `<datacenter>/<router>`."""
        return f"{self.datacenter}/{self.name}"


@dataclass(frozen=True)
class DatacenterSpec:
    name: str
    asn: int
    prefixes: tuple[IPNetwork, ...]
    routers: tuple[RouterSpec, ...]


@dataclass(frozen=True)
class VpnGatewaySpec:
    name: str
    vpc: str
    asn: int


@dataclass(frozen=True)
class RouteTableSpec:
    name: str
    associations: tuple[str, ...]  # attachment refs: "vpc:<name>" or "vpn:<connection>"
    propagations: tuple[str, ...]


@dataclass(frozen=True)
class TransitGatewaySpec:
    name: str
    region: str
    asn: int
    ecmp: bool
    attachments: tuple[tuple[str, str], ...]  # (vpc, tier whose subnets carry the attachment)
    route_tables: tuple[RouteTableSpec, ...]


@dataclass(frozen=True)
class Phase:
    encryption: tuple[str, ...]
    integrity: tuple[str, ...]
    dh_groups: tuple[int, ...]
    lifetime: int


@dataclass(frozen=True)
class TunnelOptions:
    ike_versions: tuple[str, ...]
    phase1: Phase
    phase2: Phase
    rekey_margin: int
    rekey_fuzz: int
    replay_window: int
    dpd_timeout: int
    dpd_action: str
    startup_action: str


@dataclass(frozen=True)
class TunnelSpec:
    number: int
    inside_cidr: IPNetwork | None = None
    inside_ipv6_cidr: IPNetwork | None = None
    psk: Secret | None = None
    # The config key the PSK comes from. With `psk` None, the key holds a secret
    # that was not read (review commands, `need_secrets=False`): such a spec can
    # be planned and reviewed, never declared.
    psk_source: str | None = None


@dataclass(frozen=True)
class ConnectionSpec:
    name: str
    router: str  # RouterSpec.key
    gateway: str
    routing: str  # "bgp" | "static"
    options: TunnelOptions
    tunnels: tuple[TunnelSpec, TunnelSpec]
    router_ref: str = ""  # as written in the config: "<datacenter>/<router>"
    # AWS Global Accelerator in front of the tunnels (transit gateway only; ForceNew).
    acceleration: bool = False
    # A second public address of its router, with a customer gateway of its own
    # (`<connection>-cgw`, AWS device name: the connection's name): what a change of the
    # router's address moves onto first, make before break (docs/rollout.md).
    public_ip: IPAddress | None = None


@dataclass(frozen=True)
class PeeringSpec:
    name: str
    requester: str
    accepter: str
    dns_resolution: bool


@dataclass(frozen=True)
class NetworkSpec:
    stack: str
    default_region: str
    vpcs: tuple[VpcSpec, ...]
    datacenters: tuple[DatacenterSpec, ...]
    vpn_gateways: tuple[VpnGatewaySpec, ...]
    transit_gateways: tuple[TransitGatewaySpec, ...]
    connections: tuple[ConnectionSpec, ...]
    peerings: tuple[PeeringSpec, ...]
    aws_supernets: tuple[IPNetwork, ...] = ()
    datacenter_supernets: tuple[IPNetwork, ...] = ()
    # What the config names but could not be parsed ("vpc:app", "router:dc1/edge1",
    # "options:<connection>", ...): the plan skips checks that would only repeat
    # the parse problem ("no such VPC") for these.
    unparsed: frozenset[str] = frozenset()

    def routers(self) -> dict[str, RouterSpec]:
        return {r.key: r for dc in self.datacenters for r in dc.routers}
