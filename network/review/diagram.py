"""The stack's topology as SVG, laid out by Graphviz's `dot`.

`topology_graph` builds the DOT description from a `Plan` (pure: the graphviz
binding only assembles source text); `render_svg` runs `dot` on it. Left to
right: datacenters with their routers, one edge per tunnel (labelled with its
inside CIDR and the BGP session or static routing), the VGWs and TGWs, and the
VPCs with their CIDRs; peerings join VPCs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from network.errors import CrossnetError
from network.plan import Plan

if TYPE_CHECKING:
    import graphviz

# `crossnet diagram` is the only command that needs them: neither the binding nor
# the `dot` binary is imported or looked for before it runs.
MISSING_BINDING = (
    "crossnet diagram needs the graphviz Python package "
    "(pip install -r requirements.txt, or pip install 'graphviz>=0.20,<1')"
)
MISSING_DOT = "Graphviz 'dot' is not installed (Debian: apt-get install graphviz)"

FONT = "Helvetica"
# Tunnel edges: an ECMP or primary tunnel is drawn solid, a standby tunnel dashed.
STYLE = {"equal": "solid", "primary": "solid", "secondary": "dashed"}
COLOR = {"bgp": "#1f6feb", "static": "#8250df"}


def _id(kind: str, name: str) -> str:
    # No ':' in node ids: DOT would read it as a port.
    return f"{kind}__{name}"


def _binding() -> Any:
    try:
        import graphviz
    except ImportError:
        raise CrossnetError(MISSING_BINDING) from None
    return graphviz


def topology_graph(plan: Plan) -> graphviz.Digraph:
    """The DOT graph of a plan: clusters per datacenter and per AWS region."""
    g = _binding().Digraph(f"crossnet-{plan.stack}", format="svg")
    g.attr(
        rankdir="LR",
        fontname=FONT,
        labelloc="t",
        nodesep="0.35",
        ranksep="1.6",
        label=f"crossnet stack {plan.stack}",
    )
    g.attr("node", fontname=FONT, fontsize="11", shape="box", style="rounded,filled")
    g.attr("edge", fontname=FONT, fontsize="9")
    _datacenters(g, plan)
    for region in plan.regions():
        _region(g, plan, region)
    _tunnels(g, plan)
    _gateway_links(g, plan)
    return g


def _datacenters(g: graphviz.Digraph, plan: Plan) -> None:
    for d in plan.spec.datacenters:
        with g.subgraph(name=f"cluster_dc_{d.name}") as c:
            prefixes = ", ".join(str(p) for p in d.prefixes)
            c.attr(
                label=f"datacenter {d.name}  (AS {d.asn})\n{prefixes}",
                style="rounded",
                color="#57606a",
                bgcolor="#f6f8fa",
            )
            for r in d.routers:
                c.node(
                    _id("router", r.key),
                    f"router {r.key}\n{r.platform}  {r.public_ip}",
                    fillcolor="#ffffff",
                )


def _region(g: graphviz.Digraph, plan: Plan, region: str) -> None:
    with g.subgraph(name=f"cluster_aws_{region}") as c:
        c.attr(label=f"AWS {region}", style="rounded", color="#bf8700", bgcolor="#fff8e5")
        for v in sorted(plan.vpcs.values(), key=lambda v: v.name):
            if v.spec.region == region:
                azs = len(v.spec.azs)
                c.node(
                    _id("vpc", v.name),
                    f"VPC {v.name}\n{v.spec.cidr}\n{azs} AZs",
                    fillcolor="#dafbe1",
                )
        for gw in sorted(plan.vpn_gateways.values(), key=lambda x: x.name):
            vpc = plan.vpcs.get(gw.vpc)
            if vpc is not None and vpc.spec.region == region:
                c.node(
                    _id("gw", gw.name),
                    f"VGW {gw.name}\nAS {gw.asn}\none tunnel at a time",
                    shape="hexagon",
                    fillcolor="#ddf4ff",
                )
        for t in sorted(plan.transit.values(), key=lambda x: x.name):
            if t.spec.region == region:
                ecmp = "ECMP" if t.spec.ecmp else "no ECMP"
                c.node(
                    _id("gw", t.name),
                    f"TGW {t.name}\nAS {t.spec.asn}, {ecmp}",
                    shape="doubleoctagon",
                    fillcolor="#ddf4ff",
                )


def _tunnels(g: graphviz.Digraph, plan: Plan) -> None:
    for conn in sorted(plan.connections, key=lambda c: c.name):
        routing = conn.spec.routing
        for tun in conn.tunnels:
            session = (
                f"BGP {conn.datacenter.asn} <-> {conn.aws_asn}" if routing == "bgp" else "static"
            )
            role = {"primary": " (active)", "secondary": " (standby)"}.get(tun.preference, "")
            g.edge(
                _id("router", conn.router.key),
                _id("gw", conn.spec.gateway),
                label=f"{conn.name} t{tun.number}{role}\n{tun.inside_cidr}\n{session}",
                style=STYLE.get(tun.preference, "solid"),
                color=COLOR.get(routing, "black"),
                dir="both",
                arrowhead="none",
                arrowtail="none",
            )


def _gateway_links(g: graphviz.Digraph, plan: Plan) -> None:
    for gw in sorted(plan.vpn_gateways.values(), key=lambda x: x.name):
        if gw.vpc in plan.vpcs:
            g.edge(
                _id("gw", gw.name),
                _id("vpc", gw.vpc),
                label="attached, propagates",
                arrowhead="none",
                color="#57606a",
            )
    for tp in sorted(plan.transit.values(), key=lambda x: x.name):
        for vname, tier in tp.spec.attachments:
            table = tp.association.get(f"vpc:{vname}", "-")
            g.edge(
                _id("gw", tp.name),
                _id("vpc", vname),
                label=f"{tier} subnets, rt {table}",
                arrowhead="none",
                color="#57606a",
            )
    for p in plan.peerings:
        cross = plan.vpcs[p.requester].spec.region != plan.vpcs[p.accepter].spec.region
        g.edge(
            _id("vpc", p.requester),
            _id("vpc", p.accepter),
            label=f"peering {p.name}" + (" (inter-region)" if cross else ""),
            style="dashed",
            dir="none",
            color="#cf222e",
        )


def render_svg(plan: Plan) -> str:
    """The plan's topology as an SVG document (runs Graphviz `dot`)."""
    graph = topology_graph(plan)
    try:
        return str(graph.pipe(format="svg", encoding="utf-8"))
    except _binding().ExecutableNotFound:
        raise CrossnetError(MISSING_DOT) from None
