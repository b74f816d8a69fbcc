"""Tunnels and BGP: every SA established, every session Established, exact routes."""

from __future__ import annotations

import shlex
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from network.lab import fabric
from network.lab.batch import MAX_WORKERS, SSH_WORKERS
from network.lab.probe import bgp_peers, json_cmp, tunnel_up
from network.lab.runtime import frr_instance
from network.lab.suite import BGP, IPSEC, Env, poll, prefetch
from network.lab.topology import UNPLANNED_POOLS, rogue_prefix
from network.render import render_router, tunnel_key


def _connection(env: Env, tunnel: str) -> tuple[Any, Any]:
    name = tunnel.rsplit("/", 1)[0]
    for r in env.outputs.routers.values():
        for c in r.connections:
            if c.name == name:
                return r, c
    raise AssertionError(f"{name} is not in the stack outputs")


def _readable(env: Env, key: str) -> dict[str, Any] | None:
    """The router's inventory entry when the suite reads it (env.router, without skipping)."""
    router: dict[str, Any] | None = env.inventory.get("routers", {}).get(key)
    if router is None or (not env.is_lab and env.outputs.routers[key].platform != "linux"):
        return None
    return router


def _state_reads(env: Env) -> dict[str, Any]:
    """Every read the checks below start from: name -> read."""
    reads: dict[str, Any] = {}
    aws = env.inventory.get("aws", {}) if env.is_lab else {}
    for r in env.outputs.routers.values():
        router = _readable(env, r.key)
        if router is None:
            continue
        target, vtysh = router["target"], router["vtysh"]
        reads[f"bgp {r.key}"] = partial(env.vtysh_json, target, vtysh, "show bgp summary json")
        for c in r.connections:
            for t in c.tunnels:
                tunnel = f"{c.name}/{t.number}"
                reads[f"sa {tunnel}"] = partial(env.sas, router, tunnel)
                g = next((g for g in aws.values() if tunnel in g["tunnels"]), None)
                if g is not None:
                    reads[f"sa aws {tunnel}"] = partial(env.sas, g, tunnel)
                if c.routing != "bgp":
                    continue
                reads[f"learned {r.key} {t.aws_inside_ip}"] = partial(
                    _learned, env, target, vtysh, t.aws_inside_ip
                )
                g = aws.get(c.gateway["name"])
                if g is not None:
                    reads[f"learned aws {t.customer_inside_ip}"] = partial(
                        _learned, env, g["target"], g["vtysh"], t.customer_inside_ip
                    )
    return reads


@prefetch("router state", reads=frozenset({BGP, IPSEC}))
def _router_state(env: Env, _session: pytest.Session) -> dict[str, Any] | None:
    """In the lab, each router's and AWS side's state, read once with the session's
    start, all at once: the checks below assert on it, and poll only where it differs.
    (Real hosts are read by each check, one SSH session after another, as before.)"""
    if not env.is_lab:
        return None
    reads = _state_reads(env)
    workers = max(1, min(len(reads), MAX_WORKERS if env.is_lab else SSH_WORKERS))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="state") as pool:
        futures = {name: pool.submit(_quietly, read) for name, read in reads.items()}
        return {name: f.result() for name, f in futures.items()}


def _quietly(read: Any) -> Any:
    # A read that fails (pytest.fail on a daemon that does not answer) is left to the
    # test's own poll, which says why.
    try:
        return read()
    except BaseException:
        return None


def _first(env: Env, name: str) -> Any:
    """What the session's first read gave (None: not read)."""
    return (env.prefetched("router state") or {}).get(name)


def test_ike_and_child_sa_established(env: Env, tunnel: str) -> None:
    """Both SAs of the tunnel are up at the datacenter end (and at AWS's, in the lab)."""
    r, _c = _connection(env, tunnel)
    router = env.router(r.key)
    if env.reads_device(r.key):
        env.device_check(r.key, "tunnels", [tunnel])
        return
    connection, number = tunnel.rsplit("/", 1)
    name = tunnel_key(connection, int(number))
    if tunnel_up(_first(env, f"sa {tunnel}") or {}, name) is not None:
        poll(lambda: env.sas(router, tunnel), lambda s: tunnel_up(s, name), 15, env.poll_wait)
    if env.is_lab:
        if tunnel_up(_first(env, f"sa aws {tunnel}") or {}, name) is None:
            return
        aws = env.inventory["aws"]
        g = next(g for g in aws.values() if tunnel in g["tunnels"])
        poll(lambda: env.sas(g, tunnel), lambda s: tunnel_up(s, name), 15, env.poll_wait)


