"""build_plan: validate the whole network and allocate every address (pure).

Nothing is declared until this has succeeded: a `Plan` is the only input the
Pulumi components take. Every rule is checked and every problem reported at
once, naming the field, the value and the rule: the parse problems of the
stack config together with the plan's own (an overlap found beside a typo),
and the resource names the plan implies are checked to be unique, since
Pulumi refuses two resources with one name. What is worth saying but not
wrong comes back as `Plan.warnings`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

from netaddr import IPAddress, IPNetwork

from network import aws_rules as aws
from network.allocate import (
    AllocationError,
    allocate_subnets,
    free_inside_block,
    inside_block_for,
    inside_cidr_for,
)
from network.config import NETWORK_KEY, config_source, parse_network
from network.errors import Problem, Problems, some
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
from network.naming import component_token, flow_key, resource_name, slug
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


def build_plan(
    config: Mapping[str, Any],
    stack: str,
    *,
    need_secrets: bool = True,
    previous: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> Plan:
    """Validate the stack config and allocate every address. Raises ConfigError.

    need_secrets: False for the review commands, which read a stack file whose
        `secure:` values cannot be decrypted here: such a key is recorded by
        name only (a warning says its rules were not checked) and the plan can
        be reviewed but never declared. True (the default) for anything that
        applies the plan.
    previous: the plan snapshot of the last apply (`network.review.snapshot`
        shape), when known: subnets that move get a warning, and an inside-CIDR
        collision names the connection that is new.
    source: the file named in messages (default: the config's own `.source`,
        as `read_stack_config` records it, else `stacks/Pulumi.<stack>.yaml`).
    """
    problems = Problems()
    warnings: list[Problem] = []
    spec = parse_network(config, stack, problems, need_secrets=need_secrets, warnings=warnings)
    plan = _plan(spec, problems, warnings, previous) if spec is not None else None
    if plan is None and not problems:  # never expected: still no traceback
        problems.add(NETWORK_KEY, "unusable", "nothing to plan")
    problems.raise_if_any(config_source(config, stack, source))
    assert plan is not None
    return plan


def _plan(
    spec: NetworkSpec, p: Problems, warnings: list[Problem], previous: Mapping[str, Any] | None
) -> Plan | None:
    vpcs = {v.name: v for v in spec.vpcs}
    dcs = {d.name: d for d in spec.datacenters}
    routers = {r.ref: r for d in spec.datacenters for r in d.routers}
    vgws = {g.name: g for g in spec.vpn_gateways}
    tgws = {g.name: g for g in spec.transit_gateways}
    gone = spec.unparsed

    _check_unique_names(spec, p)
    vpc_plans = {v.name: _plan_vpc(v, p) for v in spec.vpcs}
    _check_overlaps(spec, vpc_plans, p)
    _check_supernets(spec, p)
    _check_routers(spec, p)

    for g in spec.vpn_gateways:
        if g.vpc not in vpcs and f"vpc:{g.vpc}" not in gone:
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
                if f"vpc:{vpc}" not in gone:
                    p.add(path, vpc, _missing("VPC", vpcs))
            elif tier not in {x.name for x in vpcs[vpc].tiers}:
                if not ({f"tier:{vpc}/{tier}", f"tier:{vpc}/*"} & gone):
                    p.add(f"{path}.tier", tier, f"VPC {vpc!r} has no such tier")
            elif vpcs[vpc].region != t.region:
                p.add(path, vpc, f"a transit gateway attaches VPCs of its own region {t.region}")

    _check_ingress(spec, p)
    for peer in spec.peerings:
        for side in ("requester", "accepter"):
            name = getattr(peer, side)
            if name not in vpcs and f"vpc:{name}" not in gone:
                p.add(f"{P}.peerings.{peer.name}.{side}", name, _missing("VPC", vpcs))
        if peer.requester == peer.accepter:
            p.add(f"{P}.peerings.{peer.name}", peer.requester, "a VPC cannot peer with itself")

    conns = []
    for c in spec.connections:
        cp = _plan_connection(c, spec, routers, dcs, vgws, tgws, vpcs, p)
        if cp is not None:
            conns.append(cp)
    _check_tunnels(conns, p, _previous_connections(previous))
    _check_quotas(conns, p)
    for r in routers.values():
        if (
            not any(c.router.key == r.key for c in conns)
            and not any(_router_ref(c) == r.ref for c in spec.connections)
            and f"uses-router:{r.ref}" not in gone
            and "section:connections" not in gone
        ):
            p.add(
                f"{P}.datacenters.{r.datacenter}.routers.{r.name}",
                r.ref,
                "a router with no connection gets no tunnels: add one under connections",
            )

    transit = {}
    broken_transit = set()
    for t in spec.transit_gateways:
        before = len(p)
        transit[t.name] = _plan_transit(t, spec, p)
        if len(p) > before or f"route-table:{t.name}" in gone:
            broken_transit.add(t.name)
    # Accepted prefixes of TGW connections depend on the route tables.
    planned = [_with_tgw_accept(c, transit, vpcs) for c in conns]
    for cplan in planned:
        vgw_vpc = vgws[cplan.spec.gateway].vpc if cplan.gateway_type == "vgw" else None
        if (
            not cplan.accept
            and cplan.spec.gateway not in broken_transit
            and (vgw_vpc is None or vgw_vpc in vpcs)
        ):
            p.add(
                f"{P}.connections.{cplan.name}",
                cplan.spec.gateway,
                "this connection would learn no AWS prefix: propagate a VPC attachment "
                "into the route table its VPN attachment is associated with",
            )
    vpc_routes = _vpc_routes(spec, planned, transit, vpcs)
    plan = Plan(spec, vpc_plans, vgws, transit, tuple(planned), spec.peerings, vpc_routes)
    _check_resource_names(plan, p)
    if p:
        return None
    warnings += _ingress_without_path(plan)
    warnings += _moved_subnets(plan, previous)
    return replace(plan, warnings=tuple(dict.fromkeys(warnings)))


def _router_ref(c: ConnectionSpec) -> str:
    """How a connection names its router: `<datacenter>/<router>`."""
    return c.router_ref or c.router.replace("-", "/", 1)


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
                v.cidr, list(v.azs), auto, [c for c in explicit if c in v.cidr], v.az_slots
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
    keys: dict[str, RouterSpec] = {}
    for d in spec.datacenters:
        if not d.routers and not any(x.startswith(f"router:{d.name}/") for x in spec.unparsed):
            p.add(f"{P}.datacenters.{d.name}.routers", "{}", "a datacenter needs a router")
        for r in d.routers:
            # The key names the router's configs, lab namespaces, outputs and
            # resources: two routers with one key would silently become one.
            other = keys.setdefault(r.key, r)
            if other is not r:
                p.add(
                    f"{P}.datacenters.{d.name}.routers.{r.name}",
                    r.key,
                    f"the same router key as {other.ref} (datacenters.{other.datacenter}"
                    f".routers.{other.name}): a router's key is '<datacenter>-<router>' and "
                    "must be unique; rename one of them",
                )
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
            seen[ip] = r.ref


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
                        f"not inside a planned datacenter prefix ({some(planned) or 'none'})",
                    )
            for j, tier in enumerate(rule.tiers):
                if tier not in tiers and not (
                    {f"tier:{v.name}/{tier}", f"tier:{v.name}/*"} & spec.unparsed
                ):
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
    gone = spec.unparsed

    def parsed(*options: str) -> bool:
        """True when none of these options fell back to a default on a parse problem."""
        return not any(f"option:{c.name}:{x}" in gone for x in options)

    if o.phase2.lifetime >= o.phase1.lifetime and parsed(
        "phase1.lifetimeSeconds", "phase2.lifetimeSeconds"
    ):
        p.add(
            f"{path}.tunnelOptions.phase2.lifetimeSeconds",
            o.phase2.lifetime,
            f"phase 2 lifetime must be below phase 1 ({o.phase1.lifetime})",
        )
    if o.rekey_margin > o.phase2.lifetime // 2 and parsed(
        "rekeyMarginSeconds", "phase2.lifetimeSeconds"
    ):
        p.add(
            f"{path}.tunnelOptions.rekeyMarginSeconds",
            o.rekey_margin,
            f"rekey margin is at most half of phase 2 lifetime ({o.phase2.lifetime // 2})",
        )
    if (
        o.startup_action == "start"
        and "ikev2" not in o.ike_versions
        and parsed("startupAction", "ikeVersions")
    ):
        p.add(f"{path}.tunnelOptions.startupAction", "start", "startup action 'start' needs ikev2")
    ref = _router_ref(c)
    router = routers.get(ref)
    if router is None and not (
        f"router:{ref}" in gone or f"datacenter:{ref.split('/')[0]}" in gone
    ):
        p.add(f"{path}.router", ref, _missing("router", routers))
    gw_type = "vgw" if c.gateway in vgws else "tgw" if c.gateway in tgws else None
    if gw_type is None and f"gateway:{c.gateway}" not in gone:
        p.add(f"{path}.gateway", c.gateway, _missing("gateway", {**vgws, **tgws}))
    for t in c.tunnels:
        tp = f"{path}.tunnel{t.number}"
        if t.inside_cidr is not None:
            why = aws.inside_cidr_violation(t.inside_cidr)
            if why:
                p.add(f"{tp}.insideCidr", str(t.inside_cidr), why)
        if t.inside_ipv6_cidr is not None:
            i6 = t.inside_ipv6_cidr
            if gw_type == "vgw":
                p.add(
                    f"{tp}.insideIpv6Cidr",
                    str(i6),
                    "IPv6 inside CIDRs need a transit gateway; a VGW has no IPv6",
                )
            elif gw_type == "tgw":
                # AWS's TunnelInsideIpVersion ipv6 makes the whole connection carry
                # IPv6 only (inside addresses, BGP and traffic). crossnet's VPCs,
                # datacenter prefixes, security groups and router configs are IPv4,
                # so such a connection would carry none of the planned traffic.
                p.add(
                    f"{tp}.insideIpv6Cidr",
                    str(i6),
                    "IPv6 tunnels are not supported yet: AWS's TunnelInsideIpVersion ipv6 "
                    "makes the connection carry IPv6 traffic only, and crossnet plans IPv4 "
                    "(VPCs, datacenter prefixes, security groups, router configs); leave "
                    "insideIpv6Cidr out",
                )
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
    if dc.asn == aws_asn and f"asn:{dc.name}" not in gone:
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


def _previous_connections(previous: Mapping[str, Any] | None) -> dict[str, dict[int, str]]:
    """Connection name -> tunnel number -> inside CIDR, from the last apply's snapshot."""
    conns = previous.get("connections") if isinstance(previous, Mapping) else None
    out: dict[str, dict[int, str]] = {}
    for name, c in (conns or {}).items() if isinstance(conns, Mapping) else ():
        tunnels = c.get("tunnels") if isinstance(c, Mapping) else None
        if isinstance(tunnels, Mapping):
            out[str(name)] = {
                int(n): str(t.get("insideCidr"))
                for n, t in tunnels.items()
                if str(n).isdigit() and isinstance(t, Mapping)
            }
    return out


