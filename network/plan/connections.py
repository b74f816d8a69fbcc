"""Site-to-Site VPN connections: options, gateways, tunnels and their inside
CIDRs, collisions between them, and the prefixes each side accepts (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from netaddr import IPNetwork

from network import aws_rules as aws
from network.allocate import free_inside_block, inside_block_for, inside_cidr_for
from network.errors import Problems
from network.model import ConnectionSpec, DatacenterSpec, RouterSpec
from network.plan.common import P, missing, router_ref
from network.plan.types import ConnectionPlan, SpecIndex, TransitPlan, TunnelPlan


def plan_connection(c: ConnectionSpec, ix: SpecIndex, p: Problems) -> ConnectionPlan | None:
    """The connection's plan, or None when its router or gateway is unknown."""
    path = f"{P}.connections.{c.name}"
    _check_options(c, ix.gone, p)
    ref = router_ref(c)
    router = ix.routers.get(ref)
    if router is None and not (
        f"router:{ref}" in ix.gone or f"datacenter:{ref.split('/')[0]}" in ix.gone
    ):
        p.add(f"{path}.router", ref, missing("router", ix.routers))
    gw_type = "vgw" if c.gateway in ix.vgws else "tgw" if c.gateway in ix.tgws else None
    if gw_type is None and f"gateway:{c.gateway}" not in ix.gone:
        p.add(f"{path}.gateway", c.gateway, missing("gateway", {**ix.vgws, **ix.tgws}))
    _check_inside_cidrs(c, gw_type, p)
    if c.acceleration and gw_type == "vgw":
        # CreateVpnConnection's EnableAcceleration: "only for a VPN connection attached to a
        # transit gateway" (AWS's accelerated Site-to-Site VPN page).
        p.add(
            f"{path}.acceleration",
            True,
            f"acceleration needs a transit gateway; {c.gateway!r} is a virtual private gateway",
        )
    if router is None or gw_type is None:
        return None
    return _connection_plan(c, router, gw_type, ix, p)


def _check_options(c: ConnectionSpec, gone: frozenset[str], p: Problems) -> None:
    """The rules that join two tunnel options (each option's own range is the parser's)."""
    path = f"{P}.connections.{c.name}.tunnelOptions"
    o = c.options

    def parsed(*options: str) -> bool:
        """True when none of these options fell back to a default on a parse problem."""
        return not any(f"option:{c.name}:{x}" in gone for x in options)

    checks = (
        (
            "phase2.lifetimeSeconds",
            o.phase2.lifetime,
            aws.phase2_lifetime_violation(o.phase1.lifetime, o.phase2.lifetime),
            ("phase1.lifetimeSeconds", "phase2.lifetimeSeconds"),
        ),
        (
            "rekeyMarginSeconds",
            o.rekey_margin,
            aws.rekey_margin_violation(o.rekey_margin, o.phase2.lifetime),
            ("rekeyMarginSeconds", "phase2.lifetimeSeconds"),
        ),
        (
            "startupAction",
            o.startup_action,
            aws.startup_action_violation(o.startup_action, o.ike_versions),
            ("startupAction", "ikeVersions"),
        ),
    )
    for field, value, why, needs in checks:
        if why and parsed(*needs):
            p.add(f"{path}.{field}", value, why)


def _check_inside_cidrs(c: ConnectionSpec, gw_type: str | None, p: Problems) -> None:
    for t in c.tunnels:
        tp = f"{P}.connections.{c.name}.tunnel{t.number}"
        if t.inside_cidr is not None:
            why = aws.inside_cidr_violation(t.inside_cidr)
            if why:
                p.add(f"{tp}.insideCidr", str(t.inside_cidr), why)
        if t.inside_ipv6_cidr is None or gw_type is None:
            continue
        if gw_type == "vgw":
            p.add(
                f"{tp}.insideIpv6Cidr",
                str(t.inside_ipv6_cidr),
                "IPv6 inside CIDRs need a transit gateway; a VGW has no IPv6",
            )
        else:
            # AWS's TunnelInsideIpVersion ipv6 makes the whole connection carry
            # IPv6 only (inside addresses, BGP and traffic). crossnet's VPCs,
            # datacenter prefixes, security groups and router configs are IPv4,
            # so such a connection would carry none of the planned traffic.
            p.add(
                f"{tp}.insideIpv6Cidr",
                str(t.inside_ipv6_cidr),
                "IPv6 tunnels are not supported yet: AWS's TunnelInsideIpVersion ipv6 "
                "makes the connection carry IPv6 traffic only, and crossnet plans IPv4 "
                "(VPCs, datacenter prefixes, security groups, router configs); leave "
                "insideIpv6Cidr out",
            )


