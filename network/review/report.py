"""The address plan as review tables, and what is still free (pure).

`supernet_usage` and `vpc_free_space` return data; `plan_tables` turns a whole
`Plan` into `Table`s that `tables.render_text` / `render_markdown` print. Nothing
here prints a pre-shared key: a tunnel shows only where its key comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPNetwork

from network.allocate import free_space
from network.model import Phase
from network.plan import ConnectionPlan, Plan
from network.review.tables import Table

# AWS keeps the network address, the VPC router (+1), DNS (+2), a reserved
# address (+3) and the broadcast address of every subnet.
AWS_RESERVED_PER_SUBNET = 5
# In a terminal, long lists of free fragments are cut to this many per cell
# (the "largest free" column still names the biggest block); Markdown lists all.
MAX_LISTED = 6


@dataclass(frozen=True)
class SupernetUse:
    """One `addressSpace` supernet: what sits in it and what is left."""

    scope: str  # "aws" | "datacenters"
    supernet: IPNetwork
    used: tuple[tuple[str, IPNetwork], ...]  # (owner, cidr)
    free: tuple[IPNetwork, ...]

    @property
    def free_addresses(self) -> int:
        return sum(n.size for n in self.free)

    @property
    def largest_free(self) -> IPNetwork | None:
        return largest(self.free)


def largest(nets: tuple[IPNetwork, ...] | list[IPNetwork]) -> IPNetwork | None:
    """The biggest free block (the lowest one among equals); None when nothing is free.

    Free space comes as CIDR-aligned blocks, so the biggest is the shortest prefix.
    """
    return min(nets, key=lambda n: (n.prefixlen, n.first)) if nets else None


def supernet_usage(plan: Plan) -> list[SupernetUse]:
    """Every configured supernet with its VPCs or datacenter prefixes, and the free CIDRs."""
    spec = plan.spec
    out: list[SupernetUse] = []
    vpcs = [(f"vpc {v.name}", v.cidr) for v in spec.vpcs]
    prefixes = [(f"dc {d.name}", p) for d in spec.datacenters for p in d.prefixes]
    for scope, supers, owned in (
        ("aws", spec.aws_supernets, vpcs),
        ("datacenters", spec.datacenter_supernets, prefixes),
    ):
        for s in supers:
            used = tuple(sorted(((o, c) for o, c in owned if c in s), key=lambda x: x[1]))
            out.append(SupernetUse(scope, s, used, tuple(free_space(s, [c for _, c in used]))))
    return out


def vpc_free_space(plan: Plan) -> dict[str, tuple[IPNetwork, ...]]:
    """VPC name -> the CIDRs of the VPC that no subnet uses."""
    return {
        name: tuple(free_space(v.spec.cidr, [s.cidr for s in v.subnets]))
        for name, v in sorted(plan.vpcs.items())
    }


def _cidrs(nets: tuple[IPNetwork, ...] | list[IPNetwork], limit: int | None = MAX_LISTED) -> str:
    """Free CIDRs in address order; with a limit, the rest is counted, not listed."""
    if not nets:
        return "none"
    cut = list(nets) if limit is None else list(nets)[:limit]
    more = len(nets) - len(cut)
    return ", ".join(str(n) for n in cut) + (f" (+{more} more)" if more > 0 else "")


def _cut_note(limit: int | None, counts: list[int]) -> str:
    if limit is None or all(n <= limit for n in counts):
        return ""
    return (
        f"free CIDRs in address order, the first {limit} per row; "
        "`--format markdown` lists them all"
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _psk_source(source: str | None) -> str:
    # Only where the key comes from, never the key.
    return f"config {source}" if source else "generated at apply"


def _crypto(c: ConnectionPlan) -> tuple[str, str, str, str, str]:
    o = c.options

    def phase(p: Phase) -> str:
        dh = "/".join(str(g) for g in p.dh_groups)
        return f"{'/'.join(p.encryption)} {'/'.join(p.integrity)} DH {dh}, {p.lifetime} s"

    return (
        "/".join(o.ike_versions),
        phase(o.phase1),
        phase(o.phase2),
        f"{o.dpd_timeout} s, {o.dpd_action}",
        o.startup_action,
    )


def plan_tables(plan: Plan, list_all: bool = False) -> list[Table]:
    """The whole address plan of a stack as review tables.

    `list_all` lists every free CIDR (for Markdown); otherwise a cell shows the
    first MAX_LISTED in address order and counts the rest.
    """
    spec = plan.spec
    limit = None if list_all else MAX_LISTED
    tables: list[Table] = []

    usage = supernet_usage(plan)
    tables.append(
        Table.of(
            "Address space (addressSpace) and what is free",
            ("scope", "supernet", "in use", "free addresses", "largest free", "free CIDRs"),
            [
                (
                    u.scope,
                    u.supernet,
                    ", ".join(f"{c} ({o})" for o, c in u.used) or "nothing",
                    f"{u.free_addresses} ({_pct(u.free_addresses, u.supernet.size)})",
                    u.largest_free or "-",
                    _cidrs(list(u.free), limit),
                )
                for u in usage
            ],
            note=(
                _cut_note(limit, [len(u.free) for u in usage])
                if usage
                else "no addressSpace in the stack config: nothing to measure against"
            ),
        )
    )

    free = vpc_free_space(plan)
    vpc_rows = []
    for v in sorted(plan.vpcs.values(), key=lambda v: v.name):
        left = sum(n.size for n in free[v.name])
        vpc_rows.append(
            (
                v.name,
                v.spec.region,
                v.spec.cidr,
                " ".join(v.spec.azs),
                " ".join(t.name for t in v.spec.tiers),
                f"{left} ({_pct(left, v.spec.cidr.size)})",
                largest(free[v.name]) or "-",
                _cidrs(list(free[v.name]), limit),
            )
        )
    tables.append(
        Table.of(
            "VPCs",
            (
                "vpc",
                "region",
                "cidr",
                "azs",
                "tiers",
                "free addresses",
                "largest free",
                "free CIDRs",
            ),
            vpc_rows,
            note=_cut_note(limit, [len(f) for f in free.values()]),
        )
    )
    tables.append(
        Table.of(
            "Subnets per AZ",
            ("vpc", "tier", "az", "cidr", "usable"),
            [
                (s.vpc, s.tier, s.az, s.cidr, s.cidr.size - AWS_RESERVED_PER_SUBNET)
                for v in sorted(plan.vpcs.values(), key=lambda v: v.name)
                for s in v.subnets
            ],
            note=(
                f"usable = addresses less the {AWS_RESERVED_PER_SUBNET} AWS reserves "
                "in every subnet"
            ),
        )
    )
    tables.append(
        Table.of(
            "Datacenters",
            ("datacenter", "asn", "prefixes", "router", "platform", "public ip"),
            [
                (d.name, d.asn, ", ".join(map(str, d.prefixes)), r.name, r.platform, r.public_ip)
                for d in spec.datacenters
                for r in d.routers
            ],
        )
    )

    gw_rows: list[tuple[object, ...]] = [
        (
            "vgw",
            g.name,
            plan.vpcs[g.vpc].spec.region if g.vpc in plan.vpcs else "",
            g.asn,
            f"vpc {g.vpc}",
            "no (one tunnel at a time)",
        )
        for g in sorted(plan.vpn_gateways.values(), key=lambda g: g.name)
    ]
    gw_rows += [
        (
            "tgw",
            t.name,
            t.spec.region,
            t.spec.asn,
            ", ".join(f"vpc {v} ({tier})" for v, tier in t.spec.attachments),
            "yes" if t.spec.ecmp else "no",
        )
        for t in sorted(plan.transit.values(), key=lambda t: t.name)
    ]
    tables.append(
        Table.of(
            "Gateways and ASNs",
            ("type", "gateway", "region", "aws asn", "attached", "vpn ecmp"),
            gw_rows,
        )
    )

    conns = sorted(plan.connections, key=lambda c: (c.router.key, c.name))
    tables.append(
        Table.of(
            "Tunnel inside CIDRs per router",
            (
                "router",
                "connection",
                "gateway",
                "tunnel",
                "inside cidr",
                "aws inside",
                "router inside",
                "ipv6 inside",
                "role",
                "pre-shared key",
            ),
            [
                (
                    c.router.key,
                    c.name,
                    f"{c.spec.gateway} ({c.gateway_type})",
                    t.number,
                    t.inside_cidr,
                    t.aws_inside,
                    t.customer_inside,
                    t.inside_ipv6_cidr or "-",
                    t.preference,
                    _psk_source(c.spec.tunnels[t.number - 1].psk_source),
                )
                for c in conns
                for t in c.tunnels
            ],
            note="AWS takes the first host of each /30, the router the second",
        )
    )
    tables.append(
        Table.of(
            "BGP sessions and prefixes",
            (
                "router",
                "connection",
                "routing",
                "router asn",
                "aws asn",
                "announces",
                "accepts",
                "max prefixes in",
                "redundancy",
            ),
            [
                (
                    c.router.key,
                    c.name,
                    c.spec.routing,
                    c.datacenter.asn if c.spec.routing == "bgp" else "-",
                    c.aws_asn if c.spec.routing == "bgp" else "-",
                    ", ".join(map(str, c.announce)),
                    ", ".join(map(str, c.accept)),
                    c.max_prefixes_in,
                    c.redundancy,
                )
                for c in conns
            ],
            note="AWS accepts at most 100 prefixes from a router; the router caps what it "
            "learns at 'max prefixes in'",
        )
    )
    tables.append(
        Table.of(
            "Tunnel crypto",
            ("connection", "ike", "phase 1", "phase 2", "dpd", "startup"),
            [(c.name, *_crypto(c)) for c in conns],
        )
    )

    route_rows: list[tuple[object, ...]] = [
        (r.vpc, r.destination, f"{r.target_kind} {r.target}")
        for r in sorted(plan.vpc_routes, key=lambda r: (r.vpc, r.destination))
    ]
    for vpc, vgw in sorted(plan.vgw_propagating().items()):
        route_rows.append((vpc, "datacenter prefixes", f"propagated from vgw {vgw}"))
    tables.append(
        Table.of(
            "VPC routes",
            ("vpc", "destination", "via"),
            route_rows,
            note="every route table of the VPC carries these routes",
        )
    )
    tgw_rows: list[tuple[object, ...]] = []
    for t in sorted(plan.transit.values(), key=lambda t: t.name):
        for rt in t.route_tables:
            static = [f"{p} -> {ref}" for table, p, ref in t.static_routes if table == rt.name]
            tgw_rows.append(
                (
                    t.name,
                    rt.name,
                    ", ".join(rt.associations),
                    ", ".join(rt.propagations) or "-",
                    ", ".join(static) or "-",
                )
            )
    if tgw_rows:
        tables.append(
            Table.of(
                "Transit gateway route tables",
                ("tgw", "table", "associated", "propagated", "static routes"),
                tgw_rows,
            )
        )
    if plan.peerings:
        tables.append(
            Table.of(
                "VPC peering",
                ("peering", "requester", "accepter", "cross-region", "dns"),
                [
                    (
                        p.name,
                        p.requester,
                        p.accepter,
                        "yes"
                        if plan.vpcs[p.requester].spec.region != plan.vpcs[p.accepter].spec.region
                        else "no",
                        "yes" if p.dns_resolution else "no",
                    )
                    for p in plan.peerings
                ],
            )
        )
    return tables
