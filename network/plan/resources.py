"""The resources a plan implies, as the Pulumi program names them (pure).

`network.program.declare` declares exactly these; the components build their
names with the same `resource_name` calls, and tests/unit/test_names.py checks
this list against what they really declare, resource for resource.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from netaddr import IPAddress

from network.errors import Problems
from network.naming import component_token, flow_key, resource_name, slug
from network.plan.common import P
from network.plan.types import ConnectionPlan, Plan, TransitPlan, VpcPlan
from network.vpc_flows import planned_flows


def customer_gateway_name(plan: Plan, c: ConnectionPlan) -> str:
    """One customer gateway per router and region: the router's key, plus the
    region when it is not the stack's default; a connection with an address of its
    own (`publicIp`) has its own: the connection's name."""
    if c.spec.public_ip is not None:
        return c.name
    if c.region == plan.spec.default_region:
        return c.router.key
    return f"{c.router.key}-{c.region}"


def customer_ip(c: ConnectionPlan) -> IPAddress:
    """The router's address a connection's tunnels use (its customer gateway's)."""
    return c.spec.public_ip if c.spec.public_ip is not None else c.router.public_ip


@dataclass(frozen=True)
class PlannedResource:
    """A resource the Pulumi program declares for a plan, as its URN names it."""

    type: str  # "<component token>$<resource type>" for a child, else the type
    name: str
    origin: str  # the config path it comes from

    @property
    def kind(self) -> str:
        return self.type.rsplit("$", 1)[-1]


_T = {
    "vpc": "aws:ec2/vpc:Vpc",
    "subnet": "aws:ec2/subnet:Subnet",
    "rt": "aws:ec2/routeTable:RouteTable",
    "rta": "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "sg": "aws:ec2/securityGroup:SecurityGroup",
    "sgr": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "sge": "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "vgw": "aws:ec2/vpnGateway:VpnGateway",
    "vgw-prop": "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
    "cgw": "aws:ec2/customerGateway:CustomerGateway",
    "vpn": "aws:ec2/vpnConnection:VpnConnection",
    "vpn-route": "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
    "psk": "random:index/randomPassword:RandomPassword",
    "route": "aws:ec2/route:Route",
    "pcx": "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
    "pcx-accept": "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
    "pcx-dns": "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions",
    "tgw": "aws:ec2transitgateway/transitGateway:TransitGateway",
    "tgw-rt": "aws:ec2transitgateway/routeTable:RouteTable",
    "tgw-att": "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
    "tgw-assoc": "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
    "tgw-prop": "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation",
    "tgw-route": "aws:ec2transitgateway/route:Route",
}


def planned_resources(plan: Plan) -> list[PlannedResource]:
    """Every resource `network.program.declare` declares for this plan (pure)."""
    r = _Resources(plan)
    for region in plan.regions():
        r.add("", "pulumi:providers:aws", f"aws-{region}", f"region {region}")
    for _name, vp in sorted(plan.vpcs.items()):
        r.vpc(vp)
    r.vpn_gateways()
    for tp in plan.transit.values():
        r.transit_hub(tp)
    r.customer_gateways()
    for c in plan.connections:
        r.connection(c)
    r.peerings()
    r.routing()
    return r.out


