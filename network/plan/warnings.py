"""What is worth saying about a plan but not wrong (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from netaddr import IPNetwork

from network.errors import Problem
from network.plan.common import P
from network.plan.types import Plan

# ASNs AWS takes for a customer gateway but the IETF reserves: routers refuse
# them or treat them specially (Junos fails the commit on 65535 and 4294967295).
_IETF_RESERVED_ASNS = {
    23456: "AS_TRANS (RFC 6793), which 4-byte speakers send in place of an ASN a peer cannot take",
    65535: "the last 2-byte ASN, reserved by RFC 7300 (Junos refuses it at commit)",
    4294967295: "the last 4-byte ASN, reserved by RFC 7300 (Junos refuses it at commit)",
}


def reserved_asns(plan: Plan) -> list[Problem]:
    """Datacenter ASNs AWS accepts but the IETF reserves."""
    return [
        Problem(
            f"{P}.datacenters.{d.name}.asn",
            str(d.asn),
            f"is {_IETF_RESERVED_ASNS[d.asn]}: AWS takes it, routers may not; use a private "
            "ASN (64512-65534, 4200000000-4294967294)",
        )
        for d in plan.spec.datacenters
        if d.asn in _IETF_RESERVED_ASNS
    ]


def ingress_without_path(plan: Plan) -> list[Problem]:
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


def moved_subnets(plan: Plan, previous: Mapping[str, Any] | None) -> list[Problem]:
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
