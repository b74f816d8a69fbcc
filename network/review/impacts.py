"""What a change means for the datacenter routers (pure).

For every connection, customer gateway and gateway that changes: which is
replaced and what that costs (new outside addresses and keys, tunnels down),
which routers to reconfigure, and a safe order, one tunnel at a time where AWS
allows it. Built from `network.review.changes.ResourceChange`s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from network.naming import resource_name
from network.review.baseline import applied_connections, output_id
from network.review.changes import PropChange, ResourceChange, show
from network.review.replacements import (
    CHECKED_PULUMI_AWS,
    CHECKED_UPSTREAM,
    IN_PLACE,
    in_place_since,
)
from network.review.resources import cgw_key

# The snapshot fields of a connection whose change the router must follow.
_CONNECTION_FIELDS = (
    "router",
    "gateway",
    "gatewayType",
    "routing",
    "redundancy",
    "awsAsn",
    "customerAsn",
    "customerIp",
    "announce",
    "accept",
    "maxPrefixesIn",
    "crypto",
    "tunnels",
)


# ------------------------------------------------------------------ loading


# ------------------------------------------------------------------ router impact
# Impacts shown as a banner: each one takes tunnels down or makes `pulumi up` fail.
LOUD = ("replace-cgw", "replace-vgw", "blocked-tgw-asn", "replace-vpn", "inside-cidr")
_TITLES = {
    "replace-vpn": "REPLACES VPN CONNECTION {}",
    "replace-cgw": "REPLACES CUSTOMER GATEWAY {}",
    "replace-vgw": "REPLACES VIRTUAL PRIVATE GATEWAY {}",
    "blocked-tgw-asn": "AWS REFUSES THE NEW ASN OF TRANSIT GATEWAY {} WHILE VPNS ARE ATTACHED",
    "inside-cidr": "MOVES TUNNEL INSIDE ADDRESSES OF VPN CONNECTION {}",
}


@dataclass(frozen=True)
class Impact:
    """What a change means for the datacenter routers."""

    kind: str  # one of LOUD, or "update-vpn" | "add" | "remove" | "prefixes"
    subject: str  # the connection, customer gateway or gateway
    routers: tuple[str, ...]
    reasons: tuple[str, ...]
    consequence: str
    steps: tuple[str, ...]
    avoidable: bool = False  # the replacement can be avoided one tunnel at a time
    # For a connection whose tunnels move: which path its router config diff shows.
    config_path: str = ""

    @property
    def loud(self) -> bool:
        return self.kind in LOUD

    @property
    def title(self) -> str:
        return _TITLES.get(self.kind, "{}").format(self.subject)


def provider_text(upstream: str | None) -> str:
    """Which provider the replace-on-change rules are read for, in words."""
    if upstream is None:
        return (
            "the installed pulumi-aws is older than "
            f"{CHECKED_PULUMI_AWS} or unknown, so its terraform-provider-aws is not known here"
        )
    return f"pulumi-aws {CHECKED_PULUMI_AWS} or later (terraform-provider-aws v{upstream} or later)"


def _inside_only_steps(
    name: str, rec: Mapping[str, Any] | None, tunnels: list[tuple[int, str]], router: str
) -> tuple[str, ...]:
    vpn_id = rec.get("vpnConnectionId", "<vpn id>") if rec else "<vpn id>"
    outside = {
        int(t.get("number", 0)): t.get(
            "awsOutsideIp", f"<tunnel {t.get('number')} outside address>"
        )
        for t in (rec or {}).get("tunnels") or []
    }
    steps = []
    for n, cidr in tunnels:
        ip = outside.get(n, f"<tunnel {n} outside address>")
        steps.append(
            f"tunnel {n} alone, while the other tunnel carries the traffic: aws ec2 "
            f"modify-vpn-tunnel-options --vpn-connection-id {vpn_id} "
            f"--vpn-tunnel-outside-ip-address {ip} --tunnel-options TunnelInsideCidr={cidr}; "
            f"then move {router}'s tunnel {n} to the new inside addresses and wait for its "
            "BGP session (AWS keeps the outside address and the key)"
        )
    steps.append(
        "pulumi refresh, so the state holds the new inside CIDRs; pulumi preview "
        "must then show no replacement of the connection"
    )
    return tuple(steps)


def _one_tunnel_per_apply(
    name: str, router: str, tunnels: list[tuple[int, str]], inside: Mapping[str, Any]
) -> tuple[str, ...]:
    steps: list[str] = []
    if len(tunnels) > 1:
        steps.append(
            f"change one tunnel per apply, so that the other carries the traffic: put only "
            f"tunnel {tunnels[0][0]}'s new insideCidr in the stack first (one apply changing "
            "both takes both tunnels down until the router follows)"
        )
    for n, cidr in tunnels:
        t = inside.get(str(n)) or {}
        steps.append(
            f"apply: AWS moves tunnel {n} of {name} to {cidr} (ModifyVpnTunnelOptions) and the "
            f"tunnel goes down; move {router}'s tunnel {n} to router {t.get('customerInside')} "
            f"/ AWS {t.get('awsInside')} (crossnet render) and wait for IPsec and BGP on it"
        )
    steps.append(f"check both tunnels of {name} carry BGP again before the next change")
    return tuple(steps)


def _make_before_break(name: str, router: str, routing: str) -> tuple[str, ...]:
    shift = (
        "BGP moves the traffic once the new sessions are up"
        if routing == "bgp"
        else "point the router's static routes at the new tunnels"
    )
    return (
        f"add the new connection beside {name} under a new name (a copy of its entry with "
        "the new settings) and apply: AWS creates it with its own outside addresses and keys",
        f"configure {router}'s two new tunnels from the new outputs (crossnet render), check "
        f"IPsec and BGP on both; {shift}",
        f"remove {name} from the stack config, apply, and remove its tunnels from {router}",
    )


def _reasons(ch: ResourceChange) -> tuple[str, ...]:
    return tuple(
        f"{p.prop}: {show(p.old)} -> {show(p.new)}" + (f" (new ID of {p.via})" if p.via else "")
        for p in ch.reasons
    )


def _cgw_impacts(new: Mapping[str, Any], changes: list[ResourceChange]) -> list[Impact]:
    nc = new["connections"]
    on_cgw: dict[str, list[str]] = {}
    for name, c in nc.items():
        on_cgw.setdefault(f"{cgw_key(dict(new), dict(c))}-cgw", []).append(name)
    out = []
    for ch in changes:
        if not (ch.kind == "cgw" and ch.action == "replace" and ch.name in on_cgw):
            continue
        conns = sorted(on_cgw[ch.name])
        router = nc[conns[0]]["router"]
        dc = nc[conns[0]]["datacenter"]
        peers = sorted(
            {c["router"] for c in nc.values() if c["datacenter"] == dc and c["router"] != router}
        )
        steps = (
            (
                f"move the traffic off {router}: "
                + (
                    f"{', '.join(peers)} {'carry' if len(peers) > 1 else 'carries'} it while "
                    f"{router}'s sessions are down"
                    if peers
                    else f"{router} is the only router of {dc}: plan an outage"
                )
            ),
            f"apply only this router's customer gateway and connections: pulumi up "
            f"--target <urn of {ch.name}> --target-dependents",
            f"reconfigure {router} (crossnet render): its new address or ASN, then check "
            "IPsec and BGP on every tunnel",
            "repeat router by router",
        )
        out.append(
            Impact(
                "replace-cgw",
                ch.name,
                (router,),
                _reasons(ch),
                "AWS creates a new customer gateway and moves the VPN connection(s) "
                f"{', '.join(conns) or '-'} onto it (ModifyVpnConnection): both tunnels of each "
                "are down while AWS provisions the new endpoints, and stay down until "
                f"{router} uses its "
                "new address or ASN",
                steps,
            )
        )
    return out


def _vgw_impacts(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changes: list[ResourceChange],
    outputs: Mapping[str, Any] | None,
) -> list[Impact]:
    by_resource = {resource_name("vgw", g): g for g in new["vpnGateways"]}
    out = []
    for ch in changes:
        g = by_resource.get(ch.name)
        if not (ch.kind == "vgw" and ch.action == "replace" and g is not None):
            continue
        gw, was = new["vpnGateways"][g], old["vpnGateways"].get(g, {})
        vpc = gw["vpc"]
        conns = sorted(n for n, c in new["connections"].items() if c["gateway"] == g)
        routers = tuple(sorted({new["connections"][n]["router"] for n in conns}))
        bgp = [n for n in conns if new["connections"][n]["routing"] == "bgp"]
        vgw_id = output_id(outputs, "gateways", g, "<old vgw id>")
        vpc_id = output_id(outputs, "vpcs", was.get("vpc", vpc), "<vpc id>")
        moved = (
            f"moves {', '.join(conns)} onto it (ModifyVpnConnection): both tunnels of each "
            "are down while AWS provisions the new endpoints (the outside addresses, keys "
            "and tunnel options stay)"
            if conns
            else "has no VPN connection to move"
        )
        asn = (
            f" The AWS-side ASN of the BGP sessions of {', '.join(bgp)} becomes {gw['asn']}."
            if bgp and gw["asn"] != was.get("asn")
            else ""
        )
        consequence = (
            f"AWS creates a new VGW for vpc {vpc} and {moved}. Its route propagation is replaced "
            f"too: vpc {vpc} has no route to the datacenters from the moment the old VGW leaves "
            "until the new one propagates them. A VPC takes one VGW at a time (AttachVpnGateway), "
            "and Pulumi creates the replacement before deleting the old one (crossnet does not "
            "mark the VGW deleteBeforeReplace): left alone, `pulumi up` fails when AWS refuses "
            f"to attach the new VGW to vpc {vpc}." + asn
        )
        router_step = (
            f"on {', '.join(routers)}: peer with AWS-side ASN {gw['asn']} "
            "(crossnet render), then check IPsec and BGP on both tunnels"
            if bgp
            else f"on {', '.join(routers) or 'the routers'}: the config stays "
            "(static routing); check IPsec on both tunnels and the VPC routes"
        )
        steps = (
            f"plan an outage of vpc {vpc}'s datacenter traffic: with one VGW per VPC there is "
            "no second path while the gateway is swapped",
            f"detach the old VGW first: aws ec2 detach-vpn-gateway --vpn-gateway-id {vgw_id} "
            f"--vpc-id {vpc_id}; wait until it is detached, then pulumi refresh",
            f"pulumi up: the new VGW attaches to vpc {vpc}, the connections move onto it, the "
            "route propagations are replaced and the old VGW is deleted",
            router_step,
        )
        out.append(Impact("replace-vgw", g, routers, _reasons(ch), consequence, steps))
    return out


def _tgw_asn_impacts(new: Mapping[str, Any], changes: list[ResourceChange]) -> list[Impact]:
    by_resource = {resource_name("tgw", t): t for t in new["transitGateways"]}
    out = []
    for ch in changes:
        t = by_resource.get(ch.name)
        asn = next((p for p in ch.props if p.prop == "amazonSideAsn" and not p.via), None)
        if t is None or ch.kind != "tgw" or asn is None or ch.action == "replace":
            continue
        conns = sorted(n for n, c in new["connections"].items() if c["gateway"] == t)
        if not conns:
            continue
        routers = tuple(sorted({new["connections"][n]["router"] for n in conns}))
        since = in_place_since(ch.type, "amazonSideAsn")
        consequence = (
            f"pulumi-aws changes a transit gateway's ASN in place (ModifyTransitGateway, "
            f"terraform-provider-aws v{since.version if since else '?'} and later), but AWS "
            "refuses it while the transit gateway has VPN attachments: `pulumi up` fails on "
            f"{t}, which carries {', '.join(conns)}. The ASN cannot change under live VPN "
            "connections."
        )
        steps = (
            f"make before break: add a second transit gateway with AS {asn.new} beside {t} "
            "(its VPC attachments and route tables), then move one connection at a time onto it "
            "(change its gateway in the stack and apply: ModifyVpnConnection, both tunnels of "
            "that connection down while the others carry the traffic), then remove " + t,
            f"or, with an outage: remove every VPN connection from {t}, apply, change the ASN, "
            "apply, add them back: new connections, NEW OUTSIDE ADDRESSES for every tunnel",
            f"either way {', '.join(routers)} peer with AWS-side ASN {asn.new} afterwards "
            "(crossnet render)",
        )
        out.append(
            Impact(
                "blocked-tgw-asn",
                t,
                routers,
                (f"amazonSideAsn: {show(asn.old)} -> {show(asn.new)}",),
                consequence,
                steps,
            )
        )
    return out


@dataclass(frozen=True)
class _Context:
    """What every connection's impact is judged against."""

    new: Mapping[str, Any]
    recs: Mapping[str, Mapping[str, Any]]  # applied connection records by name
    by_name: Mapping[tuple[str, str], ResourceChange]
    replaced_cgws: frozenset[str]
    replaced_gws: frozenset[str]  # their connections' own banner covers the move
    blocked_tgws: frozenset[str]
    upstream: str | None