class _Resources:
    """Collects the planned resources, one method per component."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.out: list[PlannedResource] = []
        self.tiers_of = {n: [t.name for t in v.spec.tiers] for n, v in plan.vpcs.items()}

    def add(self, parent: str, kind: str, name: str, origin: str) -> None:
        typ = _T.get(kind, kind)
        self.out.append(PlannedResource(f"{parent}${typ}" if parent else typ, name, origin))

    def rn(self, kind: str, parent: str, origin: str, *keys: str | int) -> None:
        self.add(parent, kind, resource_name(kind, *keys), origin)

    def vpc(self, vp: VpcPlan) -> None:
        v, name = vp.spec, vp.name
        vo, comp = f"{P}.vpcs.{name}", component_token("Vpc")
        self.add("", comp, name, vo)
        self.rn("vpc", comp, vo, name)
        for tier in v.tiers:
            to = f"{vo}.tiers.{tier.name}"
            self.rn("rt", comp, to, name, tier.name)
            for sub in vp.tier_subnets(tier.name):
                self.rn("subnet", comp, f"{to} ({sub.az})", name, tier.name, sub.az)
                self.rn("rta", comp, f"{to} ({sub.az})", name, tier.name, sub.az)
            self.rn("sg", comp, to, name, tier.name)
            self.rn("sgr", comp, to, name, tier.name, "self")
            for flow in planned_flows(v.ingress, tier.name):
                self.rn(
                    "sgr", comp, f"{vo}.ingress ({tier.name})", name, tier.name, flow_key(*flow)
                )
            self.rn("sge", comp, to, name, tier.name, "all")

    def vpn_gateways(self) -> None:
        for g in self.plan.vpn_gateways.values():
            go, comp = f"{P}.vpnGateways.{g.name}", component_token("VpnGateway")
            self.add("", comp, g.name, go)
            self.rn("vgw", comp, go, g.name)
            for tname in sorted(self.tiers_of.get(g.vpc, [])):
                self.rn("vgw-prop", comp, go, g.name, tname)

    def transit_hub(self, tp: TransitPlan) -> None:
        to, comp = f"{P}.transitGateways.{tp.name}", component_token("TransitHub")
        self.add("", comp, tp.name, to)
        self.rn("tgw", comp, to, tp.name)
        for rt in tp.route_tables:
            self.rn("tgw-rt", comp, f"{to}.routeTables.{rt.name}", tp.name, rt.name)
        for vpc, _tier in tp.spec.attachments:
            self.rn("tgw-att", comp, f"{to}.attachments.{vpc}", tp.name, vpc)
        self._tgw_refs(tp, comp, "vpc:")

    def _tgw_refs(self, tp: TransitPlan, comp: str, prefix: str) -> None:
        """Associations and propagations of the attachments whose refs start with `prefix`."""
        to = f"{P}.transitGateways.{tp.name}"
        for rt in tp.route_tables:
            rto = f"{to}.routeTables.{rt.name}"
            for kind, refs in (("tgw-assoc", rt.associations), ("tgw-prop", rt.propagations)):
                for ref in refs:
                    if ref.startswith(prefix):
                        self.rn(kind, comp, rto, tp.name, rt.name, ref.replace(":", "-"))

    def customer_gateways(self) -> None:
        done: set[str] = set()
        for c in self.plan.connections:
            cgw = customer_gateway_name(self.plan, c)
            if cgw not in done:
                done.add(cgw)
                ro = f"{P}.datacenters.{c.router.datacenter}.routers.{c.router.name}"
                comp = component_token("CustomerGateway")
                self.add("", comp, cgw, ro)
                self.rn("cgw", comp, ro, cgw)

    def connection(self, c: ConnectionPlan) -> None:
        co, comp = f"{P}.connections.{c.name}", component_token("SiteToSiteVpn")
        self.add("", comp, c.name, co)
        for t in c.tunnels:
            if t.psk is None:
                self.rn("psk", comp, f"{co}.tunnel{t.number}", c.name, t.number)
        self.rn("vpn", comp, co, c.name)
        if c.spec.routing == "static" and c.gateway_type == "vgw":
            for prefix in c.announce:
                self.rn("vpn-route", comp, co, c.name, slug(prefix))

    def peerings(self) -> None:
        for peer in self.plan.peerings:
            po, comp = f"{P}.peerings.{peer.name}", component_token("VpcPeering")
            self.add("", comp, peer.name, po)
            self.rn("pcx", comp, po, peer.name)
            req, acc = self.plan.vpcs.get(peer.requester), self.plan.vpcs.get(peer.accepter)
            if req is not None and acc is not None and req.spec.region != acc.spec.region:
                self.rn("pcx-accept", comp, po, peer.name)
            if peer.dns_resolution:
                for side in ("requester", "accepter"):
                    self.rn("pcx-dns", comp, po, peer.name, side)
            for here in (peer.requester, peer.accepter):
                for tname in sorted(self.tiers_of.get(here, [])):
                    self.rn("route", comp, po, here, tname, "pcx", peer.name)

    def routing(self) -> None:
        comp = component_token("Routing")
        self.add("", comp, "routing", P)
        for route in self.plan.vpc_routes:
            if route.target_kind != "tgw":
                continue
            ro = f"{P}.transitGateways.{route.target} (routes of {route.vpc})"
            for tname in sorted(self.tiers_of.get(route.vpc, [])):
                self.rn("route", comp, ro, route.vpc, tname, "tgw", slug(route.destination))
        for tp in self.plan.transit.values():
            self._tgw_refs(tp, comp, "vpn:")
            to = f"{P}.transitGateways.{tp.name}"
            for table, prefix, ref in tp.static_routes:
                self.rn(
                    "tgw-route",
                    comp,
                    f"{to}.routeTables.{table}",
                    tp.name,
                    table,
                    ref[4:],
                    slug(prefix),
                )


def check_resource_names(plan: Plan, p: Problems) -> None:
    """The engine refuses a second resource with the same URN (type chain and
    name); `resource_name` joins keys with '-', which names may contain."""
    seen: dict[tuple[str, str], PlannedResource] = {}
    clashes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in planned_resources(plan):
        first = seen.setdefault((r.type, r.name), r)
        if first is not r:
            # one problem per pair of clashing config entries, naming the resources
            key = (r.origin.split(" (")[0], first.origin.split(" (")[0])
            clashes[key].append(r.name)
    for (here, there), names in clashes.items():
        p.add(
            here,
            names[0] + (f" (+{len(names) - 1} more)" if len(names) > 1 else ""),
            f"the same resource name(s) as {there}: names join their keys with '-', and "
            "Pulumi refuses two resources with one name; rename one of the two",
        )
