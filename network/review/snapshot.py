"""A plan as plain JSON: what `crossnet diff` compares (pure).

The offline apply stores `plan_snapshot(plan)` under `"plan"` in
`state_dir(stack)/applied.json`; `crossnet diff` compares it with the snapshot
of the proposed config. The snapshot holds every address, ASN, route and
tunnel option, keyed by stable names (never list positions), and no secret:
a tunnel records where its pre-shared key comes from, never the key.

Shape (SNAPSHOT_VERSION 1), all keys sorted, all addresses as strings:

    {"snapshotVersion": 1, "stack": "prod", "defaultRegion": "us-east-1",
     "addressSpace": {"aws": [cidr], "datacenters": [cidr]},
     "vpcs": {name: {"region", "cidr", "azs": [az],
                     "subnets": {"<tier>/<az>": cidr}, "tiers": [tier],
                     "ingress": {tier: ["<proto> <ports> from <cidr>"]}}},
     "datacenters": {name: {"asn", "prefixes": [cidr],
                            "routers": {key: {"name", "publicIp", "platform"}}}},
     "vpnGateways": {name: {"vpc", "asn", "region"}},
     "transitGateways": {name: {"region", "asn", "ecmp",
                                "attachments": {vpc: tier},
                                "routeTables": {name: {"associations": [ref],
                                                       "propagations": [ref]}},
                                "staticRoutes": [{"table", "destination", "attachment"}]}},
     "connections": {name: {"router", "datacenter", "gateway", "gatewayType",
                            "region", "routing", "redundancy", "awsAsn", "customerAsn",
                            ["acceleration": true (only when on),]
                            "customerIp", "announce": [cidr], "accept": [cidr],
                            "maxPrefixesIn", "crypto": {...contract crypto record...},
                            "tunnels": {"1": {"insideCidr", "awsInside", "customerInside",
                                              "insideIpv6Cidr", "preference",
                                              "psk": "generated" | "config:<key>"}, "2": ...}}},
     "peerings": {name: {"requester", "accepter", "dnsResolution", "crossRegion"}},
     "vpcRoutes": {vpc: {destination: "tgw:<name>" | "peering:<name>"}},
     "vgwPropagation": {vpc: vgw}}
"""

from __future__ import annotations

from typing import Any

from network.contract import crypto_record
from network.model import IngressRule
from network.plan import Plan, customer_ip

SNAPSHOT_VERSION = 1


def _s(x: object) -> str:
    return str(x)


def ingress_flows(rules: tuple[IngressRule, ...], tier: str) -> list[str]:
    """The flows a tier admits from the datacenters, e.g. 'tcp 443 from 10.128.0.0/16'."""
    flows: set[str] = set()
    for rule in rules:
        if tier not in rule.tiers:
            continue
        for src in rule.sources:
            if rule.icmp:
                flows.add(f"icmp all from {src}")
            flows |= {f"tcp {p} from {src}" for p in rule.tcp}
            flows |= {f"udp {p} from {src}" for p in rule.udp}
    return sorted(flows)


def plan_snapshot(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready, secret-free dict (see the module docstring)."""
    spec = plan.spec
    vpcs = {
        name: {
            "region": v.spec.region,
            "cidr": _s(v.spec.cidr),
            "azs": list(v.spec.azs),
            "tiers": [t.name for t in v.spec.tiers],
            "subnets": {f"{s.tier}/{s.az}": _s(s.cidr) for s in v.subnets},
            "ingress": {t.name: ingress_flows(v.spec.ingress, t.name) for t in v.spec.tiers},
        }
        for name, v in sorted(plan.vpcs.items())
    }
    datacenters = {
        d.name: {
            "asn": d.asn,
            "prefixes": [_s(p) for p in d.prefixes],
            "routers": {
                r.key: {
                    "name": r.name,
                    "publicIp": _s(r.public_ip),
                    "platform": r.platform,
                    **({"routerId": _s(r.router_id)} if r.router_id is not None else {}),
                }
                for r in d.routers
            },
        }
        for d in spec.datacenters
    }
    vgws = {
        g.name: {
            "vpc": g.vpc,
            "asn": g.asn,
            "region": plan.vpcs[g.vpc].spec.region if g.vpc in plan.vpcs else None,
        }
        for g in plan.vpn_gateways.values()
    }
    tgws = {
        t.name: {
            "region": t.spec.region,
            "asn": t.spec.asn,
            "ecmp": t.spec.ecmp,
            "attachments": {vpc: tier for vpc, tier in t.spec.attachments},
            "routeTables": {
                rt.name: {
                    "associations": list(rt.associations),
                    "propagations": list(rt.propagations),
                }
                for rt in t.route_tables
            },
            "staticRoutes": [
                {"table": table, "destination": _s(p), "attachment": ref}
                for table, p, ref in t.static_routes
            ],
        }
        for t in plan.transit.values()
    }
    connections = {}
    for c in plan.connections:
        tunnels = {}
        for t in c.tunnels:
            source = c.spec.tunnels[t.number - 1].psk_source
            tunnels[str(t.number)] = {
                "insideCidr": _s(t.inside_cidr),
                "awsInside": _s(t.aws_inside),
                "customerInside": _s(t.customer_inside),
                "insideIpv6Cidr": _s(t.inside_ipv6_cidr) if t.inside_ipv6_cidr else None,
                "preference": t.preference,
                "psk": f"config:{source}" if source else "generated",
            }
        connections[c.name] = {
            "router": c.router.key,
            "datacenter": c.datacenter.name,
            "gateway": c.spec.gateway,
            "gatewayType": c.gateway_type,
            "region": c.region,
            "routing": c.spec.routing,
            **({"acceleration": True} if c.spec.acceleration else {}),
            "redundancy": c.redundancy,
            "awsAsn": c.aws_asn,
            "customerAsn": c.datacenter.asn,
            "customerIp": _s(customer_ip(c)),
            **({"customerGateway": c.name} if c.spec.public_ip is not None else {}),
            "announce": [_s(p) for p in c.announce],
            "accept": [_s(p) for p in c.accept],
            "maxPrefixesIn": c.max_prefixes_in,
            "crypto": crypto_record(c.options),
            "tunnels": tunnels,
        }
    peerings = {
        p.name: {
            "requester": p.requester,
            "accepter": p.accepter,
            "dnsResolution": p.dns_resolution,
            "crossRegion": plan.vpcs[p.requester].spec.region != plan.vpcs[p.accepter].spec.region,
        }
        for p in plan.peerings
    }
    routes: dict[str, dict[str, str]] = {}
    for r in plan.vpc_routes:
        routes.setdefault(r.vpc, {})[_s(r.destination)] = f"{r.target_kind}:{r.target}"
    return {
        "snapshotVersion": SNAPSHOT_VERSION,
        "stack": plan.stack,
        "defaultRegion": spec.default_region,
        "addressSpace": {
            "aws": [_s(n) for n in spec.aws_supernets],
            "datacenters": [_s(n) for n in spec.datacenter_supernets],
        },
        "vpcs": vpcs,
        "datacenters": datacenters,
        "vpnGateways": vgws,
        "transitGateways": tgws,
        "connections": connections,
        "peerings": peerings,
        "vpcRoutes": routes,
        "vgwPropagation": dict(sorted(plan.vgw_propagating().items())),
    }
