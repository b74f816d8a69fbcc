"""The safe order of each change class: its sub-steps, drains, checks and impact (pure).

A handler gets the snapshots before and after its config transition and returns
the sub-steps that carry it out. A sub-step says which routers move to the
new rendered config, which tunnels are drained around it, what AWS does, which
checks must pass and what the traffic loses. Where the stack config cannot
split a change finely enough (a connection's tunnel options are one setting for
both tunnels), the AWS side is an AWS CLI call per tunnel followed by
`pulumi refresh`, so that the stack's state catches up without a second change.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from network.errors import ConfigError
from network.plan import build_plan
from network.review.snapshot import plan_snapshot
from network.rollout import cgw
from network.rollout.checks import carriers, drain_checks, keys, probe, static_caveat, tunnel_checks
from network.rollout.model import AwsAction, Change, Impact
from network.rollout.substep import Ctx, NoSafeOrderError, Override, Sub
from network.rollout.substep import zero as _zero
from network.rollout.tunnels import inside_cidr, psk, tunnel_options, vpn_id

Snapshot = Mapping[str, Any]

# AWS's BGP hold time on a VPN tunnel (s): a session on a tunnel that dies without a
# drain is declared down after this, and its routes go with it.
BGP_HOLD = 30


def _no_carrier_outage(s: Snapshot, conns: Iterable[str], why: str, bound: str) -> Impact | None:
    if carriers(s, keys(s, conns), conns):
        return None
    return Impact("outage", why, bound)


def _whole(
    ctx: Ctx,
    ch: Change,
    conns: Iterable[str],
    aws: AwsAction,
    why: str,
    zero: str,
    outage: tuple[str, str],
    renew: bool = False,
    now: Snapshot | None = None,
    renews: tuple[str, ...] = (),
) -> list[Sub]:
    """Drain every tunnel of `conns`, change them, check, restore.

    `now`: the plan the other routers are in during the drain (default: before the change).
    """
    conns = list(conns)
    # With no other path a drain moves nothing, and its checks (no best route uses the
    # drained tunnels) cannot hold: the step goes undrained, its outage stated.
    alone = _no_carrier_outage(ctx.prev, conns, *outage)
    drained = frozenset() if alone else keys(ctx.prev, conns)
    after = [c for c in conns if c in ctx.next["connections"]]
    checks = [
        *(drain_checks(now or ctx.prev, drained, conns) if drained else ()),
        *(
            x
            for c in after
            for n in sorted(ctx.next["connections"][c]["tunnels"])
            for x in tunnel_checks(ctx.next, c, int(n))
        ),
        *probe(ctx.next, after or conns),
    ]
    impact = static_caveat(ctx.prev, conns, alone or _zero(zero))
    return [
        Sub(
            f"{ch.kind} {ch.subject}",
            why,
            aws,
            tuple(ch.routers),
            drained | keys(ctx.next, after) if drained else frozenset(),
            checks=tuple(checks),
            impact=impact,
            render_after_apply=renew,
            renews=renews,
        )
    ]


def add(ctx: Ctx, ch: Change) -> list[Sub]:
    """New connections come up drained, are checked, then take traffic. A VPC that joins
    existing connections (a TGW attachment): the routers accept its prefix first, which
    nothing sends yet, so that AWS's new route never meets an old prefix list or limit."""
    conns = list(ch.connections)
    drained = keys(ctx.next, conns)
    reach = list(conns) or [
        c for c, x in ctx.next["connections"].items() if x["router"] in _dc_routers(ctx.next, ch)
    ]
    checks = [
        *(
            x
            for c in reach
            for n in sorted(ctx.next["connections"][c]["tunnels"])
            for x in tunnel_checks(ctx.next, c, int(n))
            if conns or x.kind == "prefixes-received"
        ),
        *probe(ctx.next, reach),
    ]
    what = {
        "vpc-add": f"creates vpc {ch.subject} and its routes",
        "router-add": f"creates the customer gateway of {ch.subject} and its connections",
        "connection-add": f"creates {ch.subject}",
    }[ch.kind]
    why = (
        f"the apply {what}; the new tunnels come up drained, so they take traffic only once "
        "they pass their checks"
        if conns
        else f"the routers accept vpc {ch.subject}'s prefix first (nothing sends it yet), then "
        f"the apply {what}"
    )
    return [
        Sub(
            f"{ch.kind} {ch.subject}",
            why,
            ctx.up(*(f"CreateVpnConnection {c}" for c in conns), f"{ch.kind} {ch.subject}"),
            tuple(ch.routers) or _dc_routers(ctx.next, ch),
            drained,
            dc_when="after-aws" if conns else "before-aws",
            checks=tuple(checks),
            impact=_zero("adds paths; no existing flow changes its path before the restore"),
            render_after_apply=bool(conns),
        )
    ]


