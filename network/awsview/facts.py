"""The facts AWS reports, the datacenter's view of the same tunnels, and what the
stack outputs expect the route tables to hold (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from network.contract import Connection, StackOutputs


@dataclass(frozen=True)
class TunnelTelemetry:
    """One ``VgwTelemetry`` entry of ``DescribeVpnConnections``."""

    vpn_connection_id: str
    outside_ip: str
    status: str  # UP | DOWN
    status_message: str = ""
    accepted_route_count: int = 0
    last_status_change: datetime | None = None


@dataclass(frozen=True)
class TableRoute:
    """One route of a VPC route table or a TGW route table, as AWS reports it.

    ``targets``: the VPC route's gateway (``vgw-``/``tgw-``/``pcx-``...), or the TGW
    route's attachment ids (several for ECMP). ``origin``: the VPC route's ``Origin``
    (``CreateRoute``, ``EnableVgwRoutePropagation``) or the TGW route's ``Type``
    (``static``, ``propagated``).
    """

    table_id: str
    destination: str
    targets: tuple[str, ...]
    origin: str
    state: str


@dataclass(frozen=True)
class AwsView:
    """What AWS reports about a stack's connections and route tables."""

    telemetry: dict[str, tuple[TunnelTelemetry, ...]] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)  # vpn id -> TGW attachment
    routes: dict[str, tuple[TableRoute, ...]] = field(default_factory=dict)  # table -> routes
    missing: tuple[str, ...] = ()  # connections or tables AWS does not know
    truncated: tuple[str, ...] = ()  # TGW tables with more routes than one search returns

    def tunnel(self, vpn_id: str, outside_ip: str) -> TunnelTelemetry | None:
        return next((t for t in self.telemetry.get(vpn_id, ()) if t.outside_ip == outside_ip), None)


@dataclass(frozen=True)
class DcTunnel:
    """The datacenter router's view of one tunnel. ``None``: not read (the router's
    platform is not readable, or it did not answer); the plan stands in for it."""

    connection: str
    number: int
    ipsec_up: bool | None
    bgp_established: bool | None = None
    announced: int | None = None  # prefixes the router sends AWS on that session


@dataclass(frozen=True)
class RouteExpectation:
    """A DC prefix a route table must hold, and the target it must name."""

    table_id: str
    table: str  # readable name: "vpc app/private" or "tgw hub/onprem"
    kind: str  # vpc | tgw
    destination: str
    target: str  # vgw-/tgw- id (VPC table), or the connection's name (TGW table)
    connection: str = ""  # the connection whose attachment must carry it (TGW)
    gateway: str = ""  # the VGW's or TGW's name in the stack


def _vgw_expectations(out: StackOutputs, conns: list[Connection]) -> list[RouteExpectation]:
    plan = out.plan or {}
    vpcs = out.raw.get("vpcs", {})
    exp: list[RouteExpectation] = []
    for vpc, gw_name in sorted((plan.get("vgwPropagation") or {}).items()):
        tables = (vpcs.get(vpc) or {}).get("routeTables", {})
        for c in conns:
            if c.gateway.get("type") != "vgw" or c.gateway.get("name") != gw_name:
                continue
            for tier, table_id in sorted(tables.items()):
                exp += [
                    RouteExpectation(
                        table_id, f"vpc {vpc}/{tier}", "vpc", p, c.gateway["id"], c.name, gw_name
                    )
                    for p in c.announce
                ]
    return exp


def _vpc_tgw_expectations(out: StackOutputs, dc_prefixes: set[str]) -> list[RouteExpectation]:
    plan = out.plan or {}
    vpcs = out.raw.get("vpcs", {})
    gateways = out.raw.get("gateways", {})
    exp: list[RouteExpectation] = []
    for vpc, routes in sorted((plan.get("vpcRoutes") or {}).items()):
        tables = (vpcs.get(vpc) or {}).get("routeTables", {})
        for cidr, target in sorted(routes.items()):
            kind, _, name = str(target).partition(":")
            if kind != "tgw" or cidr not in dc_prefixes or name not in gateways:
                continue
            exp += [
                RouteExpectation(
                    t, f"vpc {vpc}/{tier}", "vpc", cidr, gateways[name]["id"], gateway=name
                )
                for tier, t in sorted(tables.items())
            ]
    return exp


def _tgw_expectations(out: StackOutputs, conns: list[Connection]) -> list[RouteExpectation]:
    exp: list[RouteExpectation] = []
    for gw_name, gw in sorted(out.raw.get("gateways", {}).items()):
        if gw.get("type") != "tgw":
            continue
        for rt_name, rt in sorted((gw.get("routeTables") or {}).items()):
            for c in conns:
                if c.gateway.get("name") != gw_name or f"vpn:{c.name}" not in rt.get(
                    "propagations", []
                ):
                    continue
                exp += [
                    RouteExpectation(
                        rt["id"], f"tgw {gw_name}/{rt_name}", "tgw", p, c.name, c.name, gw_name
                    )
                    for p in c.announce
                ]
    return exp


def connections(out: StackOutputs) -> list[Connection]:
    return [c for r in out.routers.values() for c in r.connections]


def expected_routes(out: StackOutputs) -> list[RouteExpectation]:
    """Every DC prefix each route table must hold, from the stack outputs and plan:

    - a VPC propagating a VGW: each connection's announced prefixes, target the VGW;
    - a VPC routed to a TGW: its DC routes (``vpcRoutes``), target the TGW;
    - a TGW route table a VPN attachment propagates into: the connection's prefixes,
      carried by that connection's attachment (among others, with ECMP).
    """
    conns = connections(out)
    dc_prefixes = {p for c in conns for p in c.announce}
    return [
        *_vgw_expectations(out, conns),
        *_vpc_tgw_expectations(out, dc_prefixes),
        *_tgw_expectations(out, conns),
    ]


def vpn_ids(out: StackOutputs) -> dict[str, str]:
    """Connection name -> VPN connection id (``vpnConnectionId`` in the outputs)."""
    return {c.name: str(c.raw.get("vpnConnectionId", "")) for c in connections(out)}


def regions(out: StackOutputs) -> dict[str, str]:
    """Connection name -> its gateway's region."""
    default = str((out.plan or {}).get("defaultRegion") or "us-east-1")
    return {c.name: str(c.gateway.get("region") or default) for c in connections(out)}


def table_regions(out: StackOutputs) -> dict[str, str]:
    """Route table id -> region, for every table ``expected_routes`` names."""
    default = str((out.plan or {}).get("defaultRegion") or "us-east-1")
    result: dict[str, str] = {}
    for vpc in out.raw.get("vpcs", {}).values():
        for t in (vpc.get("routeTables") or {}).values():
            result[str(t)] = str(vpc.get("region") or default)
    for gw in out.raw.get("gateways", {}).values():
        for rt in (gw.get("routeTables") or {}).values():
            result[str(rt["id"])] = str(gw.get("region") or default)
    return result
