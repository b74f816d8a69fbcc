"""Transit gateways: route tables with their references expanded, each
attachment's association, and the static routes of static connections (pure)."""

from __future__ import annotations

from netaddr import IPNetwork

from network.errors import Problems
from network.model import NetworkSpec, RouteTableSpec, TransitGatewaySpec
from network.plan.common import P, router_ref
from network.plan.types import TransitPlan

StaticRoute = tuple[str, IPNetwork, str]  # (route table, prefix, vpn:<connection>)


def plan_transit(t: TransitGatewaySpec, spec: NetworkSpec, p: Problems) -> TransitPlan:
    path = f"{P}.transitGateways.{t.name}"
    vpns = sorted(c.name for c in spec.connections if c.gateway == t.name)
    vpcs = [v for v, _ in t.attachments]
    tables = t.route_tables or (
        # The usual hub: VPCs reach the datacenters but not each other, and
        # the datacenters reach every VPC.
        RouteTableSpec("vpcs", tuple(f"vpc:{v}" for v in vpcs), ("vpn:*",)),
        RouteTableSpec("datacenters", ("vpn:*",), tuple(f"vpc:{v}" for v in vpcs)),
    )
    refs = _Refs(t, spec, vpns, {f"vpc:{v}" for v in vpcs} | {f"vpn:{c}" for c in vpns})
    expanded = []
    association: dict[str, str] = {}
    for rt in tables:
        assoc = refs.expand(rt.associations, f"{rt.name}.associations", p)
        prop = refs.expand(rt.propagations, f"{rt.name}.propagations", p)
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
    for ref in sorted(refs.known - set(association)):
        p.add(f"{path}.routeTables", ref, "attachment is associated with no route table")
    static = _static_routes(t, spec, expanded, p)
    return TransitPlan(t, tuple(expanded), association, tuple(static))


class _Refs:
    """Expands a route table's attachment references (`vpn:*` to every connection)."""

    def __init__(
        self, t: TransitGatewaySpec, spec: NetworkSpec, vpns: list[str], known: set[str]
    ) -> None:
        self.t, self.spec, self.vpns, self.known = t, spec, vpns, known

    def expand(self, refs: tuple[str, ...], where: str, p: Problems) -> tuple[str, ...]:
        out: list[str] = []
        for i, ref in enumerate(refs):
            if ref == "vpn:*":
                out += [f"vpn:{c}" for c in self.vpns]
            elif ref in self.known:
                out.append(ref)
            elif not self._unparsed(ref):  # else its own parse problem says what is wrong
                p.add(
                    f"{P}.transitGateways.{self.t.name}.routeTables.{where}[{i}]",
                    ref,
                    "not an attachment of this transit gateway; known: "
                    + ", ".join(sorted(self.known)),
                )
        return tuple(dict.fromkeys(out))

    def _unparsed(self, ref: str) -> bool:
        gone = self.spec.unparsed
        return (ref.startswith("vpn:") and f"connection:{ref[4:]}" in gone) or (
            f"attachment:{self.t.name}/{ref[4:]}" in gone
        )


def _static_routes(
    t: TransitGatewaySpec, spec: NetworkSpec, tables: list[RouteTableSpec], p: Problems
) -> list[StaticRoute]:
    dc_prefixes = {d.name: d.prefixes for d in spec.datacenters}
    routers = {r.ref: r for d in spec.datacenters for r in d.routers}
    static: list[StaticRoute] = []
    for rt in tables:
        for ref in rt.propagations:
            conn = next((c for c in spec.connections if f"vpn:{c.name}" == ref), None)
            if conn is not None and conn.routing == "static" and router_ref(conn) in routers:
                for prefix in dc_prefixes[routers[router_ref(conn)].datacenter]:
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
    return static
