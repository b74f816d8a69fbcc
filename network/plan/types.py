"""The plan's types: what `build_plan` returns and the components take (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from network.errors import Problem
from network.model import (
    ConnectionSpec,
    DatacenterSpec,
    NetworkSpec,
    PeeringSpec,
    RouterSpec,
    RouteTableSpec,
    Secret,
    TransitGatewaySpec,
    TunnelOptions,
    VpcSpec,
    VpnGatewaySpec,
)


@dataclass(frozen=True)
class SubnetPlan:
    vpc: str
    tier: str
    az: str
    cidr: IPNetwork


@dataclass(frozen=True)
class VpcPlan:
    spec: VpcSpec
    subnets: tuple[SubnetPlan, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    def tier_subnets(self, tier: str) -> tuple[SubnetPlan, ...]:
        return tuple(s for s in self.subnets if s.tier == tier)


@dataclass(frozen=True)
class TunnelPlan:
    number: int
    inside_cidr: IPNetwork
    aws_inside: IPAddress
    customer_inside: IPAddress
    inside_ipv6_cidr: IPNetwork | None
    psk: Secret | None  # None: generated at apply time, as a secret
    preference: str  # "primary" | "secondary" | "equal"


@dataclass(frozen=True)
class ConnectionPlan:
    spec: ConnectionSpec
    router: RouterSpec
    datacenter: DatacenterSpec
    gateway_type: str  # "vgw" | "tgw"
    region: str
    aws_asn: int
    announce: tuple[IPNetwork, ...]  # datacenter prefixes sent to AWS
    accept: tuple[IPNetwork, ...]  # AWS prefixes the router may learn
    redundancy: str  # "active-standby" | "ecmp"
    tunnels: tuple[TunnelPlan, TunnelPlan]
    max_prefixes_in: int

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def options(self) -> TunnelOptions:
        return self.spec.options


@dataclass(frozen=True)
class TransitPlan:
    spec: TransitGatewaySpec
    route_tables: tuple[RouteTableSpec, ...]  # refs expanded: no "vpn:*" left
    association: dict[str, str]  # attachment ref -> route table
    static_routes: tuple[tuple[str, IPNetwork, str], ...]  # (route table, prefix, vpn:<conn>)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class VpcRoute:
    """A route a VPC's route tables need: destination via a gateway or peering."""

    vpc: str
    destination: IPNetwork
    target_kind: str  # "tgw" | "peering"
    target: str


@dataclass(frozen=True)
class Plan:
    spec: NetworkSpec
    vpcs: dict[str, VpcPlan]
    vpn_gateways: dict[str, VpnGatewaySpec]
    transit: dict[str, TransitPlan]
    connections: tuple[ConnectionPlan, ...]
    peerings: tuple[PeeringSpec, ...]
    vpc_routes: tuple[VpcRoute, ...]
    # Worth saying, not wrong (same shape as a problem): a rule that admits
    # traffic which cannot arrive, a secret that was not read, a subnet that
    # moves compared with the last apply.
    warnings: tuple[Problem, ...] = ()

    @property
    def stack(self) -> str:
        return self.spec.stack

    def regions(self) -> list[str]:
        found = {v.spec.region for v in self.vpcs.values()}
        found |= {t.spec.region for t in self.transit.values()}
        return sorted(found | {self.spec.default_region})

    def vgw_propagating(self) -> dict[str, str]:
        """VPC name -> VGW name, for VPCs whose route tables learn routes from a VGW."""
        return {g.vpc: g.name for g in self.vpn_gateways.values()}


@dataclass(frozen=True)
class SpecIndex:
    """The spec's entries by the names the config uses for them, built once.

    `gone` holds what the config names but could not be parsed
    (`NetworkSpec.unparsed`): checks that would only repeat that parse problem
    ("no such VPC") skip those.
    """

    spec: NetworkSpec
    vpcs: dict[str, VpcSpec]
    datacenters: dict[str, DatacenterSpec]
    routers: dict[str, RouterSpec]  # by ref: "<datacenter>/<router>"
    vgws: dict[str, VpnGatewaySpec]
    tgws: dict[str, TransitGatewaySpec]

    @property
    def gone(self) -> frozenset[str]:
        return self.spec.unparsed

    @classmethod
    def of(cls, spec: NetworkSpec) -> SpecIndex:
        return cls(
            spec=spec,
            vpcs={v.name: v for v in spec.vpcs},
            datacenters={d.name: d for d in spec.datacenters},
            routers={r.ref: r for d in spec.datacenters for r in d.routers},
            vgws={g.name: g for g in spec.vpn_gateways},
            tgws={g.name: g for g in spec.transit_gateways},
        )
