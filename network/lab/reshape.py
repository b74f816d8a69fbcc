"""A running lab given new or fewer parts in place: what AWS does when a connection,
a gateway or a VPC is created or deleted (new tunnel endpoints, new outside addresses).

`reshape(rt, new)` compares the running layout with the new one:
- parts only in the running lab (a deleted connection's tunnel ends, a deleted VPC's
  host, a deleted gateway) are stopped by PID and their namespaces removed;
- parts only in the new one are created as `lab up` creates them (the same functions
  of `network.lab.daemons`, given a lab of just those parts): namespaces and links,
  one charon per new tunnel end with its TUN moved into the router or gateway, FRR
  for a new gateway, the new VPC hosts' listeners and security groups, and the AWS
  ends' connections loaded. The datacenter ends' connections come with the routers'
  rendered files (`network.lab.live.apply_router`).
Everything is recorded in lab.json before it is created. A tunnel end whose outside
or inside addresses changed is a deleted one and a new one. A datacenter router added or
removed is built or taken down in place too (`network.lab.routers`: its namespace, LAN
link, FRR with the fabric, the datacenter host's ECMP set); what cannot be done in place
(a datacenter added or removed, a running router re-addressed) is a LabError that says so.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from network.lab import daemons, gwmove, hostside, routers
from network.lab.runtime import Running, chown_frr, end_instance, write_state
from network.lab.system import (
    LabError,
    add_namespace,
    delete_namespace,
    in_ns,
    ip_batch,
    namespaces,
    run,
    stop,
    sysctls,
    wait_for,
)
from network.lab.topology import Gateway, Host, Lab, TunnelEnd, _mac, ns_name

Say = Callable[[str], None]


def end_key(e: TunnelEnd) -> tuple[Any, ...]:
    # router_ns: an AWS end moved to another gateway (ModifyVpnConnection) is a new end
    return (
        e.side,
        e.conn_name,
        e.ns,
        e.outside_ip,
        e.peer_outside_ip,
        e.ifname,
        e.inside,
        e.router_ns,
    )


def _host_key(h: Host) -> tuple[Any, ...]:
    return (h.kind, h.ns, h.address, h.gateway_ns, h.gateway_if)


def align(old: Lab, new: Lab, taken: frozenset[str] = frozenset()) -> Lab:
    """`new` with the running ends kept as they run, and new ends given bridge ports and
    MACs no running end uses (the layout numbers them by position, so a connection
    sorted before the others would renumber every port). `taken`: port names that exist
    on the bridge (an end re-created earlier has a port its layout does not know)."""
    running = {end_key(e): e for e in old.ends}
    used_ports = {e.port for e in old.ends} | set(taken)
    used_idx = {int(p[1:]) for p in used_ports if p[1:].isdigit()}
    fresh: dict[int, int] = {}  # new lab's index -> a free index, per tunnel (both ends)
    ends = []
    for e in new.ends:
        if end_key(e) in running:
            ends.append(running[end_key(e)])
            continue
        idx = int(e.port[1:])
        if e.port in used_ports or idx in used_idx:
            if idx not in fresh:
                fresh[idx] = max(used_idx | set(fresh.values()) | {idx}) + 1
            n = fresh[idx]
            dc, aws = _mac(0xDC, n), _mac(0xA5, n)
            mine, peer = (dc, aws) if e.side == "dc" else (aws, dc)
            e = replace(e, port=f"{e.port[0]}{n}", mac=mine, peer_mac=peer)
        ends.append(e)
    return replace(new, ends=tuple(gwmove.keep_macs(old, new, ends, set(running))))


def structure_changes(old: Lab, new: Lab) -> dict[str, list[str]]:
    """What `reshape` would remove and add (names), and what it cannot do in place."""
    oe, ne = {end_key(e) for e in old.ends}, {end_key(e) for e in new.ends}
    og, ng = {g.ns for g in old.gateways}, {g.ns for g in new.gateways}
    oh, nh = {_host_key(h) for h in old.hosts}, {_host_key(h) for h in new.hosts}
    refused = routers.refusals(old, new)
    both = {h.name for h in old.dc_hosts()} & {h.name for h in new.dc_hosts()}
    refused += sorted(
        f"datacenter {h.name}'s host moves to {h.address} (its routers' LAN): not in place"
        for h in new.dc_hosts()
        if h.name in both and _host_key(h) not in oh
    )
    orr, nrr = {r.ns for r in old.routers}, {r.ns for r in new.routers}
    return {
        "remove": sorted(
            {str(k[2]) for k in oe - ne} | (og - ng) | {str(k[1]) for k in oh - nh} | (orr - nrr)
        ),
        "add": sorted(
            {str(k[2]) for k in ne - oe} | (ng - og) | {str(k[1]) for k in nh - oh} | (nrr - orr)
        ),
        "refused": refused,
    }


def bridge_ports(lab: Lab) -> frozenset[str]:
    """The port names on the lab's internet bridge now."""
    res = run(["ip", "-n", lab.inet_ns, "-o", "link", "show"], check=False)
    return frozenset(line.split(":")[1].strip().split("@")[0] for line in res.stdout.splitlines())