def test_bgp_sessions_established(env: Env, router_key: str) -> None:
    """Every BGP neighbour of the router (the AWS inside addresses) is Established."""
    router = env.router(router_key)
    r = env.outputs.routers[router_key]
    if env.reads_device(router_key):
        env.device_check(router_key, "bgp", _bgp_tunnels(r))
        return
    want = {
        t.aws_inside_ip: {"state": "Established"}
        for c in r.connections
        if c.routing == "bgp"
        for t in c.tunnels
    }
    if not want or json_cmp(bgp_peers(_first(env, f"bgp {router_key}")), want) is None:
        return
    poll(
        lambda: bgp_peers(
            env.vtysh_json(router["target"], router["vtysh"], "show bgp summary json")
        ),
        want,
        seconds=20,
        wait=env.poll_wait,
    )


def _bgp_tunnels(r: Any) -> list[str]:
    return [f"{c.name}/{t.number}" for c in r.connections if c.routing == "bgp" for t in c.tunnels]


def _learned(env: Env, target: str, vtysh: str, neighbor: str) -> set[str]:
    data = (
        env.vtysh_json(target, vtysh, f"show bgp ipv4 unicast neighbors {neighbor} routes json")
        or {}
    )
    return set((data.get("routes") or {}).keys())


def test_datacenter_learns_exactly_the_planned_aws_prefixes(env: Env, router_key: str) -> None:
    """After its filters, each neighbour gives the router the connection's accept list."""
    router = env.router(router_key)
    r = env.outputs.routers[router_key]
    if env.reads_device(router_key):
        # a device reports counts (its BGP summary): as many as the accept list
        env.device_check(router_key, "routes", _bgp_tunnels(r), "received")
        return
    for c in r.connections:
        if c.routing != "bgp":
            continue
        for t in c.tunnels:
            if _first(env, f"learned {router_key} {t.aws_inside_ip}") == set(c.accept):
                continue
            poll(
                lambda t=t: _learned(env, router["target"], router["vtysh"], t.aws_inside_ip),
                lambda got, c=c, t=t: (
                    None
                    if got == set(c.accept)
                    else f"{c.name}/{t.number}: learned {sorted(got)}, planned {sorted(c.accept)}"
                ),
                seconds=15,
                wait=env.poll_wait,
            )


def _advertised(env: Env, router: dict[str, Any], neighbor: str) -> set[str]:
    command = f"show bgp ipv4 unicast neighbors {neighbor} advertised-routes json"
    data = env.vtysh_json(router["target"], router["vtysh"], command) or {}
    return set((data.get("advertisedRoutes") or {}).keys())


def test_datacenter_advertises_exactly_the_planned_prefixes(env: Env, router_key: str) -> None:
    """After its outbound filter, the router sends each neighbour the connection's
    announce list (real hosts too: the router's own view, where AWS's tables are not read)."""
    router = env.router(router_key)
    r = env.outputs.routers[router_key]
    if env.reads_device(router_key):
        env.device_check(router_key, "routes", _bgp_tunnels(r), "advertised")
        return
    for c in r.connections:
        if c.routing != "bgp":
            continue
        for t in c.tunnels:
            poll(
                lambda t=t: _advertised(env, router, t.aws_inside_ip),
                lambda got, c=c, t=t: (
                    None
                    if got == set(c.announce)
                    else f"{c.name}/{t.number}: advertised {sorted(got)}, "
                    f"planned {sorted(c.announce)}"
                ),
                seconds=15,
            )


def test_aws_learns_exactly_the_datacenter_prefixes(env: Env, gateway_name: str) -> None:
    """The AWS side receives each datacenter's prefixes and nothing else."""
    env.need_lab("reads the AWS side's BGP tables (on AWS itself, use the route tables)")
    g = env.inventory["aws"][gateway_name]
    for r in env.outputs.routers.values():
        for c in r.connections:
            if c.gateway["name"] != gateway_name or c.routing != "bgp":
                continue
            for t in c.tunnels:
                if _first(env, f"learned aws {t.customer_inside_ip}") == set(c.announce):
                    continue
                poll(
                    lambda t=t: _learned(env, g["target"], g["vtysh"], t.customer_inside_ip),
                    lambda got, c=c, t=t: (
                        None
                        if got == set(c.announce)
                        else f"{c.name}/{t.number}: AWS got {sorted(got)}, "
                        f"planned {sorted(c.announce)}"
                    ),
                    seconds=15,
                    wait=env.poll_wait,
                )


def _unplanned_prefix(env: Env) -> str:
    """A /24 in no datacenter prefix, VPC or address space of the plan."""
    rogue = rogue_prefix(env.plan)
    if rogue is None:
        pytest.skip(
            "cannot set up: no /24 of "
            + ", ".join(map(str, UNPLANNED_POOLS))
            + " lies outside every planned range, so there is no rogue prefix to announce"
        )
    return str(rogue)


