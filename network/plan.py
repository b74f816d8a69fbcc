"""build_plan: validate the whole network and allocate every address (pure).

Nothing is declared until this has succeeded: a `Plan` is the only input the
Pulumi components take. Every rule is checked and every problem reported at
once, naming the field, the value and the rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from netaddr import IPAddress, IPNetwork

from network import aws_rules as aws
from network.allocate import AllocationError, allocate_subnets, inside_cidr_for
from network.config import NETWORK_KEY, load_network
from network.errors import Problems
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
from network.vpc_flows import planned_flows

P = NETWORK_KEY
# RFC 6598 carrier-grade NAT space: not reachable from AWS either.
_SHARED_CGN = IPNetwork("100.64.0.0/10")


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


def build_plan(config: Mapping[str, Any], stack: str) -> Plan:
    """Validate the stack config and allocate every address. Raises ConfigError."""
    spec = load_network(config, stack)
    problems = Problems()
    plan = _plan(spec, problems)
    problems.raise_if_any(f"stack config 'stacks/Pulumi.{stack}.yaml'")
    assert plan is not None
    return plan


def _plan(spec: NetworkSpec, p: Problems) -> Plan | None:
    vpcs = {v.name: v for v in spec.vpcs}
    dcs = {d.name: d for d in spec.datacenters}
    routers = spec.routers()
    vgws = {g.name: g for g in spec.vpn_gateways}
    tgws = {g.name: g for g in spec.transit_gateways}

    _check_unique_names(spec, p)
    vpc_plans = {v.name: _plan_vpc(v, p) for v in spec.vpcs}
    _check_overlaps(spec, vpc_plans, p)
    _check_supernets(spec, p)
    _check_routers(spec, p)

    for g in spec.vpn_gateways:
        if g.vpc not in vpcs:
            p.add(f"{P}.vpnGateways.{g.name}.vpc", g.vpc, _missing("VPC", vpcs))
    by_vpc: dict[str, list[str]] = defaultdict(list)
    for g in spec.vpn_gateways:
        by_vpc[g.vpc].append(g.name)
    for vpc, names in by_vpc.items():
        if len(names) > 1:
            p.add(
                f"{P}.vpnGateways",
                names,
                f"VPC {vpc!r} can have one VGW attached, not {len(names)}",
            )

    for t in spec.transit_gateways:
        for vpc, tier in t.attachments:
            path = f"{P}.transitGateways.{t.name}.attachments.{vpc}"
            if vpc not in vpcs:
                p.add(path, vpc, _missing("VPC", vpcs))
            elif tier not in {x.name for x in vpcs[vpc].tiers}:
                p.add(f"{path}.tier", tier, f"VPC {vpc!r} has no such tier")
            elif vpcs[vpc].region != t.region:
                p.add(path, vpc, f"a transit gateway attaches VPCs of its own region {t.region}")

    _check_ingress(spec, p)
    for peer in spec.peerings:
        for side in ("requester", "accepter"):
            if getattr(peer, side) not in vpcs:
                p.add(
                    f"{P}.peerings.{peer.name}.{side}", getattr(peer, side), _missing("VPC", vpcs)
                )
        if peer.requester == peer.accepter:
            p.add(f"{P}.peerings.{peer.name}", peer.requester, "a VPC cannot peer with itself")

    conns = []
    for c in spec.connections:
        cp = _plan_connection(c, spec, routers, dcs, vgws, tgws, vpcs, p)
        if cp is not None:
            conns.append(cp)
    _check_tunnels(conns, p)
    _check_quotas(conns, p)
    for r in routers.values():
        if not any(c.router.key == r.key for c in conns) and not any(
            c.router == r.key for c in spec.connections
        ):
            p.add(
                f"{P}.datacenters.{r.datacenter}.routers.{r.name}",
                r.key,
                "a router with no connection gets no tunnels: add one under connections",
            )

    transit = {t.name: _plan_transit(t, spec, p) for t in spec.transit_gateways}
    if p:
        return None
    # Accepted prefixes of TGW connections depend on the route tables.
    planned = [_with_tgw_accept(c, transit, vpcs) for c in conns]
    for cplan in planned:
        if not cplan.accept:
            p.add(
                f"{P}.connections.{cplan.name}",
                cplan.spec.gateway,
                "this connection would learn no AWS prefix: propagate a VPC attachment "
                "into the route table its VPN attachment is associated with",
            )
    if p:
        return None
    vpc_routes = _vpc_routes(spec, planned, transit, vpcs)
    return Plan(spec, vpc_plans, vgws, transit, tuple(planned), spec.peerings, vpc_routes)


def _missing(kind: str, known: Mapping[str, Any]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return f"no such {kind}; known: {names}"


def _check_unique_names(spec: NetworkSpec, p: Problems) -> None:
    gateways = [g.name for g in spec.vpn_gateways] + [g.name for g in spec.transit_gateways]
    for name in {n for n in gateways if gateways.count(n) > 1}:
        p.add(f"{P}.transitGateways.{name}", name, "a gateway name is used by a VGW and a TGW")


def _plan_vpc(v: VpcSpec, p: Problems) -> VpcPlan:
    path = f"{P}.vpcs.{v.name}"
    subs: list[SubnetPlan] = []
    explicit: list[IPNetwork] = []
    for t in v.tiers:
        for az, cidr in t.subnets:
            if cidr not in v.cidr:
                p.add(
                    f"{path}.tiers.{t.name}.subnets.{az}",
                    str(cidr),
                    f"a subnet must lie inside its VPC {v.cidr}",
                )
            subs.append(SubnetPlan(v.name, t.name, az, cidr))
            explicit.append(cidr)
        if t.subnets and {az for az, _ in t.subnets} != set(v.azs):
            p.add(
                f"{path}.tiers.{t.name}.subnets",
                sorted(az for az, _ in t.subnets),
                f"a tier has one subnet in each of the VPC's azs {list(v.azs)}",
            )
    auto = {t.name: t.prefix_length for t in v.tiers if t.prefix_length is not None}
    for name, plen in auto.items():
        if plen < v.cidr.prefixlen:
            p.add(f"{path}.tiers.{name}.prefixLength", plen, f"larger than the VPC {v.cidr}")
    if auto and all(pl >= v.cidr.prefixlen for pl in auto.values()):
        try:
            placed = allocate_subnets(
                v.cidr, list(v.azs), auto, [c for c in explicit if c in v.cidr]
            )
        except AllocationError as e:
            p.add(f"{path}.tiers", ", ".join(f"{k}=/{x}" for k, x in auto.items()), str(e))
            placed = {}
        subs += [SubnetPlan(v.name, t, az, c) for (t, az), c in placed.items()]
    return VpcPlan(v, tuple(sorted(subs, key=lambda s: (s.tier, s.az))))


def _check_overlaps(spec: NetworkSpec, vpcs: dict[str, VpcPlan], p: Problems) -> None:
    ranges: list[tuple[str, IPNetwork]] = [(f"{P}.vpcs.{v.name}.cidr", v.cidr) for v in spec.vpcs]
    ranges += [
        (f"{P}.datacenters.{d.name}.prefixes[{i}]", n)
        for d in spec.datacenters
        for i, n in enumerate(d.prefixes)
    ]
    for (fa, a), (fb, b) in combinations(ranges, 2):
        if a in b or b in a:
            p.add(
                fa,
                str(a),
                f"overlaps {b} at {fb}; VPC CIDRs, datacenter prefixes and "
                "peered ranges must not overlap",
            )
    for v in vpcs.values():
        for sa, sb in combinations(v.subnets, 2):
            if sa.cidr in sb.cidr or sb.cidr in sa.cidr:
                p.add(
                    f"{P}.vpcs.{v.name}.tiers.{sa.tier}",
                    f"{sa.az} {sa.cidr}",
                    f"overlaps subnet {sb.cidr} ({sb.tier}, {sb.az})",
                )


def _check_supernets(spec: NetworkSpec, p: Problems) -> None:
    if spec.aws_supernets:
        for v in spec.vpcs:
            if not any(v.cidr in s for s in spec.aws_supernets):
                p.add(
                    f"{P}.vpcs.{v.name}.cidr",
                    str(v.cidr),
                    "outside addressSpace.aws " + ", ".join(map(str, spec.aws_supernets)),
                )
    if spec.datacenter_supernets:
        for d in spec.datacenters:
            for i, n in enumerate(d.prefixes):
                if not any(n in s for s in spec.datacenter_supernets):
                    p.add(
                        f"{P}.datacenters.{d.name}.prefixes[{i}]",
                        str(n),
                        "outside addressSpace.datacenters "
                        + ", ".join(map(str, spec.datacenter_supernets)),
                    )


def _check_routers(spec: NetworkSpec, p: Problems) -> None:
    seen: dict[IPAddress, str] = {}
    for d in spec.datacenters:
        if not d.routers:
            p.add(f"{P}.datacenters.{d.name}.routers", "{}", "a datacenter needs a router")
        for r in d.routers:
            path = f"{P}.datacenters.{d.name}.routers.{r.name}.publicIp"
            ip = r.public_ip
            if (
                ip.is_ipv4_private_use()
                or ip in _SHARED_CGN
                or ip.is_loopback()
                or ip.is_link_local()
                or ip.is_multicast()
            ):
                p.add(path, str(ip), "a customer gateway needs a public, routable address")
            if ip in seen:
                p.add(path, str(ip), f"also the address of router {seen[ip]}")
            seen[ip] = r.key


def _check_ingress(spec: NetworkSpec, p: Problems) -> None:
    planned = [n for d in spec.datacenters for n in d.prefixes]
    for v in spec.vpcs:
        tiers = {t.name for t in v.tiers}
        for i, rule in enumerate(v.ingress):
            path = f"{P}.vpcs.{v.name}.ingress[{i}]"
            for j, src in enumerate(rule.sources):
                if src.prefixlen == 0:
                    p.add(f"{path}.from[{j}]", str(src), "0.0.0.0/0 is never admitted")
                elif not any(src in n for n in planned):
                    p.add(
                        f"{path}.from[{j}]",
                        str(src),
                        "not inside a planned datacenter prefix ("
                        + ", ".join(map(str, planned))
                        + ")",
                    )
            for j, tier in enumerate(rule.tiers):
                if tier not in tiers:
                    p.add(f"{path}.tiers[{j}]", tier, f"VPC {v.name!r} has no such tier")
        for tier in sorted(tiers):
            # Each flow is one rule, plus the same-tier rule; AWS's default quota
            # is 60 inbound rules per security group.
            n = len(planned_flows(v.ingress, tier)) + 1
            if n > aws.MAX_RULES_PER_SECURITY_GROUP:
                p.add(
                    f"{P}.vpcs.{v.name}.ingress",
                    f"{n} rules for tier {tier}",
                    f"a security group holds at most {aws.MAX_RULES_PER_SECURITY_GROUP} "
                    "inbound rules: use wider prefixes or port ranges",
                )


def _plan_connection(
    c: ConnectionSpec,
    spec: NetworkSpec,
    routers: dict[str, RouterSpec],
    dcs: dict[str, DatacenterSpec],
    vgws: dict[str, VpnGatewaySpec],
    tgws: dict[str, TransitGatewaySpec],
    vpcs: dict[str, VpcSpec],
    p: Problems,
) -> ConnectionPlan | None:
    path = f"{P}.connections.{c.name}"
    o = c.options
    if o.phase2.lifetime >= o.phase1.lifetime:
        p.add(
            f"{path}.tunnelOptions.phase2.lifetimeSeconds",
            o.phase2.lifetime,
            f"phase 2 lifetime must be below phase 1 ({o.phase1.lifetime})",
        )
    if o.rekey_margin > o.phase2.lifetime // 2:
        p.add(
            f"{path}.tunnelOptions.rekeyMarginSeconds",
            o.rekey_margin,
            f"rekey margin is at most half of phase 2 lifetime ({o.phase2.lifetime // 2})",
        )
    if o.startup_action == "start" and "ikev2" not in o.ike_versions:
        p.add(f"{path}.tunnelOptions.startupAction", "start", "startup action 'start' needs ikev2")
    router = routers.get(c.router)
    if router is None:
        p.add(
            f"{path}.router",
            c.router.replace("-", "/", 1),
            _missing("router", {k.replace("-", "/", 1): 1 for k in routers}),
        )
    gw_type = "vgw" if c.gateway in vgws else "tgw" if c.gateway in tgws else None
    if gw_type is None:
        p.add(f"{path}.gateway", c.gateway, _missing("gateway", {**vgws, **tgws}))
    for t in c.tunnels:
        tp = f"{path}.tunnel{t.number}"
        if t.inside_cidr is not None:
            ic = t.inside_cidr
            if ic.prefixlen != aws.INSIDE_V4_PREFIXLEN:
                p.add(f"{tp}.insideCidr", str(ic), "a tunnel inside CIDR is a /30")
            elif ic not in aws.INSIDE_V4_SUPERNET:
                p.add(f"{tp}.insideCidr", str(ic), "a tunnel inside CIDR lies in 169.254.0.0/16")
            elif aws.is_reserved_inside_cidr(ic):
                p.add(
                    f"{tp}.insideCidr",
                    str(ic),
                    "reserved by AWS (169.254.0-5.0/30, 169.254.169.252/30)",
                )
        if t.inside_ipv6_cidr is not None:
            i6 = t.inside_ipv6_cidr
            if gw_type == "vgw":
                p.add(
                    f"{tp}.insideIpv6Cidr",
                    str(i6),
                    "IPv6 inside CIDRs need a transit gateway; a VGW has no IPv6",
                )
            elif i6.prefixlen != aws.INSIDE_V6_PREFIXLEN or i6 not in aws.INSIDE_V6_SUPERNET:
                p.add(f"{tp}.insideIpv6Cidr", str(i6), "an IPv6 inside CIDR is a /126 in fd00::/8")
    if router is None or gw_type is None:
        return None
    dc = dcs[router.datacenter]
    if gw_type == "vgw":
        gw_vgw = vgws[c.gateway]
        aws_asn, ecmp = gw_vgw.asn, False
        vpc = vpcs.get(gw_vgw.vpc)
        region = vpc.region if vpc else spec.default_region
        accept: tuple[IPNetwork, ...] = (vpc.cidr,) if vpc else ()
    else:
        gw_tgw = tgws[c.gateway]
        aws_asn, ecmp, region = gw_tgw.asn, gw_tgw.ecmp and c.routing == "bgp", gw_tgw.region
        accept = ()  # filled from the route tables once they are planned
    if dc.asn == aws_asn:
        p.add(
            f"{P}.datacenters.{dc.name}.asn",
            dc.asn,
            f"equals the AWS-side ASN of gateway {c.gateway!r}; eBGP needs two ASNs",
        )
    if len(dc.prefixes) > aws.MAX_PREFIXES_FROM_CUSTOMER:
        p.add(
            f"{P}.datacenters.{dc.name}.prefixes",
            f"{len(dc.prefixes)} prefixes",
            f"AWS accepts at most {aws.MAX_PREFIXES_FROM_CUSTOMER} prefixes from a customer",
        )
    tunnels = []
    for t in c.tunnels:
        cidr = t.inside_cidr if t.inside_cidr is not None else inside_cidr_for(c.name, t.number)
        pref = "equal" if ecmp else ("primary" if t.number == 1 else "secondary")
        tunnels.append(
            TunnelPlan(t.number, cidr, cidr[1], cidr[2], t.inside_ipv6_cidr, t.psk, pref)
        )
    return ConnectionPlan(
        spec=c,
        router=router,
        datacenter=dc,
        gateway_type=gw_type,
        region=region,
        aws_asn=aws_asn,
        announce=tuple(dc.prefixes),
        accept=accept,
        redundancy="ecmp" if ecmp else "active-standby",
        tunnels=(tunnels[0], tunnels[1]),
        max_prefixes_in=0,
    )


def _check_tunnels(conns: list[ConnectionPlan], p: Problems) -> None:
    # AWS wants inside CIDRs unique per VGW/TGW; a router cannot hold the same
    # /30 on two tunnel interfaces either. Check both scopes.
    for scope in ("gateway", "router"):
        seen: dict[tuple[str, IPNetwork], str] = {}
        for c in conns:
            owner = c.spec.gateway if scope == "gateway" else c.router.key
            for t in c.tunnels:
                here = f"{c.name}.tunnel{t.number}"
                key = (owner, t.inside_cidr)
                if key in seen:
                    p.add(
                        f"{P}.connections.{here}.insideCidr",
                        str(t.inside_cidr),
                        f"also used by {seen[key]} on {scope} {owner!r}; inside CIDRs are "
                        f"unique per {scope} (set insideCidr explicitly to another /30)",
                    )
                else:
                    seen[key] = here


def _check_quotas(conns: list[ConnectionPlan], p: Problems) -> None:
    per_gw: dict[str, int] = defaultdict(int)
    per_region: dict[str, int] = defaultdict(int)
    for c in conns:
        if c.gateway_type == "vgw":
            per_gw[c.spec.gateway] += 1
        per_region[c.region] += 1
    for gw, n in per_gw.items():
        if n > aws.MAX_CONNECTIONS_PER_VGW:
            p.add(
                f"{P}.connections",
                f"{n} connections on VGW {gw!r}",
                f"a VGW takes at most {aws.MAX_CONNECTIONS_PER_VGW} VPN connections",
            )
    for region, n in per_region.items():
        if n > aws.MAX_CONNECTIONS_PER_REGION:
            p.add(
                f"{P}.connections",
                f"{n} connections in {region}",
                f"a region holds at most {aws.MAX_CONNECTIONS_PER_REGION} VPN connections",
            )


def _plan_transit(t: TransitGatewaySpec, spec: NetworkSpec, p: Problems) -> TransitPlan:
    path = f"{P}.transitGateways.{t.name}"
    vpns = sorted(c.name for c in spec.connections if c.gateway == t.name)
    vpcs = [v for v, _ in t.attachments]
    tables = t.route_tables or (
        # The usual hub: VPCs reach the datacenters but not each other, and
        # the datacenters reach every VPC.
        RouteTableSpec("vpcs", tuple(f"vpc:{v}" for v in vpcs), ("vpn:*",)),
        RouteTableSpec("datacenters", ("vpn:*",), tuple(f"vpc:{v}" for v in vpcs)),
    )
    known = {f"vpc:{v}" for v in vpcs} | {f"vpn:{c}" for c in vpns}

    def expand(refs: tuple[str, ...], where: str) -> tuple[str, ...]:
        out: list[str] = []
        for i, ref in enumerate(refs):
            if ref == "vpn:*":
                out += [f"vpn:{c}" for c in vpns]
            elif ref not in known:
                p.add(
                    f"{path}.routeTables.{where}[{i}]",
                    ref,
                    "not an attachment of this transit gateway; known: " + ", ".join(sorted(known)),
                )
            else:
                out.append(ref)
        return tuple(dict.fromkeys(out))

    expanded = []
    association: dict[str, str] = {}
    for rt in tables:
        assoc = expand(rt.associations, f"{rt.name}.associations")
        prop = expand(rt.propagations, f"{rt.name}.propagations")
        for ref in assoc:
            if ref in association:
                p.add(
                    f"{path}.routeTables.{rt.name}.associations",
                    ref,
                    f"already associated with route table {association[ref]!r}; an "
                    "attachment has one association",
                )
            association[ref] = rt.name
        expanded.append(RouteTableSpec(rt.name, assoc, prop))
    for ref in sorted(known - set(association)):
        p.add(f"{path}.routeTables", ref, "attachment is associated with no route table")
    dc_prefixes = {d.name: d.prefixes for d in spec.datacenters}
    routers = spec.routers()
    static = []
    for rt in expanded:
        for ref in rt.propagations:
            conn = next((c for c in spec.connections if f"vpn:{c.name}" == ref), None)
            if conn is not None and conn.routing == "static" and conn.router in routers:
                for prefix in dc_prefixes[routers[conn.router].datacenter]:
                    static.append((rt.name, prefix, ref))
    return TransitPlan(t, tuple(expanded), association, tuple(static))


def _with_tgw_accept(
    c: ConnectionPlan, transit: dict[str, TransitPlan], vpcs: dict[str, VpcSpec]
) -> ConnectionPlan:
    if c.gateway_type == "tgw":
        tp = transit[c.spec.gateway]
        rt_name = tp.association.get(f"vpn:{c.name}")
        rt = next((r for r in tp.route_tables if r.name == rt_name), None)
        accept = tuple(
            vpcs[ref[4:]].cidr for ref in (rt.propagations if rt else ()) if ref.startswith("vpc:")
        )
    else:
        accept = c.accept
    # Guard against a leak from AWS: the planned prefixes, with headroom, and
    # never more than AWS itself would send.
    guard = min(aws.MAX_PREFIXES_TO_CUSTOMER, max(10, 2 * len(accept)))
    return ConnectionPlan(
        **{**c.__dict__, "accept": tuple(sorted(accept)), "max_prefixes_in": guard}
    )


def _vpc_routes(
    spec: NetworkSpec,
    conns: list[ConnectionPlan],
    transit: dict[str, TransitPlan],
    vpcs: dict[str, VpcSpec],
) -> tuple[VpcRoute, ...]:
    routes: list[VpcRoute] = []
    # Through a transit gateway: each attached VPC reaches the datacenters whose
    # VPN attachments propagate (BGP) or are routed statically into its table.
    for tp in transit.values():
        for vpc, _tier in tp.spec.attachments:
            rt_name = tp.association.get(f"vpc:{vpc}")
            rt = next((r for r in tp.route_tables if r.name == rt_name), None)
            if rt is None:
                continue
            dests: set[IPNetwork] = set()
            for ref in rt.propagations:
                for c in conns:
                    if ref == f"vpn:{c.name}":
                        dests |= set(c.announce)
                if ref.startswith("vpc:") and ref != f"vpc:{vpc}":
                    dests.add(vpcs[ref[4:]].cidr)
            for dest in sorted(dests):
                routes.append(VpcRoute(vpc, dest, "tgw", tp.name))
    # Peering is not transitive: each side gets a route to the other's CIDR.
    for peer in spec.peerings:
        a, b = vpcs[peer.requester], vpcs[peer.accepter]
        routes.append(VpcRoute(a.name, b.cidr, "peering", peer.name))
        routes.append(VpcRoute(b.name, a.cidr, "peering", peer.name))
    return tuple(routes)