def reshape(rt: Running, new: Lab, say: Say) -> Running:
    """The running lab with the parts of `new` it lacks and without those `new` drops."""
    new = align(rt.lab, new, bridge_ports(rt.lab))
    ch = structure_changes(rt.lab, new)
    if ch["refused"]:
        raise LabError(
            "the lab cannot make this change in place:\n  "
            + "\n  ".join(ch["refused"])
            + "\n(`crossnet lab down` and `lab up` build the new layout from nothing)"
        )
    moved = gwmove.moved_hosts(rt.lab, new)
    gwmove.release(rt, gwmove.moved_ends(rt.lab, new), say)
    gwmove.unlink(rt.lab, moved)
    _shrink(rt, new, say, keep={h.ns for h in moved})
    return _grow(rt, new, say, moved)


def orphan_hosts(rt: Running, new: Lab) -> set[str]:
    """Recorded VPC host namespaces that `new` has no host for. The running layout is
    built from the stack file as edited (`open_lab`), so a removed VPC's host is already
    missing from it: lab.json still records its namespace and processes."""
    prefix = ns_name(rt.stack, "vpc") + "."
    keep = {h.ns for h in new.vpc_hosts()}
    return {n for n in rt.state.namespaces if n.startswith(prefix) and n not in keep}


def missing_hosts(rt: Running, new: Lab) -> set[str]:
    """VPC host namespaces of `new` that lab.json does not record. The running layout
    is built from the stack file as edited, so it has them already: a VPC added on an
    existing transit gateway (an attachment, no tunnel end, no gateway) is no
    `structure_changes` addition, yet its host must be built."""
    have = set(rt.state.namespaces)
    return {h.ns for h in new.vpc_hosts() if h.ns not in have}


def _shrink(rt: Running, new: Lab, say: Say, keep: set[str] | None = None) -> None:
    """`keep`: host namespaces that stay though their key changes (a moved VPC host)."""
    keep_e = {end_key(e) for e in new.ends}
    keep_h = {_host_key(h) for h in new.hosts}
    gone = {e.ns for e in rt.lab.ends if end_key(e) not in keep_e}
    gone |= orphan_hosts(rt, new)
    gone |= {g.ns for g in rt.lab.gateways if g.ns not in {x.ns for x in new.gateways}}
    gone |= {h.ns for h in rt.lab.hosts if _host_key(h) not in keep_h} - (keep or set())
    retired = routers.removed(rt.lab, new)
    gone |= {r.ns for r in retired}
    if not gone:
        return
    # The site stops sending to a router before it goes (its host's ECMP set).
    routers.out_of_service(new, retired, say)
    procs = [p for p in rt.state.procs if p.ns in gone]
    stop(procs)
    for h in rt.lab.vpc_hosts():
        if h.ns in gone and h.gateway_ns and h.gateway_ns not in gone:
            run(in_ns(h.gateway_ns, ["ip", "link", "del", str(h.gateway_if)]), check=False)
    # An end's bridge port is the peer of the veth in its namespace: it goes with the
    # namespace (the TUN went with its charon). It is not deleted by name: a lab read
    # back from its outputs (`open_lab`) numbers ports by position, so after an end
    # sorted before the others came or went, the name may be a running end's port.
    for e in rt.lab.ends:
        if e.ns in gone:
            # Its private /run too: a replaced connection's new end has the same instance
            # name, and a stale vici socket or pid file would pass for the new charon's.
            shutil.rmtree(rt.run_dir(end_instance(e)), ignore_errors=True)
    for name in sorted(gone):
        delete_namespace(name)
    rt.state.procs = [p for p in rt.state.procs if p.ns not in gone]
    rt.state.namespaces = [n for n in rt.state.namespaces if n not in gone]
    write_state(rt.state)
    routers.forget(rt, retired)
    say(f"  removed {len(gone)} namespaces (deleted parts): {', '.join(sorted(gone))}")
    routers.refabric(rt, new, {r.datacenter for r in retired}, set(), say)