_RANK = {
    "replace-cgw": 0,
    "replace-vgw": 0,
    "blocked-tgw-asn": 0,
    "replace-vpn": 1,
    "inside-cidr": 1,
    "remove": 2,
    "update-vpn": 3,
    "add": 4,
    "prefixes": 5,
}
_INSIDE = ("tunnel1InsideCidr", "tunnel2InsideCidr")


def impacts(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changes: list[ResourceChange],
    outputs: Mapping[str, Any] | None = None,
    upstream: str | None = CHECKED_UPSTREAM,
) -> list[Impact]:
    """The changes the datacenter routers must follow, loudest first."""
    oc, nc = old["connections"], new["connections"]
    out = [
        *_cgw_impacts(new, changes),
        *_vgw_impacts(old, new, changes, outputs),
        *_tgw_asn_impacts(new, changes),
    ]
    ctx = _Context(
        new=new,
        recs=applied_connections(outputs),
        by_name={(c.kind, c.name): c for c in changes},
        replaced_cgws=frozenset(
            c.name for c in changes if c.kind == "cgw" and c.action == "replace"
        ),
        replaced_gws=frozenset(
            c.name for c in changes if c.kind in ("vgw", "tgw") and c.action == "replace"
        ),
        blocked_tgws=frozenset(i.subject for i in out if i.kind == "blocked-tgw-asn"),
        upstream=upstream,
    )
    for name in sorted(set(oc) | set(nc)):
        out += _connection_impacts(name, oc.get(name), nc.get(name), ctx)
    return sorted(out, key=lambda i: (_RANK[i.kind], i.subject))


