"""The plan's whole-network checks: names, overlaps, supernets, routers,
gateways, peerings, ingress, ASNs and quotas (pure).

Each adds every problem it finds to the shared `Problems`, naming the field,
the value and the rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

from netaddr import IPAddress, IPNetwork

from network import aws_rules as aws
from network.errors import Problems, some
from network.model import NetworkSpec, RouterSpec
from network.plan.common import P, missing, router_ref
from network.plan.types import ConnectionPlan, SpecIndex, VpcPlan
from network.vpc_flows import planned_flows

# RFC 6598 carrier-grade NAT space: not reachable from AWS either.
_SHARED_CGN = IPNetwork("100.64.0.0/10")


def check_unique_names(spec: NetworkSpec, p: Problems) -> None:
    gateways = [g.name for g in spec.vpn_gateways] + [g.name for g in spec.transit_gateways]
    for name in {n for n in gateways if gateways.count(n) > 1}:
        p.add(f"{P}.transitGateways.{name}", name, "a gateway name is used by a VGW and a TGW")


def check_overlaps(spec: NetworkSpec, vpcs: dict[str, VpcPlan], p: Problems) -> None:
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


def check_supernets(spec: NetworkSpec, p: Problems) -> None:
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


def check_routers(spec: NetworkSpec, p: Problems) -> None:
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
            _check_public_ip(r, seen, p)


def _check_public_ip(r: RouterSpec, seen: dict[IPAddress, str], p: Problems) -> None:
    path = f"{P}.datacenters.{r.datacenter}.routers.{r.name}.publicIp"
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


def _not_public(ip: IPAddress) -> bool:
    return bool(
        ip.is_ipv4_private_use()
        or ip in _SHARED_CGN
        or ip.is_loopback()
        or ip.is_link_local()
        or ip.is_multicast()
    )


def check_customer_ips(conns: Sequence[ConnectionPlan], p: Problems) -> None:
    """A connection's own address (`publicIp`) is public; a VGW takes one connection per
    customer gateway address (a transit gateway takes several)."""
    seen: dict[tuple[str, str], str] = {}
    for c in conns:
        ip = c.spec.public_ip if c.spec.public_ip is not None else c.router.public_ip
        path = f"{P}.connections.{c.name}.publicIp"
        if c.spec.public_ip is not None and _not_public(ip):
            p.add(path, str(ip), "a customer gateway needs a public, routable address")
        if c.gateway_type != "vgw":
            continue
        other = seen.setdefault((c.spec.gateway, str(ip)), c.name)
        if other != c.name:
            p.add(
                path if c.spec.public_ip is not None else f"{P}.connections.{c.name}.router",
                str(ip),
                f"also {other}'s customer gateway address on VGW {c.spec.gateway!r}: a VGW takes "
                "one VPN connection per customer gateway address (a transit gateway several)",
            )


def check_vpn_gateways(ix: SpecIndex, p: Problems) -> None:
    """Each VGW on a known VPC, and one VGW per VPC."""
    by_vpc: dict[str, list[str]] = defaultdict(list)
    for g in ix.spec.vpn_gateways:
        if g.vpc not in ix.vpcs and f"vpc:{g.vpc}" not in ix.gone:
            p.add(f"{P}.vpnGateways.{g.name}.vpc", g.vpc, missing("VPC", ix.vpcs))
        by_vpc[g.vpc].append(g.name)
    for vpc, names in by_vpc.items():
        if len(names) > 1:
            p.add(
                f"{P}.vpnGateways",
                names,
                f"VPC {vpc!r} can have one VGW attached, not {len(names)}",
            )


def check_tgw_attachments(ix: SpecIndex, p: Problems) -> None:
    """Each attachment names a known VPC of the TGW's region and one of its tiers."""
    for t in ix.spec.transit_gateways:
        for vpc, tier in t.attachments:
            path = f"{P}.transitGateways.{t.name}.attachments.{vpc}"
            if vpc not in ix.vpcs:
                if f"vpc:{vpc}" not in ix.gone:
                    p.add(path, vpc, missing("VPC", ix.vpcs))
            elif tier not in {x.name for x in ix.vpcs[vpc].tiers}:
                if not ({f"tier:{vpc}/{tier}", f"tier:{vpc}/*"} & ix.gone):
                    p.add(f"{path}.tier", tier, f"VPC {vpc!r} has no such tier")
            elif ix.vpcs[vpc].region != t.region:
                p.add(path, vpc, f"a transit gateway attaches VPCs of its own region {t.region}")


def check_peerings(ix: SpecIndex, p: Problems) -> None:
    for peer in ix.spec.peerings:
        for side in ("requester", "accepter"):
            name = getattr(peer, side)
            if name not in ix.vpcs and f"vpc:{name}" not in ix.gone:
                p.add(f"{P}.peerings.{peer.name}.{side}", name, missing("VPC", ix.vpcs))
        if peer.requester == peer.accepter:
            p.add(f"{P}.peerings.{peer.name}", peer.requester, "a VPC cannot peer with itself")


def check_ingress(spec: NetworkSpec, p: Problems) -> None:
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


def check_unused_routers(ix: SpecIndex, conns: Sequence[ConnectionPlan], p: Problems) -> None:
    """A router that no connection uses gets no tunnels: say so."""
    for r in ix.routers.values():
        if (
            not any(c.router.key == r.key for c in conns)
            and not any(router_ref(c) == r.ref for c in ix.spec.connections)
            and f"uses-router:{r.ref}" not in ix.gone
            and "section:connections" not in ix.gone
        ):
            p.add(
                f"{P}.datacenters.{r.datacenter}.routers.{r.name}",
                r.ref,
                "a router with no connection gets no tunnels: add one under connections",
            )


def check_customer_asns(ix: SpecIndex, conns: Sequence[ConnectionPlan], p: Problems) -> None:
    """No datacenter uses an ASN that AWS reserves in a region its gateways are in."""
    regions: dict[str, set[str]] = defaultdict(set)
    for c in conns:
        regions[c.datacenter.name].add(c.region)
    for d in ix.spec.datacenters:
        if f"asn:{d.name}" in ix.gone:
            continue
        for region in sorted(regions.get(d.name) or {ix.spec.default_region}):
            if aws.reserved_customer_asn(d.asn, region):
                p.add(
                    f"{P}.datacenters.{d.name}.asn",
                    d.asn,
                    aws.reserved_customer_asn_rule(d.asn, region),
                )
                break


def check_learns_something(
    ix: SpecIndex, planned: Sequence[ConnectionPlan], broken_transit: set[str], p: Problems
) -> None:
    """Every connection learns at least one AWS prefix (a TGW's from its route tables)."""
    for cplan in planned:
        vgw_vpc = ix.vgws[cplan.spec.gateway].vpc if cplan.gateway_type == "vgw" else None
        if (
            not cplan.accept
            and cplan.spec.gateway not in broken_transit
            and (vgw_vpc is None or vgw_vpc in ix.vpcs)
        ):
            p.add(
                f"{P}.connections.{cplan.name}",
                cplan.spec.gateway,
                "this connection would learn no AWS prefix: propagate a VPC attachment "
                "into the route table its VPN attachment is associated with",
            )


def check_quotas(conns: Sequence[ConnectionPlan], p: Problems) -> None:
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