def _check_tunnels(
    conns: list[ConnectionPlan], p: Problems, previous: dict[str, dict[int, str]]
) -> None:
    # AWS wants inside CIDRs unique per VGW/TGW; a router cannot hold the same
    # /30 on two tunnel interfaces either. Check both scopes.
    used = {t.inside_cidr for c in conns for t in c.tunnels}
    reported: set[frozenset[str]] = set()
    for scope in ("gateway", "router"):
        seen: dict[tuple[str, IPNetwork], tuple[ConnectionPlan, int]] = {}
        for c in conns:
            owner = c.spec.gateway if scope == "gateway" else c.router.key
            for t in c.tunnels:
                key = (owner, t.inside_cidr)
                if key not in seen:
                    seen[key] = (c, t.number)
                    continue
                first, n_first = seen[key]
                pair = frozenset({f"{first.name}.{n_first}", f"{c.name}.{t.number}"})
                if first.name != c.name:
                    pair = frozenset({first.name, c.name})
                if pair in reported:
                    continue
                reported.add(pair)
                _inside_collision(p, scope, owner, (first, n_first), (c, t.number), used, previous)


def _is_live(c: ConnectionPlan, n: int, previous: dict[str, dict[int, str]]) -> bool:
    """The tunnel had this very inside CIDR in the last apply."""
    return previous.get(c.name, {}).get(n) == str(c.tunnels[n - 1].inside_cidr)