def _connection_impacts(
    name: str, o: Mapping[str, Any] | None, n: Mapping[str, Any] | None, ctx: _Context
) -> list[Impact]:
    if o is None:
        assert n is not None
        return [_added(name, n["router"])]
    if n is None:
        return [_removed(name, o["router"])]
    routers = tuple(sorted({o["router"], n["router"]}))
    vpn = ctx.by_name.get(("vpn", f"{name}-vpn"))
    inside = [
        (int(p.prop[6]), str(p.new))
        for p in (vpn.props if vpn else ())
        if p.prop in _INSIDE and not p.via
    ]
    if vpn is not None and vpn.action == "replace":
        return [_replaced_vpn(name, n, routers, vpn, inside, ctx)]
    out = []
    if vpn is not None and inside:
        out.append(_inside_cidr(name, n, routers, vpn, inside, ctx.upstream))
    update = _updated(name, o, n, routers, vpn, bool(inside), ctx)
    return [*out, update] if update else out


def _added(name: str, router: str) -> Impact:
    return Impact(
        "add",
        name,
        (router,),
        (),
        "a new connection: AWS assigns two outside addresses and keys at "
        f"the apply; {router} needs two new tunnels",
        (
            "apply",
            f"configure {router} from the new outputs (crossnet render) and check IPsec and BGP",
        ),
    )


