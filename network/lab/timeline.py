"""When each part of a lab became ready: per tunnel end, per BGP session, per router.

`wait_ready` (readiness.py) knows when each phase was first complete;
this module times every item of it: each tunnel end's IKE and child SA,
each BGP session Established, each router's and gateway's planned prefixes
in its kernel. Each daemon is read once (one `vtysh` per BGP speaker, one vici
call per charon, one `ip route` per namespace), all at once in threads, and then
again whenever it reports a change (`network.lab.events`: vici's up/down events,
netlink route changes, bgpd's neighbour log). `lab up --timings` and
bench/lab_bench.py print the result; it is also written to
`<lab>/timeline.json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from network.lab import fabric
from network.lab.events import LabEvents
from network.lab.probe import tunnel_up
from network.lab.readiness import expected_routes_aws, expected_routes_dc, routes_match
from network.lab.runtime import Running, frr_instance
from network.state import lab_dir

Reader = Callable[[], Any]


def _items(rt: Running) -> tuple[dict[str, Reader], list[tuple[str, str, Callable[[Any], bool]]]]:
    """The readers (one per daemon or namespace) and the items judged on what they read:
    (item, reader key, ready?)."""
    lab = rt.lab
    readers: dict[str, Reader] = {}
    items: list[tuple[str, str, Callable[[Any], bool]]] = []
    for e in lab.ends:
        key = f"sa {e.side} {e.tunnel}"
        readers[key] = partial(rt.sas, e)
        items.append(
            (
                f"IKE+child SA, {e.side} end of {e.tunnel}",
                key,
                partial(_sa_ok, e.conn_name),
            )
        )
    speakers: list[tuple[str, str, list[str]]] = []
    for r in lab.routers:
        peers = [
            t.aws_inside_ip for c in r.router.connections if c.routing == "bgp" for t in c.tunnels
        ]
        peers += list(fabric.neighbors(lab, r))  # the lab's datacenter fabric (iBGP)
        speakers.append((r.key, frr_instance(r.key), peers))
    for g in lab.gateways:
        peers = [
            t.customer_inside_ip for c in g.connections if c.routing == "bgp" for t in c.tunnels
        ]
        speakers.append((f"AWS {g.name}", rt.gateway_instance(g), peers))
    for name, instance, peers in speakers:
        if not peers:
            continue
        key = f"bgp {instance}"
        readers[key] = partial(rt.bgp, instance)
        for p in peers:
            items.append(
                (
                    f"BGP {name} -> {p} Established",
                    key,
                    partial(_established, p),
                )
            )
    for r in lab.routers:
        key = f"routes {r.ns}"
        readers[key] = partial(rt.routes, r.ns)
        want = expected_routes_dc(lab, r)
        items.append((f"prefixes converged, {r.key}", key, partial(_routes_ok, want)))
    for g in lab.gateways:
        key = f"routes {g.ns}"
        readers[key] = partial(rt.routes, g.ns)
        want = expected_routes_aws(lab, g)
        items.append((f"prefixes converged, AWS {g.name}", key, partial(_routes_ok, want)))
    return readers, items


def _sa_ok(conn: str, sas: dict[str, Any]) -> bool:
    return tunnel_up(sas, conn) is None


def _established(peer: str, peers: dict[str, Any]) -> bool:
    return bool((peers.get(peer) or {}).get("state") == "Established")


def _routes_ok(want: dict[str, tuple[set[str], int]], routes: dict[str, list[str]]) -> bool:
    return routes_match(routes, want) is None


def watch(rt: Running, timeout: float, t0: float | None = None) -> dict[str, float | None]:
    """Seconds from `t0` (default: now, time.time()) at which each item was first ready;
    None for an item not ready within `timeout`. Returns once every item is ready.

    Event-driven (`network.lab.events`): everything is read once, then a reader runs
    again only when its daemon or kernel says something changed, and only while an
    item judged on it is not ready yet."""
    start = time.time() if t0 is None else t0
    readers, items = _items(rt)
    first: dict[str, float | None] = {name: None for name, _k, _ok in items}
    deadline = time.monotonic() + timeout
    with (
        LabEvents(rt, only=readers) as events,
        ThreadPoolExecutor(max_workers=max(1, min(16, len(readers)))) as pool,
    ):
        changed = set(readers)
        while True:
            waiting = {key for name, key, _ok in items if first[name] is None}
            futures = {k: pool.submit(readers[k]) for k in changed & waiting}
            got = {k: f.result() for k, f in futures.items()}
            now = round(time.time() - start, 2)
            for name, key, ok in items:
                if first[name] is None and key in got and ok(got[key]):
                    first[name] = now
            left = deadline - time.monotonic()
            if all(v is not None for v in first.values()) or left <= 0:
                return first
            changed = events.wait(left)


def phases(timeline: dict[str, float | None], offset: float) -> dict[str, float]:
    """When every tunnel, every BGP session, every router's prefixes were ready, in seconds
    after the wait began (`offset` seconds into the timeline): readiness.wait_ready's keys."""
    out: dict[str, float] = {}
    for key, prefix in (("tunnels", "IKE"), ("bgp", "BGP"), ("routes", "prefixes")):
        times = [v for k, v in timeline.items() if k.startswith(prefix)]
        if times and all(v is not None for v in times):
            out[f"{key}_ready"] = round(
                max(0.0, max(v for v in times if v is not None) - offset), 2
            )
    return out


def save(rt: Running, timeline: dict[str, float | None]) -> None:
    path = lab_dir(rt.state.stack) / "timeline.json"
    path.write_text(json.dumps(timeline, indent=1) + "\n")


def load(stack: str) -> dict[str, Any]:
    path = lab_dir(stack) / "timeline.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return data
