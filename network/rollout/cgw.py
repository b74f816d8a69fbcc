"""A router's new public IP with no other router to carry: make before break (pure).

EC2 cannot modify a customer gateway: a new address is a new customer gateway, and
ModifyVpnConnection moves each connection onto it, both tunnels down "while new tunnel
endpoints are provisioned". With another router in the datacenter, that router
carries (`steps.cgw_move`). With none, where AWS allows it, the router holds its old
and its new address for a while, and each of its connections `C` gets a temporary
twin `C-mbb` on the new address (`connections.C-mbb.publicIp`: a customer gateway of
its own, AWS device name `C-mbb`, since AWS returns the existing customer gateway for
an identical request):

1. `C-mbb` (the new address, its own inside CIDRs, generated keys) comes up drained
   and is checked;
2. `C` is drained onto it, the router's customer gateway is replaced (the new
   address) and `C` moved onto it (ModifyVpnConnection: `C`'s tunnels down while
   drained), the router re-addressed from the new outputs, checked, restored;
3. `C-mbb` is drained and deleted, with its customer gateway.

AWS allows it on a transit gateway, which takes several connections from one
customer gateway address (step 2 puts `C` on the address `C-mbb` already uses). A
VGW takes one connection per customer gateway address, so `C` could not join `C-mbb`
there: on a VGW the router's only path keeps the stated outage.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from network.errors import ConfigError
from network.plan import build_plan
from network.review.snapshot import plan_snapshot
from network.rollout.checks import drain_checks, keys, probe, tunnel_checks
from network.rollout.model import Change, Impact
from network.rollout.substep import Ctx, NoSafeOrderError, Override, Sub, zero

NET = "crossnet:network"
SUFFIX = "-mbb"


def allowed(ctx: Ctx, conns: list[str]) -> bool:
    """Make before break is possible: every connection of the router is on a transit
    gateway (a VGW takes one connection per customer gateway address)."""
    return bool(conns) and all(ctx.prev["connections"][c]["gatewayType"] == "tgw" for c in conns)


def _with_temps(
    ctx: Ctx, config: Mapping[str, Any], conns: list[str], ip: str, path: str
) -> Override:
    """`config` plus a temporary twin of each connection on the router's new address."""
    out = copy.deepcopy(dict(config))
    entries = out[NET]["connections"]
    temps = []
    for c in conns:
        entry = copy.deepcopy(ctx.prev_config[NET]["connections"][c])
        for n in (1, 2):  # its own inside CIDRs (from its name) and generated keys
            entry.pop(f"tunnel{n}", None)
        entries[c + SUFFIX] = {**entry, "publicIp": ip}
        temps.append(c + SUFFIX)
    try:
        plan = build_plan(out, ctx.stack, need_secrets=False, previous=ctx.prev)
    except ConfigError as e:
        raise NoSafeOrderError(
            [
                f"temporary connections {', '.join(temps)} on the router's new address "
                "do not plan: " + "; ".join(f"{p.field}: {p.value} ({p.rule})" for p in e.problems)
            ]
        ) from None
    return Override(out, plan, plan_snapshot(plan), path, tuple(temps))


def _router_checks(snap: Mapping[str, Any], conns: list[str]) -> list[Any]:
    return [
        x
        for c in conns
        for n in sorted(snap["connections"][c]["tunnels"])
        for x in tunnel_checks(snap, c, int(n))
    ]


def router_ip_mbb(ctx: Ctx, ch: Change, router: str, conns: list[str]) -> list[Sub]:
    """The three sub-steps of make before break for one router's new address."""
    dc = ctx.next["connections"][conns[0]]["datacenter"]
    ip = str(ctx.next["datacenters"][dc]["routers"][router]["publicIp"])
    a = _with_temps(ctx, ctx.prev_config, conns, ip, ctx.alt("a"))
    b = _with_temps(ctx, ctx.next_config, conns, ip, ctx.alt("b"))
    b = Override(b.config, b.plan, b.snap, b.path, ())
    temps = [c + SUFFIX for c in conns]
    temp_keys = keys(a.snap, temps)
    old_keys = keys(ctx.prev, conns)
    moved = zero(f"{', '.join(sorted(temp_keys))} carry the traffic meanwhile")
    ids = (_router_id(ctx.prev, dc, router), _router_id(ctx.next, dc, router))
    if ids[0] != ids[1]:
        moved = Impact(
            "outage",
            f"{router}'s BGP router ID follows its public IP ({ids[0]} -> {ids[1]}): a new "
            "router ID resets every BGP session of the router at once, the temporary "
            "connections' too",
            f"one BGP reconnect on every session of {router}; set datacenters.{dc}.routers."
            f"{_name(ctx.next, dc, router)}.routerId: {ids[0]} to keep the router ID, and the "
            "sessions, through the change",
        )
    return [
        Sub(
            f"router-ip {router}: temporary connections {', '.join(temps)} on {ip}, beside",
            "make before break: the router holds its old and its new address; a transit "
            "gateway takes several connections from one device, so a temporary twin of each "
            "connection comes up on the new address (a customer gateway of its own), drained, "
            "and is checked first",
            ctx.up(
                *(f"CreateCustomerGateway {t} ({ip}, device name {t})" for t in temps),
                *(f"CreateVpnConnection {t} (temporary)" for t in temps),
                path=a.path,
            ),
            (router,),
            temp_keys,
            checks=tuple(_router_checks(a.snap, temps)),
            impact=zero("adds paths; nothing moves before their checks pass"),
            render_after_apply=True,
            override=a,
        ),
        Sub(
            f"router-ip {router}: moved to its new customer gateway while {', '.join(temps)} carry",
            "the connections are drained onto the temporary ones; the router's customer "
            "gateway is replaced (the new address) and ModifyVpnConnection moves each "
            "connection onto it (both tunnels down while AWS provisions the new endpoints, "
            "drained); the router re-addressed from the new outputs, checked, restored",
            ctx.up(
                f"CreateCustomerGateway for {router} ({ip})",
                *(f"ModifyVpnConnection {c}: the new customer gateway" for c in conns),
                f"DeleteCustomerGateway (the old one of {router})",
                path=b.path,
            ),
            (router,),
            old_keys,
            checks=tuple(
                [
                    *drain_checks(a.snap, old_keys, conns),
                    *_router_checks(b.snap, conns),
                    *probe(b.snap, conns),
                ]
            ),
            impact=moved,
            render_after_apply=True,
            override=b,
        ),
        Sub(
            f"router-ip {router}: the temporary connections {', '.join(temps)} go",
            "drained first, then deleted with their customer gateways: the moved connections "
            "carry the traffic; the router's old address is no longer used",
            ctx.up(
                *(f"DeleteVpnConnection {t} (temporary)" for t in temps),
                *(f"DeleteCustomerGateway {t}" for t in temps),
            ),
            (router,),
            keys(b.snap, temps),
            checks=tuple(
                [*drain_checks(b.snap, keys(b.snap, temps), temps), *probe(ctx.next, conns)]
            ),
            impact=zero(f"{', '.join(conns)} carry the traffic"),
        ),
    ]


def _router_id(s: Mapping[str, Any], dc: str, router: str) -> str:
    r = s["datacenters"][dc]["routers"][router]
    return str(r.get("routerId") or r["publicIp"])


def _name(s: Mapping[str, Any], dc: str, router: str) -> str:
    return str(s["datacenters"][dc]["routers"][router]["name"])