def _removed(name: str, router: str) -> Impact:
    return Impact(
        "remove",
        name,
        (router,),
        (),
        f"AWS deletes the connection; {router} loses two tunnels",
        (
            f"move the traffic off {name} first (with BGP: shut its sessions on the router)",
            "apply",
            f"remove the tunnels from {router}",
        ),
    )


def _held_inside_cidrs(vpn: ResourceChange, new: Mapping[str, Any]) -> str:
    """Pulumi creates a replacement before it deletes the old connection: on the same
    gateway, AWS refuses an inside CIDR the old one still holds (unique per gateway)."""
    moved = {p.prop for p in vpn.props if not p.via}
    if moved & {"vpnGatewayId", "transitGatewayId"} or any(
        p.via and p.prop in ("vpnGatewayId", "transitGatewayId") for p in vpn.props
    ):
        return ""
    held = [
        str(t["insideCidr"])
        for n, t in sorted(new["tunnels"].items())
        if t.get("insideCidr") and f"tunnel{n}InsideCidr" not in moved
    ]
    if not held:
        return ""
    return (
        ". AS DECLARED, `pulumi up` FAILS: it creates the replacement first "
        "(create-before-delete) and AWS refuses inside CIDR "
        f"{', '.join(held)}, still held by the old connection on the same gateway; give the "
        "new connection its own inside CIDRs (the steps below)"
    )