def _connection_plan(
    c: ConnectionSpec, router: RouterSpec, gw_type: str, ix: SpecIndex, p: Problems
) -> ConnectionPlan:
    dc = ix.datacenters[router.datacenter]
    if gw_type == "vgw":
        gw_vgw = ix.vgws[c.gateway]
        aws_asn, ecmp = gw_vgw.asn, False
        vpc = ix.vpcs.get(gw_vgw.vpc)
        region = vpc.region if vpc else ix.spec.default_region
        accept: tuple[IPNetwork, ...] = (vpc.cidr,) if vpc else ()
    else:
        gw_tgw = ix.tgws[c.gateway]
        aws_asn, ecmp, region = gw_tgw.asn, gw_tgw.ecmp and c.routing == "bgp", gw_tgw.region
        accept = ()  # filled from the route tables once they are planned
    _check_datacenter(dc, c.gateway, aws_asn, ix.gone, p)
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


def _check_datacenter(
    dc: DatacenterSpec, gateway: str, aws_asn: int, gone: frozenset[str], p: Problems
) -> None:
    if dc.asn == aws_asn and f"asn:{dc.name}" not in gone:
        p.add(
            f"{P}.datacenters.{dc.name}.asn",
            dc.asn,
            f"equals the AWS-side ASN of gateway {gateway!r}; eBGP needs two ASNs",
        )
    if len(dc.prefixes) > aws.MAX_PREFIXES_FROM_CUSTOMER:
        p.add(
            f"{P}.datacenters.{dc.name}.prefixes",
            f"{len(dc.prefixes)} prefixes",
            f"AWS accepts at most {aws.MAX_PREFIXES_FROM_CUSTOMER} prefixes from a customer",
        )


def with_tgw_accept(
    c: ConnectionPlan, transit: Mapping[str, TransitPlan], ix: SpecIndex
) -> ConnectionPlan:
    """The connection with the AWS prefixes it accepts (a TGW's from its route
    table) and the prefix limit that guards against a leak."""
    if c.gateway_type == "tgw":
        tp = transit[c.spec.gateway]
        rt_name = tp.association.get(f"vpn:{c.name}")
        rt = next((r for r in tp.route_tables if r.name == rt_name), None)
        accept = tuple(
            ix.vpcs[ref[4:]].cidr
            for ref in (rt.propagations if rt else ())
            if ref.startswith("vpc:") and ref[4:] in ix.vpcs
        )
    else:
        accept = c.accept
    # Guard against a leak from AWS: the planned prefixes, with headroom, and
    # never more than AWS itself would send.
    guard = min(aws.MAX_PREFIXES_TO_CUSTOMER, max(10, 2 * len(accept)))
    return replace(c, accept=tuple(sorted(accept)), max_prefixes_in=guard)


# ---------------------------------------------------------------- inside CIDR collisions
Previous = dict[str, dict[int, str]]  # connection -> tunnel number -> inside CIDR


def previous_connections(previous: Mapping[str, Any] | None) -> Previous:
    """Connection name -> tunnel number -> inside CIDR, from the last apply's snapshot."""
    conns = previous.get("connections") if isinstance(previous, Mapping) else None
    out: Previous = {}
    for name, c in conns.items() if isinstance(conns, Mapping) else ():
        tunnels = c.get("tunnels") if isinstance(c, Mapping) else None
        if isinstance(tunnels, Mapping):
            out[str(name)] = {
                int(n): str(t.get("insideCidr"))
                for n, t in tunnels.items()
                if str(n).isdigit() and isinstance(t, Mapping)
            }
    return out


def check_tunnels(conns: Sequence[ConnectionPlan], p: Problems, previous: Previous) -> None:
    # AWS wants inside CIDRs unique per VGW/TGW; a router cannot hold the same
    # /30 on two tunnel interfaces either. Check both scopes.
    used = {t.inside_cidr for c in conns for t in c.tunnels}
    reported: set[frozenset[str]] = set()
    for scope in ("gateway", "router"):
        seen: dict[tuple[str, IPNetwork], tuple[ConnectionPlan, int]] = {}
        for c in conns:
            owner = c.spec.gateway if scope == "gateway" else c.router.key
            for t in c.tunnels:
                first = seen.setdefault((owner, t.inside_cidr), (c, t.number))
                if first[0] is c and first[1] == t.number:
                    continue
                pair = _pair(first, (c, t.number))
                if pair not in reported:
                    reported.add(pair)
                    _Collision(scope, owner, first, (c, t.number)).report(p, used, previous)