def _dc_routers(s: Snapshot, ch: Change) -> tuple[str, ...]:
    """Routers whose accepted prefixes change with a VPC (every router reaching it)."""
    cidr = s["vpcs"].get(ch.subject, {}).get("cidr")
    return tuple(
        sorted({c["router"] for c in s["connections"].values() if cidr and cidr in c["accept"]})
    )


def vpc_remove(ctx: Ctx, ch: Change) -> list[Sub]:
    cidr = ctx.prev["vpcs"][ch.subject]["cidr"]
    routers = tuple(
        sorted({c["router"] for c in ctx.prev["connections"].values() if cidr in c["accept"]})
    )
    return [
        Sub(
            f"vpc-remove {ch.subject}",
            f"the apply deletes vpc {ch.subject} ({cidr}); the routers stop accepting its prefix "
            "afterwards (its traffic ends by intent)",
            ctx.up(f"delete vpc {ch.subject} and its routes"),
            routers,
            checks=tuple(probe(ctx.next, sorted(ctx.next["connections"]))),
            impact=_zero(f"only vpc {ch.subject}'s own traffic ends, by intent"),
        )
    ]


def dc_prefix(ctx: Ctx, ch: Change) -> list[Sub]:
    withdraw = any(d.startswith("withdraw") for d in ch.detail)
    return [
        Sub(
            f"dc-prefix {ch.subject}",
            "AWS first (security group rules, static routes), then the routers announce: "
            "nothing is sent before AWS admits it"
            + ("; a withdrawn prefix leaves the routers first, then AWS" if withdraw else ""),
            ctx.up(f"datacenter {ch.subject} prefixes: {', '.join(ch.detail)}"),
            tuple(ch.routers),
            dc_when="before-aws"
            if withdraw and not any("announce" in d for d in ch.detail)
            else "after-aws",
            checks=tuple(
                [
                    *(
                        x
                        for c in ch.connections
                        for n in sorted(ctx.next["connections"][c]["tunnels"])
                        for x in tunnel_checks(ctx.next, c, int(n))
                        if x.kind in ("prefixes-advertised", "bgp-established")
                    ),
                    *probe(ctx.next, ch.connections),
                ]
            ),
            impact=_zero("a new prefix carries no traffic yet; the existing ones keep their paths"),
        )
    ]


def cgw_move(ctx: Ctx, ch: Change) -> list[Sub]:
    """A new customer gateway (address or ASN): router by router, the others carry."""
    routers = [ch.subject] if ch.kind == "router-ip" else list(ch.routers)
    subs: list[Sub] = []
    for r in routers:
        conns = [c for c, x in ctx.prev["connections"].items() if x["router"] == r]
        target = f"{r}-cgw" if ch.kind == "customer-asn" else ""
        aws = ctx.up(
            f"CreateCustomerGateway for {r}",
            *(f"ModifyVpnConnection {c}: the new customer gateway" for c in conns),
            f"DeleteCustomerGateway (the old one of {r})",
            target=target,
        )
        one = Change(ch.kind, r, tuple(conns), (r,), detail=ch.detail)
        # The only router: a drain has nowhere to move the traffic, and its after-drain
        # checks (no best route over the drained tunnels) could never hold.
        drain = bool(carriers(ctx.prev, keys(ctx.prev, conns), conns))
        if not drain and ch.kind == "router-ip" and cgw.allowed(ctx, conns):
            subs += cgw.router_ip_mbb(ctx, one, r, conns)  # make before break (cgw.py)
            continue
        subs += _whole(
            ctx,
            one,
            conns,
            aws,
            "ModifyVpnConnection takes both tunnels of each connection down while AWS provisions "
            + (
                "the new endpoints: this router is drained first, the others carry the traffic"
                if drain
                else "the new endpoints, and nothing else carries: no drain, the router is "
                "re-addressed (or takes its new AS) from the new outputs at once"
            )
            + (
                "; one router per apply (--target), since the ASN is the datacenter's"
                if target
                else ""
            ),
            f"the other routers of the datacenter carry the traffic while {r}'s tunnels are down",
            (
                f"{r} is the only path of its datacenter to these gateways: both tunnels are down "
                "from ModifyVpnConnection until AWS has provisioned the new endpoints and the "
                "router has its new address/ASN",
                "AWS's endpoint provisioning (not documented as a figure; minutes) plus IKE and "
                f"BGP on the router (BGP hold {BGP_HOLD} s): add a second router first to avoid it",
            ),
            renew=True,
            now=ctx.next if subs else None,
        )
    return subs