def _replaced_vpn(
    name: str,
    n: Mapping[str, Any],
    routers: tuple[str, ...],
    vpn: ResourceChange,
    inside: list[tuple[int, str]],
    ctx: _Context,
) -> Impact:
    only_inside = bool(inside) and len(inside) == len(vpn.reasons)
    steps: tuple[str, ...] = (
        _inside_only_steps(name, ctx.recs.get(name), inside, n["router"])
        if only_inside
        else _make_before_break(name, n["router"], n["routing"])
    )
    keys = (
        "the same pre-shared keys (crossnet passes them in: generated once, or from config)"
        if not any(p.prop.endswith("PresharedKey") for p in vpn.props)
        else "new pre-shared keys"
    )
    older = (
        f" ({provider_text(ctx.upstream)}; terraform-provider-aws v6.28.0 and later "
        "change an inside CIDR in place instead)"
        if only_inside
        else ""
    )
    return Impact(
        "replace-vpn",
        name,
        routers,
        _reasons(vpn),
        "AWS deletes the VPN connection and creates a new one: NEW OUTSIDE "
        f"ADDRESSES for both tunnels and a new connection ID, with {keys}; both "
        f"tunnels stay down until {' and '.join(routers)} "
        f"{'have' if len(routers) > 1 else 'has'} the new values. One tunnel at a "
        "time is not possible inside a replacement: both tunnels "
        "go with the connection"
        + older
        + _held_inside_cidrs(vpn, n)
        + (
            "; the steps below avoid the replacement, keeping the outside addresses"
            if only_inside
            else ""
        ),
        steps,
        avoidable=only_inside,
        config_path=(
            "the in-place path of the steps below: AWS keeps the outside "
            "addresses; were the connection replaced, they would change too "
            "(0.0.0.N)"
        )
        if only_inside
        else "the replacement: new outside addresses (0.0.0.N) on both tunnels",
    )


def _inside_cidr(
    name: str,
    n: Mapping[str, Any],
    routers: tuple[str, ...],
    vpn: ResourceChange,
    inside: list[tuple[int, str]],
    upstream: str | None,
) -> Impact:
    since = in_place_since("aws:ec2/vpnConnection:VpnConnection", "tunnel1InsideCidr")
    first = since.version if since else "6.28.0"
    return Impact(
        "inside-cidr",
        name,
        routers,
        tuple(f"{p.prop}: {show(p.old)} -> {show(p.new)}" for p in vpn.props if p.prop in _INSIDE),
        f"With {provider_text(upstream)} the connection stays: AWS modifies each "
        "changed tunnel in place (ModifyVpnTunnelOptions), and that tunnel is down "
        f"until {' and '.join(routers)} use{'' if len(routers) > 1 else 's'} its new "
        "inside addresses; the outside addresses and keys stay. Providers older than "
        f"terraform-provider-aws v{first} REPLACE the connection instead: new outside "
        "addresses, both tunnels down at once",
        _one_tunnel_per_apply(name, n["router"], inside, n["tunnels"]),
        config_path="the in-place path (the AWS outside addresses stay); an older "
        "provider's replacement would change them too",
    )


