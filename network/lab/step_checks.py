"""A rollout step's checks (data from rollout.json) evaluated against a running lab.

Each check kind reads the daemons' own state (vici `list-sas`, `vtysh ... json`,
`ip -j route`) and returns None when it holds, else what differs. `wait_checks`
polls them together with a bound, as FRR's topotests do (`run_and_expect`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from network.lab.probe import json_cmp, parse_json, tunnel_up
from network.lab.runtime import Running, frr_instance
from network.lab.system import in_ns, run
from network.lab.topology import TunnelEnd, expected_flows

Check = dict[str, Any]


def _end(rt: Running, tunnel: str, side: str = "dc") -> TunnelEnd:
    for e in rt.lab.ends:
        if e.side == side and e.conn_name == tunnel:
            return e
    raise KeyError(f"no {side} end of tunnel {tunnel!r} in the running lab")


def _ipsec(rt: Running, c: Check) -> str | None:
    e = _end(rt, c["tunnel"])
    return tunnel_up(rt.sas(e), e.conn_name)


def _bgp(rt: Running, c: Check) -> str | None:
    n = c["expect"]["neighbor"]
    return json_cmp(rt.bgp(frr_instance(c["router"])), {n: {"state": "Established"}})


def _received(rt: Running, c: Check) -> str | None:
    n = c["expect"]["neighbor"]
    out = parse_json(
        rt.vtysh(frr_instance(c["router"]), f"show bgp ipv4 unicast neighbors {n} routes json")
    )
    have = sorted(((out or {}).get("routes") or {}).keys())
    want = sorted(c["expect"]["prefixes"])
    return None if set(want) <= set(have) else f"{n}: accepted {have}, expected {want}"


def _advertised(rt: Running, c: Check) -> str | None:
    n = c["expect"]["neighbor"]
    out = parse_json(
        rt.vtysh(
            frr_instance(c["router"]), f"show bgp ipv4 unicast neighbors {n} advertised-routes json"
        )
    )
    have = sorted(((out or {}).get("advertisedRoutes") or {}).keys())
    want = sorted(c["expect"]["prefixes"])
    return None if set(want) <= set(have) else f"{n}: advertised {have}, expected {want}"


def _avoids(rt: Running, c: Check) -> str | None:
    # A drain moves the traffic: every prefix keeps a best route, none through the
    # drained tunnel (no route at all is traffic dropped, not avoided).
    e = _end(rt, c["tunnel"])
    routes = rt.routes(e.router_ns)
    gone = [p for p in c["expect"]["prefixes"] if not routes.get(p)]
    if gone:
        return f"no route to {gone} at all while {c['tunnel']} is drained: nothing carries it"
    bad = [p for p in c["expect"]["prefixes"] if e.ifname in routes[p]]
    return f"best route to {bad} still leaves through {e.ifname}" if bad else None


def _prepend(rt: Running, c: Check) -> str | None:
    # What AWS received: the path at the gateway from this tunnel's datacenter side:
    # `asPathLength` exactly, or (a tunnel that carries while another is drained)
    # `asPathBelow`, shorter than the drained path; with `fibAvoids`, the gateway's kernel
    # routes to the prefixes also leave by none of those (drained) tunnels.
    dc, aws_end = _end(rt, c["tunnel"]), _end(rt, c["tunnel"], "aws")
    g = next(g for g in rt.lab.gateways if g.ns == aws_end.router_ns)
    peer = dc.inside.split("/")[0]
    want, below = c["expect"].get("asPathLength"), c["expect"].get("asPathBelow")
    for prefix in c["expect"]["prefixes"]:
        out = parse_json(rt.vtysh(rt.gateway_instance(g), f"show bgp ipv4 unicast {prefix} json"))
        paths = [p for p in (out or {}).get("paths", []) if p.get("peer", {}).get("peerId") == peer]
        lengths = [p.get("aspath", {}).get("length") for p in paths]
        ok = (want in lengths) if want is not None else any(x < below for x in lengths if x)
        if not ok:
            return f"AWS holds {prefix} from {peer} with AS-path lengths {lengths}"
    return _fib_avoids(rt, g.ns, c["expect"]["prefixes"], c["expect"].get("fibAvoids", []))


def _fib_avoids(rt: Running, ns: str, prefixes: list[str], tunnels: list[str]) -> str | None:
    # BGP's choice is not yet forwarding: the gateway's kernel routes to `prefixes` leave
    # by none of `tunnels` (zebra installs the new best path after BGP has chosen it).
    if not tunnels:
        return None
    routes = rt.routes(ns)
    avoid = {_end(rt, t, "aws").ifname: t for t in tunnels}
    for prefix in prefixes:
        devs = routes.get(prefix, [])
        if not devs:
            return f"AWS's FIB has no route to {prefix}"
        bad = sorted(avoid[d] for d in devs if d in avoid)
        if bad:
            return f"AWS's FIB still routes {prefix} through {', '.join(bad)} ({devs})"
    return None


def _probe(rt: Running, c: Check) -> str | None:
    # From the datacenter host to each VPC host in the expected prefix (3 pings, no loss)
    # whose security groups admit ICMP from it: a VPC that admits nothing from that
    # datacenter (prod's data from fra) cannot answer, whatever the routing.
    from netaddr import IPAddress, IPNetwork

    to = IPNetwork(c["expect"]["to"])
    src = IPNetwork(c["expect"]["from"])
    hosts = [h for h in rt.lab.vpc_hosts() if IPAddress(h.address) in to]
    dcs = [h for h in rt.lab.dc_hosts() if IPAddress(h.address) in src]
    for d in dcs:
        for h in hosts:
            if not expected_flows(d.address, h.ingress, [], [])["icmp"]:
                continue
            argv = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", d.address]
            res = run(in_ns(d.ns, [*argv, h.address]), check=False, timeout=10)
            if res.returncode != 0:
                return f"ping {d.address} -> {h.address} lost packets"
    return None


KINDS: dict[str, Callable[[Running, Check], str | None]] = {
    "ipsec-sa": _ipsec,
    "bgp-established": _bgp,
    "prefixes-received": _received,
    "prefixes-advertised": _advertised,
    "route-avoids": _avoids,
    "advertised-prepend": _prepend,
    "probe": _probe,
}


def failing(rt: Running, checks: list[Check]) -> list[str]:
    """What each failing check says (empty: all hold)."""
    out = []
    for c in checks:
        fn = KINDS.get(c["kind"])
        diff = f"unknown check kind {c['kind']!r}" if fn is None else fn(rt, c)
        if diff:
            out.append(f"{c['text']}: {diff}")
    return out


def wait_checks(
    rt: Running, checks: list[Check], timeout: float, interval: float = 0.5
) -> tuple[list[str], float]:
    """Poll until every check holds or `timeout` passes; (what still fails, seconds waited)."""
    t0 = time.monotonic()
    while True:
        bad = failing(rt, checks)
        waited = time.monotonic() - t0
        if not bad or waited >= timeout:
            return bad, round(waited, 2)
        time.sleep(interval)