def gateway_move(ctx: Ctx, ch: Change) -> list[Sub]:
    """AWS's documented VGW -> TGW migration (ModifyVpnConnection)."""
    conn = ch.connections[0]
    o = ctx.prev["connections"][conn]
    vpn, _ = vpn_id(ctx, conn)
    pre: list[str] = []
    if o["routing"] == "static" and o["gatewayType"] == "vgw":
        pre = [
            f"aws ec2 delete-vpn-connection-route --vpn-connection-id {vpn} "
            f"--destination-cidr-block {p}"
            for p in o["announce"]
        ]
        pre.append(f"pulumi refresh --stack {ctx.stack} --yes")
    aws = ctx.up(
        f"ModifyVpnConnection {conn}: {', '.join(ch.detail)}",
        "then (in the same apply) the TGW route table associations/propagations or static "
        "routes of the VPN attachment, and the VPC routes towards the TGW",
    )
    aws = AwsAction(aws.kind, (*pre, *aws.commands), aws.operations, aws.config)
    return _whole(
        ctx,
        ch,
        [conn],
        aws,
        "AWS's migration: the new gateway exists first (an earlier apply), static routes are "
        "deleted before ModifyVpnConnection and added on the TGW after, the route tables "
        "follow; both tunnels are down while AWS provisions the new endpoints",
        "the datacenter's other connections carry the traffic during the move",
        (
            f"{conn} is its datacenter's only path to these VPCs: AWS takes both tunnels down for "
            "ModifyVpnConnection",
            "AWS's endpoint provisioning plus IKE and BGP on the router; the VPCs' routes move "
            "to the TGW in the same apply",
        ),
        renew=True,
    )


def _recreate(ctx: Ctx, conn: str, path: str = "") -> AwsAction:
    up = ctx.up(path=path)
    pulumi_up, offline = up.commands
    return AwsAction(
        "pulumi-up",
        (
            f"pulumi destroy --stack {ctx.stack} --target '<urn of {conn}-vpn>' "
            "--target-dependents",
            pulumi_up,
            f"{offline} --destroy-target {conn}-vpn",
        ),
        (
            f"DeleteVpnConnection {conn} first: the new one has the same inside CIDRs, "
            "unique per gateway, so Pulumi's create-before-delete would be refused",
            f"CreateVpnConnection {conn}: new outside addresses",
        ),
        up.config,
        destroy=(f"{conn}-vpn",),
    )


def replace(ctx: Ctx, ch: Change) -> list[Sub]:
    conn = ch.subject
    if not carriers(ctx.prev, keys(ctx.prev, [conn]), [conn]):
        return make_before_break(ctx, ch)
    return _whole(
        ctx,
        ch,
        [conn],
        _recreate(ctx, conn),
        "the connection is replaced: drained first, deleted, created again with new outside "
        "addresses, the router reconfigured from the new outputs, checked, restored",
        "the datacenter's other connections to this gateway carry the traffic",
        ("no other path", "refused"),
        renew=True,
        renews=(conn,),
    )


def _with_temp(ctx: Ctx, config: Mapping[str, Any], conn: str, temp: str, path: str) -> Override:
    """`config` plus a temporary copy of `conn` (the new settings), planned."""
    out = copy.deepcopy(dict(config))
    conns = out["crossnet:network"]["connections"]
    entry = copy.deepcopy(ctx.next_config["crossnet:network"]["connections"][conn])
    for n in (1, 2):  # its own inside CIDRs (from its name) and generated keys
        entry.pop(f"tunnel{n}", None)
    conns[temp] = entry
    try:
        plan = build_plan(out, ctx.stack, need_secrets=False, previous=ctx.prev)
    except ConfigError as e:
        raise NoSafeOrderError(
            [
                f"{conn} is its datacenter's only path to its gateway, and a temporary second "
                f"connection {temp} beside it does not plan: "
                + "; ".join(f"{p.field}: {p.value} ({p.rule})" for p in e.problems)
            ]
        ) from None
    return Override(out, plan, plan_snapshot(plan), path, (temp,))