def _grow(rt: Running, new: Lab, say: Say, moved: list[Host] | None = None) -> Running:
    """`moved`: VPC hosts kept running, linked to their new gateway once it exists."""
    have_ns = set(namespaces())
    ends = tuple(e for e in new.ends if e.ns not in have_ns)
    gateways = tuple(g for g in new.gateways if g.ns not in have_ns)
    hosts = tuple(h for h in new.vpc_hosts() if h.ns not in have_ns)
    fresh = tuple(r for r in new.routers if r.ns not in have_ns)
    nrt = Running(new, rt.state)
    if not (ends or gateways or hosts or moved or fresh):
        return nrt
    part = replace(new, ends=ends, gateways=gateways, hosts=hosts)
    prt = Running(part, rt.state)
    rt.state.namespaces += [n for n in part.namespaces() if n not in rt.state.namespaces]
    write_state(rt.state)
    _links(part, have_ns)
    routers.link(new, fresh)
    gwmove.relink(moved or [], say)
    for e in ends:
        (prt.run_dir(end_instance(e)) / "run" / "netns").mkdir(parents=True, exist_ok=True)
    daemons._start_charons(prt)
    # _move_tunnels also runs each router's crossnet-tunnels.sh: the router's new
    # rendering (applied after this) runs it again for the new interfaces.
    aws_ns = {e.router_ns for e in ends if e.side == "aws"}
    tun_gws = tuple(g for g in new.gateways if g.ns in aws_ns)
    daemons._move_tunnels(replace(prt, lab=replace(part, routers=(), gateways=tun_gws)))
    _tunnel_scripts(rt, new, {e.router_ns for e in ends if e.side == "dc"})
    _gateways_frr(prt, gateways)
    routers.start_frr(nrt, fresh, say)
    for e in ends:
        if e.side == "aws":
            swanctl = prt.config_dir(end_instance(e)) / "swanctl.conf"
            daemons._swanctl(prt, e, "--load-all", "--file", str(swanctl))
    routers.load_tunnels(nrt, fresh)
    routers.refabric(nrt, new, {r.datacenter for r in fresh}, {r.ns for r in fresh}, say)
    _vpc_hosts(prt, hosts)
    routers.in_service(nrt, new, fresh, say)
    say(
        f"  created {len(ends)} tunnel ends, {len(gateways)} gateways, {len(hosts)} VPC hosts, "
        f"{len(fresh)} routers"
    )
    return nrt


def _tunnel_scripts(rt: Running, new: Lab, router_ns: set[str]) -> None:
    """Each router with re-created datacenter ends runs its crossnet-tunnels.sh again: a new
    TUN comes with libipsec's MTU (1500), and the script (MTU, rp_filter, MSS clamp) may
    be unchanged by the router's new rendering, which then does not run it (a new public
    IP: same interfaces, same AWS addresses). Its failure is not checked here: a script
    that names a tunnel interface gone with this change (a new inside CIDR renames it)
    changes with the new rendering, which runs it, checked (`live.apply_router`)."""
    for r in new.routers:
        script = rt.router_dir(r.key) / "crossnet-tunnels.sh"
        if r.ns in router_ns and script.exists():
            run(in_ns(r.ns, ["sh", str(script)]), check=False)


def _links(part: Lab, have: set[str]) -> None:
    for name in part.namespaces():
        if name not in have:
            add_namespace(name)
    inet = part.inet_ns
    for e in part.ends:
        ip_batch(e.ns, daemons.end_link_commands(e, inet))
        ip_batch(inet, [f"link set {e.port} master inet up"])
    for g in part.gateways:
        if g.ns not in have:
            ip_batch(g.ns, ["link set lo up"])
            sysctls(g.ns, daemons.FORWARDING)
    for h in part.vpc_hosts():
        gwmove.link_host(h, ("link set lo up",))


def _gateways_frr(rt: Running, gateways: tuple[Gateway, ...]) -> None:
    for g in gateways:
        inst = rt.gateway_instance(g)
        run_dir = rt.frr_dir(inst)
        run_dir.mkdir(parents=True, exist_ok=True)
        chown_frr(run_dir)
        daemons._start_frr_daemon(rt, inst, g.ns, "zebra")
        zserv = run_dir / "zserv.api"
        wait_for(f"zebra of {inst}", zserv.exists, timeout=15)
        names = [
            "bgpd",
            *(["staticd"] if any(c.routing == "static" for c in g.connections) else []),
        ]
        for d in names:
            daemons._start_frr_daemon(rt, inst, g.ns, d)
        vty = [run_dir / f"{x}.vty" for x in ["zebra", *names]]

        def sockets(vty: list[Path] = vty) -> bool:
            return all(p.exists() for p in vty)

        wait_for(f"the vty sockets of {inst}", sockets, timeout=15)
        daemons._load_frr_conf(rt, inst)


def _vpc_hosts(rt: Running, hosts: tuple[Host, ...]) -> None:
    from network.lab.system import AGENT, AGENT_PYTHON, spawn

    for h in hosts:
        hostside.load_security_groups(rt, h)
        tcp = [*h.tcp_ports, *([h.closed_tcp_port] if h.closed_tcp_port else [])]
        argv = [*AGENT_PYTHON, str(AGENT), "serve", "--name", h.name]
        argv += ["--tcp", ",".join(map(str, tcp)), "--udp", ",".join(map(str, h.udp_ports))]
        rt.record(spawn(f"agent vpc {h.name}", h.ns, argv, rt.log_path(f"agent-vpc-{h.name}")))
