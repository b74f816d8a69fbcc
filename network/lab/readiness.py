"""When is a lab converged, and why not: the readiness checks and their diagnosis.

Every condition of a converged lab is a probe returning None or what differs
(`json_cmp` style): each tunnel end's IKE and child SA, each BGP session,
and each router's and gateway's kernel routes against the planned prefixes
over the planned tunnels (`expected_routes_dc` / `expected_routes_aws`:
tunnel 1 for active/standby, every tunnel for ECMP). `wait_ready` polls them
with a bound; on timeout it names every difference, a zebra FIB out of step
with the kernel (`fib_mismatch`), and the daemons' own log lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from network.lab import fabric
from network.lab.events import LabEvents
from network.lab.probe import json_cmp, parse_json, tunnel_up
from network.lab.runtime import Running, end_instance, frr_instance
from network.lab.system import LabError, tail
from network.lab.topology import DcRouter, Gateway, Lab, TunnelEnd

Probe = Callable[[], "str | None"]


def checks(rt: Running) -> list[tuple[str, str, Probe]]:
    """Every condition of a converged lab: (phase, what, probe -> difference or None)."""
    lab = rt.lab

    def tunnel(e: TunnelEnd) -> Probe:
        return lambda: tunnel_up(rt.sas(e), e.conn_name)

    def bgp(instance: str, peers: dict[str, Any]) -> Probe:
        return lambda: json_cmp(rt.bgp(instance), peers)

    def routes(ns: str, want: dict[str, tuple[set[str], int]]) -> Probe:
        return lambda: routes_match(rt.routes(ns), want)

    out: list[tuple[str, str, Probe]] = []
    for e in lab.ends:
        out.append(("tunnels", f"{e.side} end of {e.tunnel}", tunnel(e)))
    for r in lab.routers:
        peers = {
            t.aws_inside_ip: {"state": "Established"}
            for c in r.router.connections
            if c.routing == "bgp"
            for t in c.tunnels
        }
        peers |= {n: {"state": "Established"} for n in fabric.neighbors(lab, r)}
        if peers:
            out.append(("bgp", f"BGP of {r.key}", bgp(frr_instance(r.key), peers)))
    for g in lab.gateways:
        peers = {
            t.customer_inside_ip: {"state": "Established"}
            for c in g.connections
            if c.routing == "bgp"
            for t in c.tunnels
        }
        if peers:
            out.append(("bgp", f"BGP of AWS {g.name}", bgp(rt.gateway_instance(g), peers)))
    for r in lab.routers:
        out.append(("routes", f"routes of {r.key}", routes(r.ns, expected_routes_dc(lab, r))))
    for g in lab.gateways:
        out.append(("routes", f"routes of AWS {g.name}", routes(g.ns, expected_routes_aws(lab, g))))
    return out


def expected_routes_dc(
    lab: Lab, r: DcRouter, down: frozenset[str] = frozenset()
) -> dict[str, tuple[set[str], int]]:
    """prefix -> (devices the route may use, how many it must use), tunnels in `down` gone.

    A prefix none of the router's own tunnels carries any more leaves over the LAN
    when a fabric peer (network.lab.fabric) still has a tunnel for it: the iBGP path."""
    want = _own_routes(lab, r, down)
    for p, (_devs, count) in want.items():
        if count == 0 and any(
            _own_routes(lab, q, down).get(p, (set(), 0))[1] for q in _peers(lab, r)
        ):
            want[p] = ({fabric.LAN}, 1)
    return want


def _peers(lab: Lab, r: DcRouter) -> list[DcRouter]:
    keys = set(fabric.neighbors(lab, r).values())
    return [q for q in lab.routers if q.key in keys]


def _own_routes(lab: Lab, r: DcRouter, down: frozenset[str]) -> dict[str, tuple[set[str], int]]:
    want: dict[str, tuple[set[str], int]] = {}
    for c in r.router.connections:
        ends = [lab.end("dc", f"{c.name}/{t.number}") for t in c.tunnels]
        ends = [e for e in ends if e.tunnel not in down]
        for p in c.accept:
            want[p] = route_paths(c.redundancy == "ecmp", ends, want.get(p))
    return want


def expected_routes_aws(
    lab: Lab, g: Gateway, down: frozenset[str] = frozenset()
) -> dict[str, tuple[set[str], int]]:
    want: dict[str, tuple[set[str], int]] = {}
    for c in g.connections:
        ends = [lab.end("aws", f"{c.name}/{t.number}") for t in c.tunnels]
        ends = [e for e in ends if e.tunnel not in down]
        for p in c.announce:
            want[p] = route_paths(c.redundancy == "ecmp", ends, want.get(p))
    return want


def carries_traffic(lab: Lab, tunnel: str) -> bool:
    """Whether planned traffic crosses the tunnel in a converged lab: every tunnel of an
    ECMP connection, the active one (the lowest-numbered) of an active/standby one. A
    standby tunnel closed and back moves no packet between the hosts."""
    dc, aws = lab.end("dc", tunnel), lab.end("aws", tunnel)
    router = lab.router_of(dc)
    gateway = next(g for g in lab.gateways if g.ns == aws.router_ns)
    return any(dc.ifname in devs for devs, _n in expected_routes_dc(lab, router).values()) or any(
        aws.ifname in devs for devs, _n in expected_routes_aws(lab, gateway).values()
    )


def route_paths(
    ecmp: bool, ends: list[TunnelEnd], have: tuple[set[str], int] | None
) -> tuple[set[str], int]:
    """The devices a prefix may leave by and how many it must use, given the tunnels
    `ends` still up of one more connection carrying it (`have`: the others' so far)."""
    if not ends:
        return have or (set(), 0)
    if ecmp:
        devs = {e.ifname for e in ends}
        if have:
            return have[0] | devs, have[1] + len(devs)
        return devs, len(devs)
    # Active/standby: the lowest-numbered tunnel still up carries the traffic;
    # between connections, any one of their active tunnels.
    best = min(ends, key=lambda e: e.number).ifname
    if have:
        return have[0] | {best}, 1
    return {best}, 1


def routes_match(routes: dict[str, list[str]], want: dict[str, tuple[set[str], int]]) -> str | None:
    for prefix, (allowed, count) in want.items():
        devs = routes.get(prefix)
        if count == 0:
            continue
        if not devs:
            return f"{prefix}: no route"
        if not set(devs) <= allowed or len(set(devs)) != count:
            return (
                f"{prefix}: via {', '.join(sorted(devs))}, expected "
                f"{count} of {', '.join(sorted(allowed))}"
            )
    return None


def fib_mismatch(rt: Running, r: DcRouter) -> list[str]:
    """Prefixes whose FIB nexthops per zebra differ from the kernel's route.

    FRR 8.4 with kernel nexthop groups can lose an ECMP member in the kernel
    when a tunnel interface flaps within milliseconds, while zebra still shows
    it installed: this names that case instead of a bare "wrong route".
    """
    kernel = rt.routes(r.ns)
    out = []
    for c in r.router.connections:
        for prefix in c.accept:
            data = parse_json(rt.vtysh(frr_instance(r.key), f"show ip route {prefix} json"))
            entries = (data or {}).get(prefix) or [{}]
            fib = {n.get("interfaceName") for n in entries[0].get("nexthops", []) if n.get("fib")}
            if fib and fib != set(kernel.get(prefix, [])):
                out.append(
                    f"{r.key} {prefix}: zebra's FIB has {', '.join(sorted(fib))}, the "
                    f"kernel {', '.join(kernel.get(prefix, [])) or 'nothing'} (kernel "
                    "nexthop group out of step with zebra: `no zebra nexthop kernel "
                    "enable` in frr.conf avoids it)"
                )
    return out


def wait_ready(rt: Running, timeout: float) -> dict[str, float]:
    """Run every check until all pass; time when each phase first did. LabError on timeout.

    A converged lab passes at once. Otherwise the checks run again whenever the lab
    reports a change (`network.lab.events`: an SA up or down, a route, a BGP session),
    at the latest every `events.TICK` seconds."""
    todo = checks(rt)
    t0 = time.monotonic()
    first: dict[str, float] = {}

    def one_pass() -> dict[str, str]:
        rt.check_alive()
        diffs = {}
        for _phase, what, probe in todo:
            diff = probe()
            if diff is not None:
                diffs[what] = diff
        for phase in ("tunnels", "bgp", "routes"):
            items = [w for p, w, _ in todo if p == phase]
            if phase not in first and not any(w in diffs for w in items):
                first[phase] = round(time.monotonic() - t0, 2)
        return diffs

    diffs = one_pass()
    if diffs:
        with LabEvents(rt) as events:
            while diffs:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    break
                events.wait(left)
                diffs = one_pass()
    if not diffs:
        return {f"{k}_ready": v for k, v in first.items()}
    stale = [
        m for r in rt.lab.routers if f"routes of {r.key}" in diffs for m in fib_mismatch(rt, r)
    ]
    raise LabError(
        f"the lab did not converge within {timeout:g} s:\n"
        + "\n".join(f"  - {w}: {d}" for w, d in diffs.items())
        + "".join(f"\n  - {m}" for m in stale)
        + "\n"
        + diagnose(rt, diffs)
    )


_INTERESTING = (
    "error",
    "fail",
    "unable",
    "no proposal",
    "authentication",
    "invalid",
    "notify",
    "no matching",
    "retransmit",
    "giving up",
    "deleting",
    "adjchange",
    "notification",
    "reset",
    "hold timer",
)


def diagnose(rt: Running, diffs: dict[str, str]) -> str:
    """The daemons' own log lines behind the checks that failed."""
    picks: dict[str, Path] = {}
    for e in rt.lab.ends:
        if f"{e.side} end of {e.tunnel}" in diffs:
            picks[f"charon, {e.side} end of {e.tunnel}"] = rt.log_path(end_instance(e))
    for r in rt.lab.routers:
        if f"BGP of {r.key}" in diffs or f"routes of {r.key}" in diffs:
            picks[f"bgpd of {r.key}"] = rt.log_path(f"{frr_instance(r.key)}-bgpd")
    for g in rt.lab.gateways:
        if f"BGP of AWS {g.name}" in diffs or f"routes of AWS {g.name}" in diffs:
            picks[f"bgpd of AWS {g.name}"] = rt.log_path(f"{rt.gateway_instance(g)}-bgpd")

    def interesting(line: str) -> bool:
        low = line.lower()
        return any(k in low for k in _INTERESTING)

    return "\n".join(
        f"  {what} ({path}):\n{tail(path, 8, interesting)}" for what, path in picks.items()
    )