def _covered_elsewhere(
    n: Mapping[str, Any],
    vpn: ResourceChange | None,
    own: list[PropChange],
    touched: set[str],
    inside: bool,
    ctx: _Context,
) -> bool:
    """Whether another impact (a banner) already says everything about this connection."""
    via = {p.via for p in (vpn.props if vpn else ()) if p.via}
    if own:
        return False
    if touched <= {"customerAsn", "customerIp"} and (
        vpn is None or f"{cgw_key(dict(ctx.new), dict(n))}-cgw" in ctx.replaced_cgws
    ):
        return True  # only its customer gateway was replaced
    if via and via <= ctx.replaced_gws and touched <= {"awsAsn"}:
        return True  # only its gateway was replaced
    if touched <= {"awsAsn"} and n["gateway"] in ctx.blocked_tgws:
        return True  # its transit gateway's new ASN
    return inside and not touched - {"tunnels"}  # the inside-cidr banner says it all


def _update_steps(name: str, routers: tuple[str, ...], own: list[PropChange]) -> tuple[str, ...]:
    if any(p.prop in ("vpnGatewayId", "transitGatewayId") for p in own):
        return (
            "if the connection leaves a VGW with static routes for a TGW, delete those "
            "routes first (AWS requires it) and route the prefixes in the TGW afterwards",
            "apply: AWS moves the connection, both tunnels are down meanwhile",
            f"update {' and '.join(routers)} (crossnet render): the AWS-side ASN and the "
            "accepted prefixes may change",
        )
    if own:
        return (
            "first let the router accept the old and the new settings (most platforms "
            "take several proposals or keys per peer), then apply (AWS changes tunnel 1, "
            "then tunnel 2), then remove the old ones",
            f"check IPsec and BGP on both tunnels of {name}",
        )
    return ("apply", f"update {' and '.join(routers)} (crossnet render)")


def _updated(
    name: str,
    o: Mapping[str, Any],
    n: Mapping[str, Any],
    routers: tuple[str, ...],
    vpn: ResourceChange | None,
    inside: bool,
    ctx: _Context,
) -> Impact | None:
    """A connection that stays: its tunnel options, keys, gateway or prefix lists change."""
    touched = {k for k in _CONNECTION_FIELDS if o.get(k) != n.get(k)}
    own = [p for p in (vpn.props if vpn else ()) if not p.via and p.prop not in _INSIDE]
    if _covered_elsewhere(n, vpn, own, touched, inside, ctx) or (vpn is None and not touched):
        return None
    reasons = tuple(f"{p.prop}: {show(p.old)} -> {show(p.new)}" for p in own) or tuple(
        f"{k} changed" for k in sorted(touched - {"tunnels"} if inside else touched)
    )
    notes = IN_PLACE["aws:ec2/vpnConnection:VpnConnection"]
    aws_side = [notes[key] for p in own if (key := _in_place_key(p.prop)) is not None]
    consequence = (
        "; ".join(dict.fromkeys(aws_side))
        if aws_side
        else "AWS keeps the connection as it is; the router's prefix lists, routes "
        "or BGP settings change"
    )
    return Impact(
        "update-vpn" if own else "prefixes",
        name,
        routers,
        reasons,
        consequence,
        _update_steps(name, routers, own),
    )


def _in_place_key(prop: str) -> str | None:
    if prop in ("customerGatewayId", "vpnGatewayId", "transitGatewayId"):
        return prop
    if prop.startswith("tunnel") and prop.endswith("PresharedKey"):
        return "tunnelNPresharedKey"
    if prop.startswith("tunnel") and prop.endswith("InsideCidr"):
        return "tunnelNInsideCidr"
    if prop.startswith("tunnel"):
        return "tunnelN<options>"
    return None
