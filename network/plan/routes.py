"""The routes each VPC's route tables need: via a transit gateway or a peering (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netaddr import IPNetwork

from network.model import NetworkSpec, VpcSpec
from network.plan.types import ConnectionPlan, TransitPlan, VpcRoute


def vpc_routes(
    spec: NetworkSpec,
    conns: Sequence[ConnectionPlan],
    transit: Mapping[str, TransitPlan],
    vpcs: Mapping[str, VpcSpec],
) -> tuple[VpcRoute, ...]:
    routes: list[VpcRoute] = []
    for tp in transit.values():
        routes += _tgw_routes(tp, conns, vpcs)
    # Peering is not transitive: each side gets a route to the other's CIDR.
    for peer in spec.peerings:
        if peer.requester not in vpcs or peer.accepter not in vpcs:
            continue
        a, b = vpcs[peer.requester], vpcs[peer.accepter]
        routes.append(VpcRoute(a.name, b.cidr, "peering", peer.name))
        routes.append(VpcRoute(b.name, a.cidr, "peering", peer.name))
    return tuple(routes)


def _tgw_routes(
    tp: TransitPlan, conns: Sequence[ConnectionPlan], vpcs: Mapping[str, VpcSpec]
) -> list[VpcRoute]:
    """Each attached VPC reaches the datacenters whose VPN attachments propagate
    (BGP) or are routed statically into its table, and the VPCs propagating there."""
    routes = []
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
        routes += [VpcRoute(vpc, dest, "tgw", tp.name) for dest in sorted(dests)]
    return routes