def make_before_break(ctx: Ctx, ch: Change) -> list[Sub]:
    """A replaced connection with no other path, on a transit gateway: a temporary second
    connection carries the traffic while the connection is deleted and created again."""
    conn = ch.subject
    temp = f"{conn}-mbb"
    a = _with_temp(ctx, ctx.prev_config, conn, temp, ctx.alt("a"))
    b = _with_temp(ctx, ctx.next_config, conn, temp, ctx.alt("b"))
    b = Override(b.config, b.plan, b.snap, b.path, (conn,))
    router = ctx.next["connections"][conn]["router"]
    temp_keys = keys(a.snap, [temp])
    old_keys = keys(ctx.prev, [conn])
    temp_checks = [
        *(
            x
            for n in sorted(a.snap["connections"][temp]["tunnels"])
            for x in tunnel_checks(a.snap, temp, int(n))
        ),
    ]
    return [
        Sub(
            f"{conn}: a temporary connection {temp} with the new settings, beside it",
            "make before break: a transit gateway takes several connections from one customer "
            "gateway (AWS's own ECMP pattern); it comes up drained and is checked first",
            ctx.up(f"CreateVpnConnection {temp} (temporary)", path=a.path),
            (router,),
            temp_keys,
            checks=tuple(temp_checks),
            impact=_zero("adds a path; nothing moves before its checks pass"),
            render_after_apply=True,
            override=a,
        ),
        Sub(
            f"{conn}: deleted and created again while {temp} carries the traffic",
            "the connection is drained onto the temporary one, deleted first (same inside "
            "CIDRs), created with new outside addresses, configured, checked, restored",
            _recreate(ctx, conn, b.path),
            (router,),
            old_keys,
            checks=tuple(
                [
                    *drain_checks(a.snap, old_keys, [conn]),
                    *(
                        x
                        for n in sorted(b.snap["connections"][conn]["tunnels"])
                        for x in tunnel_checks(b.snap, conn, int(n))
                    ),
                    *probe(b.snap, [conn]),
                ]
            ),
            impact=_zero(f"{', '.join(sorted(temp_keys))} carry the traffic meanwhile"),
            render_after_apply=True,
            override=b,
        ),
        Sub(
            f"{conn}: the temporary connection {temp} goes",
            "drained first, then deleted: the replaced connection carries the traffic",
            ctx.up(f"DeleteVpnConnection {temp} (temporary)"),
            (router,),
            keys(b.snap, [temp]),
            checks=tuple(
                [*drain_checks(b.snap, keys(b.snap, [temp]), [temp]), *probe(ctx.next, [conn])]
            ),
            impact=_zero(f"{conn} carries the traffic"),
        ),
    ]


def remaining(prev: Snapshot, nxt: Snapshot, conns: Iterable[str]) -> list[str]:
    """The connections left (in `nxt`) from the same datacenters to the same gateways as
    the removed `conns` (in `prev`): what carries their traffic afterwards."""
    want = {
        (prev["connections"][c]["datacenter"], prev["connections"][c]["gateway"]) for c in conns
    }
    return sorted(
        n for n, c in nxt["connections"].items() if (c["datacenter"], c["gateway"]) in want
    )


def remove(ctx: Ctx, ch: Change) -> list[Sub]:
    """Drained, deleted; then the datacenter's probe over the connections that carry on (a
    removed path has no checks of its own left: the probe says the others took over)."""
    conns = list(ch.connections)
    subs = _whole(
        ctx,
        ch,
        conns,
        ctx.up(*(f"DeleteVpnConnection {c}" for c in conns), f"{ch.kind} {ch.subject}"),
        "drained first so that the other paths carry the traffic, then deleted",
        "the remaining connections carry the traffic",
        (
            f"nothing else reaches these gateways from the datacenter: its traffic ends with "
            f"{ch.subject}, by intent",
            "by intent",
        ),
    )
    rest = remaining(ctx.prev, ctx.next, conns)
    return [
        dataclasses.replace(sub, checks=(*sub.checks, *probe(ctx.next, rest)))
        if rest and not any(c.kind == "probe" for c in sub.checks)
        else sub
        for sub in subs
    ]


def other(ctx: Ctx, ch: Change) -> list[Sub]:
    return [
        Sub(
            "changes outside the rollout classes",
            "applied first, as one apply: they move no tunnel (review them with crossnet diff)",
            ctx.up(*ch.detail),
            tuple(ch.routers),
            checks=tuple(probe(ctx.next, sorted(ctx.next["connections"]))),
            impact=_zero("no tunnel is modified by these changes"),
        )
    ]


HANDLERS: dict[str, Callable[[Ctx, Change], list[Sub]]] = {
    "vpc-remove": vpc_remove,
    "vpc-add": add,
    "router-add": add,
    "connection-add": add,
    "dc-prefix": dc_prefix,
    "psk": psk,
    "tunnel-options": tunnel_options,
    "inside-cidr": inside_cidr,
    "gateway-move": gateway_move,
    "customer-asn": cgw_move,
    "router-ip": cgw_move,
    "connection-replace": replace,
    "connection-remove": remove,
    "router-remove": remove,
    "other": other,
}