def _inside_collision(
    p: Problems,
    scope: str,
    owner: str,
    a: tuple[ConnectionPlan, int],
    b: tuple[ConnectionPlan, int],
    used: set[IPNetwork],
    previous: dict[str, dict[int, str]],
) -> None:
    """Two tunnels in one scope share an inside /30: say which one to change.

    Changing the inside CIDRs of a live connection replaces its tunnels (new
    outside addresses and keys for the datacenter), so the advice is always
    about the connection being added: the one the last apply did not have,
    or else the one whose CIDR was allocated rather than written.
    """
    (ca, na), (cb, nb) = a, b
    explicit_a = ca.spec.tunnels[na - 1].inside_cidr is not None
    explicit_b = cb.spec.tunnels[nb - 1].inside_cidr is not None
    cidr = cb.tunnels[nb - 1].inside_cidr
    where = f"inside CIDRs are unique per {scope} {owner!r}"
    if ca.name == cb.name or (explicit_a and explicit_b):
        p.add(
            f"{P}.connections.{cb.name}.tunnel{nb}.insideCidr",
            str(cidr),
            f"also used by {ca.name}.tunnel{na} on {scope} {owner!r}; inside CIDRs are "
            f"unique per {scope} (set insideCidr explicitly to another /30)",
        )
        return
    live_a, live_b = _is_live(ca, na, previous), _is_live(cb, nb, previous)
    if live_a != live_b:
        (new, n_new, exp_new), (old, n_old) = (
            ((cb, nb, explicit_b), (ca, na)) if live_a else ((ca, na, explicit_a), (cb, nb))
        )
        known = True
    else:
        # No record of which is live: the allocated one moves (an explicit
        # CIDR was chosen on purpose), or the later name of two allocated ones.
        (new, n_new, exp_new), (old, n_old) = (
            ((ca, na, explicit_a), (cb, nb)) if explicit_b else ((cb, nb, explicit_b), (ca, na))
        )
        known = False
    block = free_inside_block(new.name, used)
    first, second = list(block.subnet(aws.INSIDE_V4_PREFIXLEN))[:2]
    if exp_new:
        how = f"also {old.name}.tunnel{n_old}'s inside CIDR"
        fix = f"give {new.name}.tunnel{n_new} another /30, such as {first} (free)"
        fix_unknown = fix
    else:
        how = (
            f"also {old.name}'s explicit insideCidr"
            if old.spec.tunnels[n_old - 1].inside_cidr is not None
            else f"{new.name} and {old.name} hash to the same /29 {inside_block_for(new.name)}"
        )
        fix = f"pin {new.name}: tunnel1 insideCidr {first}, tunnel2 {second} (free)"
        fix_unknown = f"pin it: tunnel1 insideCidr {first}, tunnel2 {second} (free)"
    if known:
        advice = (
            f"{new.name} is new and {old.name} live: {fix}; re-pinning {old.name} would "
            "replace its tunnels"
        )
    else:
        advice = (
            f"If {new.name} is the one being added, {fix_unknown}; if {old.name} is, pin that "
            "one instead (re-pinning a live connection replaces its tunnels)"
        )
    p.add(
        f"{P}.connections.{new.name}.tunnel{n_new}.insideCidr",
        str(cidr),
        f"{how}, and {where}. {advice}",
    )


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
                if (ref.startswith("vpn:") and f"connection:{ref[4:]}" in spec.unparsed) or (
                    f"attachment:{t.name}/{ref[4:]}" in spec.unparsed
                ):
                    continue  # its own parse problem says what is wrong
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
    routers = {r.ref: r for d in spec.datacenters for r in d.routers}
    static = []
    for rt in expanded:
        for ref in rt.propagations:
            conn = next((c for c in spec.connections if f"vpn:{c.name}" == ref), None)
            if conn is not None and conn.routing == "static" and _router_ref(conn) in routers:
                for prefix in dc_prefixes[routers[_router_ref(conn)].datacenter]:
                    static.append((rt.name, prefix, ref))
    # A TGW route table holds one static route per CIDR (AWS refuses a second:
    # RouteAlreadyExists), so two static connections cannot both carry a prefix.
    first: dict[tuple[str, IPNetwork], str] = {}
    for table, prefix, ref in static:
        other = first.setdefault((table, prefix), ref)
        if other != ref:
            p.add(
                f"{P}.connections.{ref[4:]}.routing",
                "static",
                f"{other[4:]} already needs the static route {prefix} in route table "
                f"{table!r} of {t.name}, which holds one static route per CIDR: use bgp "
                "for both (redundancy over several connections needs BGP on a TGW)",
            )
    return TransitPlan(t, tuple(expanded), association, tuple(static))