def test_unplanned_prefix_from_datacenter_is_filtered(env: Env, router_key: str) -> None:
    """A prefix the datacenter announces outside the plan never leaves the router."""
    # BGP only: the rogue prefix is outside every planned range, so no probe between
    # the hosts crosses it (the hosts' probes may run meanwhile).
    rt = env.changes_lab("announces a rogue prefix on the router on purpose", frozenset({BGP}))
    router = env.router(router_key)
    r = env.outputs.routers[router_key]
    bgp = [c for c in r.connections if c.routing == "bgp"]
    if not bgp:
        return
    rogue = _unplanned_prefix(env)
    cmd = (
        f"{router['vtysh']} -c 'configure terminal' -c 'router bgp {r.asn}' "
        f"-c 'address-family ipv4 unicast' -c '{{}}network {rogue}'"
    )
    aws = env.inventory["aws"]
    env.run(router["target"], cmd.format(""))
    try:
        # The router has it (so it would announce it, but for its filter) ...
        poll(
            lambda: env.vtysh_json(
                router["target"], router["vtysh"], f"show bgp ipv4 unicast {rogue} json"
            ),
            {"prefix": rogue},
            seconds=5,
            wait=env.poll_wait,
        )
        for c in bgp:
            g = aws[c.gateway["name"]]
            for t in c.tunnels:
                advertised = env.vtysh_json(
                    router["target"],
                    router["vtysh"],
                    f"show bgp ipv4 unicast neighbors {t.aws_inside_ip} advertised-routes json",
                )
                assert rogue not in (advertised or {}).get("advertisedRoutes", {}), (
                    f"{router_key} advertises {rogue} to {c.name}/{t.number}"
                )
                assert set((advertised or {}).get("advertisedRoutes", {})) == set(c.announce)
                # ... and AWS, asked after an update interval, never learned it.
                got = _learned(env, g["target"], g["vtysh"], t.customer_inside_ip)
                assert rogue not in got, f"AWS learned {rogue} over {c.name}/{t.number}"
    finally:
        env.run(router["target"], cmd.format("no "))
    assert rt is not None


def test_unplanned_prefix_from_aws_is_filtered(env: Env, router_key: str) -> None:
    """A prefix AWS sends outside the plan is received but never installed."""
    env.changes_lab("makes the AWS side announce a rogue prefix", frozenset({BGP}))
    router = env.router(router_key)
    r = env.outputs.routers[router_key]
    bgp = [c for c in r.connections if c.routing == "bgp"]
    if not bgp:
        return
    rogue = _unplanned_prefix(env)
    for c in bgp:
        g = env.inventory["aws"][c.gateway["name"]]
        asn = c.tunnels[0].aws_asn
        # As if a VPC outside the plan were attached: in the AWS side's
        # announcements and in its export list for this connection.
        change = (
            f"{g['vtysh']} -c 'configure terminal' "
            f"-c '{{0}}ip prefix-list to-{c.name} seq 4000 permit {rogue}' "
            f"-c 'router bgp {asn}' -c 'address-family ipv4 unicast' "
            f"-c '{{0}}network {rogue}'"
        )
        env.run(g["target"], change.format(""))
        try:
            for t in c.tunnels:
                received = f"show bgp ipv4 unicast neighbors {t.aws_inside_ip} received-routes json"
                poll(
                    lambda t=t, q=received: set(
                        (env.vtysh_json(router["target"], router["vtysh"], q) or {}).get(
                            "receivedRoutes", {}
                        )
                    ),
                    lambda got: None if rogue in got else f"{rogue} not received yet",
                    seconds=10,
                    wait=env.poll_wait,
                )
                assert rogue not in _learned(
                    env, router["target"], router["vtysh"], t.aws_inside_ip
                )
            routes = env.run(router["target"], f"ip -j route show {shlex.quote(rogue)}").stdout
            assert rogue.split("/")[0] not in routes, f"{router_key} installed {rogue}"
        finally:
            env.run(g["target"], change.format("no "))


def test_lab_runs_the_rendered_files_unchanged(env: Env, router_key: str) -> None:
    """Every file the renderer makes for the router is the one the lab's daemons read,
    byte for byte (a router of another platform is rendered as linux for the lab)."""
    rt = env.need_lab("compares the lab's files with the renderer's")
    r = next(r for r in rt.lab.routers if r.key == router_key)
    rendered = render_router(r.router)
    d = rt.router_dir(router_key)
    on_disk = {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}
    assert on_disk == set(rendered)
    for name, text in rendered.items():
        assert (d / name).read_text() == text, f"{name} differs from the rendering"
    # What FRR reads: the rendering, byte for byte, with the lab's datacenter fabric
    # (iBGP to the datacenter's other routers, network.lab.fabric) before its final
    # `end`, and nothing else; a datacenter's only router gets the rendering alone.
    frr = d.parent.parent / "config" / frr_instance(router_key) / "frr.conf"
    assert frr.read_text() == fabric.compose(rendered["frr.conf"], fabric.stanza(rt.lab, r))
    if len([p for p in rt.lab.routers if p.datacenter == r.datacenter]) == 1:
        assert frr.read_text() == rendered["frr.conf"]