def _pair(a: tuple[ConnectionPlan, int], b: tuple[ConnectionPlan, int]) -> frozenset[str]:
    if a[0].name != b[0].name:
        return frozenset({a[0].name, b[0].name})
    return frozenset({f"{a[0].name}.{a[1]}", f"{b[0].name}.{b[1]}"})


def _is_live(c: ConnectionPlan, n: int, previous: Previous) -> bool:
    """The tunnel had this very inside CIDR in the last apply."""
    return previous.get(c.name, {}).get(n) == str(c.tunnels[n - 1].inside_cidr)


def _explicit(c: ConnectionPlan, n: int) -> bool:
    return c.spec.tunnels[n - 1].inside_cidr is not None


class _Collision:
    """Two tunnels in one scope share an inside /30: say which one to change.

    Changing the inside CIDRs of a live connection replaces its tunnels (new
    outside addresses and keys for the datacenter), so the advice is always
    about the connection being added: the one the last apply did not have,
    or else the one whose CIDR was allocated rather than written.
    """

    def __init__(
        self,
        scope: str,
        owner: str,
        a: tuple[ConnectionPlan, int],
        b: tuple[ConnectionPlan, int],
    ) -> None:
        self.scope, self.owner, self.a, self.b = scope, owner, a, b

    def report(self, p: Problems, used: set[IPNetwork], previous: Previous) -> None:
        (ca, na), (cb, nb) = self.a, self.b
        cidr = cb.tunnels[nb - 1].inside_cidr
        scope, owner = self.scope, self.owner
        if ca.name == cb.name or (_explicit(ca, na) and _explicit(cb, nb)):
            p.add(
                f"{P}.connections.{cb.name}.tunnel{nb}.insideCidr",
                str(cidr),
                f"also used by {ca.name}.tunnel{na} on {scope} {owner!r}; inside CIDRs are "
                f"unique per {scope} (set insideCidr explicitly to another /30)",
            )
            return
        (new, n_new), (old, n_old), known = self._new_and_old(previous)
        how, fix, fix_unknown = _advice(new, n_new, old, n_old, used)
        if known:
            advice = (
                f"{new.name} is new and {old.name} live: {fix}; re-pinning {old.name} would "
                "replace its tunnels"
            )
        else:
            advice = (
                f"If {new.name} is the one being added, {fix_unknown}; if {old.name} is, pin "
                "that one instead (re-pinning a live connection replaces its tunnels)"
            )
        p.add(
            f"{P}.connections.{new.name}.tunnel{n_new}.insideCidr",
            str(cidr),
            f"{how}, and inside CIDRs are unique per {scope} {owner!r}. {advice}",
        )

    def _new_and_old(
        self, previous: Previous
    ) -> tuple[tuple[ConnectionPlan, int], tuple[ConnectionPlan, int], bool]:
        """(the tunnel being added, the one already there, whether the last apply says so)."""
        a, b = self.a, self.b
        live_a, live_b = _is_live(*a, previous), _is_live(*b, previous)
        if live_a != live_b:
            return (b, a, True) if live_a else (a, b, True)
        # No record of which is live: the allocated one moves (an explicit
        # CIDR was chosen on purpose), or the later name of two allocated ones.
        return (a, b, False) if _explicit(*b) else (b, a, False)


def _advice(
    new: ConnectionPlan, n_new: int, old: ConnectionPlan, n_old: int, used: set[IPNetwork]
) -> tuple[str, str, str]:
    """(how the two collide, the fix when `new` is known new, the fix otherwise)."""
    block = free_inside_block(new.name, used)
    first, second = list(block.subnet(aws.INSIDE_V4_PREFIXLEN))[:2]
    if _explicit(new, n_new):
        fix = f"give {new.name}.tunnel{n_new} another /30, such as {first} (free)"
        return f"also {old.name}.tunnel{n_old}'s inside CIDR", fix, fix
    how = (
        f"also {old.name}'s explicit insideCidr"
        if _explicit(old, n_old)
        else f"{new.name} and {old.name} hash to the same /29 {inside_block_for(new.name)}"
    )
    return (
        how,
        f"pin {new.name}: tunnel1 insideCidr {first}, tunnel2 {second} (free)",
        f"pin it: tunnel1 insideCidr {first}, tunnel2 {second} (free)",
    )