def _with_tgw_accept(
    c: ConnectionPlan, transit: dict[str, TransitPlan], vpcs: dict[str, VpcSpec]
) -> ConnectionPlan:
    if c.gateway_type == "tgw":
        tp = transit[c.spec.gateway]
        rt_name = tp.association.get(f"vpn:{c.name}")
        rt = next((r for r in tp.route_tables if r.name == rt_name), None)
        accept = tuple(
            vpcs[ref[4:]].cidr
            for ref in (rt.propagations if rt else ())
            if ref.startswith("vpc:") and ref[4:] in vpcs
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
            if vpc not in vpcs:
                continue
            rt_name = tp.association.get(f"vpc:{vpc}")
            rt = next((r for r in tp.route_tables if r.name == rt_name), None)
            if rt is None:
                continue
            dests: set[IPNetwork] = set()
            for ref in rt.propagations:
                for c in conns:
                    if ref == f"vpn:{c.name}":
                        dests |= set(c.announce)
                if ref.startswith("vpc:") and ref != f"vpc:{vpc}" and ref[4:] in vpcs:
                    dests.add(vpcs[ref[4:]].cidr)
            for dest in sorted(dests):
                routes.append(VpcRoute(vpc, dest, "tgw", tp.name))
    # Peering is not transitive: each side gets a route to the other's CIDR.
    for peer in spec.peerings:
        if peer.requester not in vpcs or peer.accepter not in vpcs:
            continue
        a, b = vpcs[peer.requester], vpcs[peer.accepter]
        routes.append(VpcRoute(a.name, b.cidr, "peering", peer.name))
        routes.append(VpcRoute(b.name, a.cidr, "peering", peer.name))
    return tuple(routes)


# ---------------------------------------------------------------- names
def customer_gateway_name(plan: Plan, c: ConnectionPlan) -> str:
    """One customer gateway per router and region: the router's key, plus the
    region when it is not the stack's default."""
    if c.region == plan.spec.default_region:
        return c.router.key
    return f"{c.router.key}-{c.region}"


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
    """Every resource `network.program.declare` declares for this plan (pure).

    The components build their names with the same `resource_name` calls;
    tests/unit/test_names.py checks this list against what they really
    declare, resource for resource.
    """
    out: list[PlannedResource] = []

    def add(parent: str, kind: str, name: str, origin: str) -> None:
        typ = _T.get(kind, kind)
        out.append(PlannedResource(f"{parent}${typ}" if parent else typ, name, origin))

    def rn(kind: str, parent: str, origin: str, *keys: str | int) -> None:
        add(parent, kind, resource_name(kind, *keys), origin)

    for region in plan.regions():
        add("", "pulumi:providers:aws", f"aws-{region}", f"region {region}")
    tiers_of = {n: [t.name for t in v.spec.tiers] for n, v in plan.vpcs.items()}
    for name, vp in sorted(plan.vpcs.items()):
        v, vo, comp = vp.spec, f"{P}.vpcs.{name}", component_token("Vpc")
        add("", comp, name, vo)
        rn("vpc", comp, vo, name)
        for tier in v.tiers:
            to = f"{vo}.tiers.{tier.name}"
            rn("rt", comp, to, name, tier.name)
            for sub in vp.tier_subnets(tier.name):
                rn("subnet", comp, f"{to} ({sub.az})", name, tier.name, sub.az)
                rn("rta", comp, f"{to} ({sub.az})", name, tier.name, sub.az)
            rn("sg", comp, to, name, tier.name)
            rn("sgr", comp, to, name, tier.name, "self")
            for flow in planned_flows(v.ingress, tier.name):
                rn("sgr", comp, f"{vo}.ingress ({tier.name})", name, tier.name, flow_key(*flow))
            rn("sge", comp, to, name, tier.name, "all")
    for g in plan.vpn_gateways.values():
        go, comp = f"{P}.vpnGateways.{g.name}", component_token("VpnGateway")
        add("", comp, g.name, go)
        rn("vgw", comp, go, g.name)
        for tname in sorted(tiers_of.get(g.vpc, [])):
            rn("vgw-prop", comp, go, g.name, tname)
    for tp in plan.transit.values():
        to, comp = f"{P}.transitGateways.{tp.name}", component_token("TransitHub")
        add("", comp, tp.name, to)
        rn("tgw", comp, to, tp.name)
        for rt in tp.route_tables:
            rn("tgw-rt", comp, f"{to}.routeTables.{rt.name}", tp.name, rt.name)
        for vpc, _tier in tp.spec.attachments:
            rn("tgw-att", comp, f"{to}.attachments.{vpc}", tp.name, vpc)
        for rt in tp.route_tables:
            rto = f"{to}.routeTables.{rt.name}"
            for kind, refs in (("tgw-assoc", rt.associations), ("tgw-prop", rt.propagations)):
                for ref in refs:
                    if ref.startswith("vpc:"):
                        rn(kind, comp, rto, tp.name, rt.name, ref.replace(":", "-"))
    done: set[str] = set()
    for c in plan.connections:
        cgw = customer_gateway_name(plan, c)
        if cgw not in done:
            done.add(cgw)
            ro = f"{P}.datacenters.{c.router.datacenter}.routers.{c.router.name}"
            comp = component_token("CustomerGateway")
            add("", comp, cgw, ro)
            rn("cgw", comp, ro, cgw)
    for c in plan.connections:
        co, comp = f"{P}.connections.{c.name}", component_token("SiteToSiteVpn")
        add("", comp, c.name, co)
        for t in c.tunnels:
            if t.psk is None:
                rn("psk", comp, f"{co}.tunnel{t.number}", c.name, t.number)
        rn("vpn", comp, co, c.name)
        if c.spec.routing == "static" and c.gateway_type == "vgw":
            for prefix in c.announce:
                rn("vpn-route", comp, co, c.name, slug(prefix))
    for peer in plan.peerings:
        po, comp = f"{P}.peerings.{peer.name}", component_token("VpcPeering")
        add("", comp, peer.name, po)
        rn("pcx", comp, po, peer.name)
        sides = [plan.vpcs.get(peer.requester), plan.vpcs.get(peer.accepter)]
        if None not in sides and sides[0].spec.region != sides[1].spec.region:  # type: ignore[union-attr]
            rn("pcx-accept", comp, po, peer.name)
        if peer.dns_resolution:
            for side in ("requester", "accepter"):
                rn("pcx-dns", comp, po, peer.name, side)
        for here in (peer.requester, peer.accepter):
            for tname in sorted(tiers_of.get(here, [])):
                rn("route", comp, po, here, tname, "pcx", peer.name)
    comp = component_token("Routing")
    add("", comp, "routing", P)
    for route in plan.vpc_routes:
        if route.target_kind != "tgw":
            continue
        ro = f"{P}.transitGateways.{route.target} (routes of {route.vpc})"
        for tname in sorted(tiers_of.get(route.vpc, [])):
            rn("route", comp, ro, route.vpc, tname, "tgw", slug(route.destination))
    for tp in plan.transit.values():
        to = f"{P}.transitGateways.{tp.name}"
        for rt in tp.route_tables:
            for kind, refs in (("tgw-assoc", rt.associations), ("tgw-prop", rt.propagations)):
                for ref in refs:
                    if ref.startswith("vpn:"):
                        rn(
                            kind,
                            comp,
                            f"{to}.routeTables.{rt.name}",
                            tp.name,
                            rt.name,
                            ref.replace(":", "-"),
                        )
        for table, prefix, ref in tp.static_routes:
            rn(
                "tgw-route",
                comp,
                f"{to}.routeTables.{table}",
                tp.name,
                table,
                ref[4:],
                slug(prefix),
            )
    return out


def _check_resource_names(plan: Plan, p: Problems) -> None:
    # The engine refuses a second resource with the same URN (type chain and
    # name); `resource_name` joins keys with '-', which names may contain.
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


# ---------------------------------------------------------------- warnings
def _ingress_without_path(plan: Plan) -> list[Problem]:
    """Rules admitting datacenter prefixes that cannot reach the VPC at all."""
    reach: dict[str, list[IPNetwork]] = defaultdict(list)
    for c in plan.connections:
        if c.gateway_type == "vgw":
            reach[plan.vpn_gateways[c.spec.gateway].vpc] += list(c.announce)
    for r in plan.vpc_routes:
        if r.target_kind == "tgw":
            reach[r.vpc].append(r.destination)
    out = []
    for v in plan.spec.vpcs:
        for i, rule in enumerate(v.ingress):
            for j, src in enumerate(rule.sources):
                if src.prefixlen and not any(src in d for d in reach[v.name]):
                    out.append(
                        Problem(
                            f"{P}.vpcs.{v.name}.ingress[{i}].from[{j}]",
                            str(src),
                            "admits traffic that cannot arrive: no VGW or TGW route joins this "
                            "VPC to the datacenter holding it (peering is not transitive); "
                            "connect the VPC or drop the rule",
                        )
                    )
    return out


def _moved_subnets(plan: Plan, previous: Mapping[str, Any] | None) -> list[Problem]:
    """Subnets whose CIDR differs from the last apply's: AWS replaces those."""
    before = previous.get("vpcs") if isinstance(previous, Mapping) else None
    if not isinstance(before, Mapping):
        return []
    out = []
    for name, vp in sorted(plan.vpcs.items()):
        old = before.get(name)
        subnets = old.get("subnets") if isinstance(old, Mapping) else None
        if not isinstance(subnets, Mapping):
            continue
        for s in vp.subnets:
            was = subnets.get(f"{s.tier}/{s.az}")
            if isinstance(was, str) and was != str(s.cidr):
                out.append(
                    Problem(
                        f"{P}.vpcs.{name}.tiers.{s.tier}",
                        f"{s.az} {was} -> {s.cidr}",
                        "moves a subnet of the last apply: AWS replaces it, and cannot while "
                        "anything runs in it; pin the applied CIDRs with `subnets:` or "
                        "reserve room with azSlots (docs/config.md, Allocation)",
                    )
                )
    return out
