"""Drained tunnels: a router's template context with some tunnels depreferred (pure).

`crossnet rollout` moves traffic off a tunnel (or a whole router) before AWS or
the router changes it, and renders that drain with the same templates as every
other config, so the engineer applies exactly what was rendered. A drained
tunnel is made worse than a standby one, in both directions:

* BGP: a lower local preference on what its neighbour sends (inbound), and the
  datacenter's ASN prepended more times than on a standby tunnel (outbound;
  AWS prefers the shorter path: a VGW moves to the other tunnel, a TGW drops the
  tunnel from its ECMP set, which needs paths of equal length);
* static routing: a worse distance than any tunnel in service (the datacenter's
  side only: AWS's side cannot be steered without BGP). FortiOS keeps distances
  equal (see context.FORTIOS_STATIC_PRIORITY) and takes a worse priority.

The templates already render a standby tunnel's route maps from these fields,
so a drain is a change of values, never of templates.
"""

from __future__ import annotations

from dataclasses import replace

from network.render.context import ConnectionContext, RouterContext, TunnelContext

DRAINED_LOCAL_PREF = 10  # standby: 50, default: 100
DRAINED_PREPEND = 4  # standby: 2
DRAINED_STATIC_DISTANCE = 20  # standby: 10, primary: 1
DRAINED_STATIC_PRIORITY = 20  # FortiOS; standby: 10


def drain(ctx: RouterContext, drained: frozenset[str]) -> RouterContext:
    """`ctx` with the tunnels whose keys (`<connection>-<n>`) are in `drained` depreferred."""
    if not drained:
        return ctx
    conns = tuple(
        replace(c, tunnels=tuple(_tunnel(ctx, c, t) if t.key in drained else t for t in c.tunnels))
        for c in ctx.connections
    )
    return replace(
        ctx,
        connections=conns,
        standby_route_maps=any(t.route_map_in for c in conns for t in c.tunnels),
    )


def _tunnel(ctx: RouterContext, c: ConnectionContext, t: TunnelContext) -> TunnelContext:
    if c.bgp:
        # the names context.py gives a standby tunnel's route maps (FortiOS caps lengths)
        key = t.interface if ctx.platform == "fortios" else t.key
        return replace(
            t,
            local_pref=DRAINED_LOCAL_PREF,
            prepend=(ctx.asn,) * DRAINED_PREPEND,
            route_map_in=f"{key}-in",
            route_map_out=f"{key}-out",
        )
    if ctx.platform == "fortios":
        return replace(t, static_priority=DRAINED_STATIC_PRIORITY)
    return replace(t, static_distance=DRAINED_STATIC_DISTANCE)
