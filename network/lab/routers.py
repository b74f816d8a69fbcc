"""Datacenter routers added to or removed from a running lab in place (`network.lab.reshape`).

A new router is built as `lab up` builds one: its namespace (forwarding on, redirects
off), its veth to its datacenter host's LAN bridge with its LAN addresses, its rendered
files (every tunnel *drained*: a new router comes up depreferred, the rollout's restore
or the next render takes that back), one charon per tunnel end (`reshape` starts them
with the other new ends), FRR (zebra, bgpd, staticd) with its `frr.conf` and the lab's
datacenter fabric (`configs.router_frr_conf`), and its tunnels loaded. The fabric
stanza of the datacenter's other routers gains it (`frr-reload.py`).

The datacenter host's default route (the site's own routing, lab-only like the fabric)
takes a new router into its ECMP set only once it routes every VPC subnet its peers
route: a router is put in service on the LAN when it can forward. A removed router
leaves that set *first*, then its daemons are stopped by PID and its namespaces go (its
LAN veth with them), and its peers' fabric stanzas lose it.

What is still refused in place (`refusals`): a datacenter added or removed (its host),
and a change that renumbers a remaining router's LAN addresses (the lab numbers a
datacenter's routers by key: removing one that sorts first would re-address the others).
A datacenter prefix added or withdrawn is no renumbering: its address comes or goes, the
others stay.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace

from netaddr import IPAddress, IPNetwork

from network.lab import daemons
from network.lab.configs import VTYSH_CONF, router_frr_conf
from network.lab.runtime import Running, chown_frr, frr_instance
from network.lab.system import ip_batch, sysctls, wait_for
from network.lab.topology import DcRouter, Host, Lab
from network.render import render_router

Say = Callable[[str], None]
FRR_DAEMONS = ("zebra", "bgpd", "staticd")  # what the rendered frr.conf needs
ROUTED_TIMEOUT = 60.0  # s: a new router's routes (fabric and tunnels) before it takes traffic


def added(old: Lab, new: Lab) -> tuple[DcRouter, ...]:
    """Routers in `new` that `old` does not run (by namespace)."""
    have = {r.ns for r in old.routers}
    return tuple(r for r in new.routers if r.ns not in have)


def removed(old: Lab, new: Lab) -> tuple[DcRouter, ...]:
    """Routers `old` runs that `new` has no longer."""
    keep = {r.ns for r in new.routers}
    return tuple(r for r in old.routers if r.ns not in keep)


def renumbered(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """A LAN address in a prefix both layouts have moved. A datacenter prefix added or
    withdrawn adds or drops an address of its own (the datacenter's space in use before
    it is announced, or after it is withdrawn): the running ones stay."""
    before = {str(IPNetwork(a).cidr): a for a in old}
    after = {str(IPNetwork(a).cidr): a for a in new}
    return any(before[p] != a for p, a in after.items() if p in before)


def refusals(old: Lab, new: Lab) -> list[str]:
    """What a router change asks that the lab cannot do in place, one reason each."""
    out = []
    olds = {r.ns: r for r in old.routers}
    for r in new.routers:
        o = olds.get(r.ns)
        if o is not None and renumbered(o.lan, r.lan):
            out.append(
                f"{r.key}: its LAN addresses would move from {', '.join(o.lan)} to "
                f"{', '.join(r.lan)} (the lab numbers a datacenter's routers by key): the lab "
                "does not re-address a running router"
            )
    ohosts = {h.name for h in old.dc_hosts()}
    nhosts = {h.name for h in new.dc_hosts()}
    for dc in sorted(ohosts ^ nhosts):
        out.append(
            f"datacenter {dc} {'added' if dc in nhosts else 'removed'} (its host hangs off "
            "every router of it): not in place; `crossnet lab down` and `lab up`"
        )
    return out


def dc_host(lab: Lab, r: DcRouter) -> Host:
    return next(h for h in lab.dc_hosts() if h.name == r.datacenter)


def default_route(h: Host) -> str:
    """The datacenter host's default route over its routers (ECMP), as an `ip` command."""
    if len(h.gateways) == 1:
        return f"route replace default via {h.gateways[0]}"
    return "route replace default " + " ".join(f"nexthop via {gw}" for gw in h.gateways)


def drained_all(r: DcRouter) -> frozenset[str]:
    """Every tunnel key of a router (what a new router comes up with drained)."""
    from network.render import tunnel_key

    return frozenset(tunnel_key(c.name, t.number) for c in r.router.connections for t in c.tunnels)


def write_files(rt: Running, new: Lab) -> None:
    """The rendered files of every new router (drained), before its charons start: they
    mount its directory at /etc/swanctl and include its strongswan.d."""
    for r in added(rt.lab, new):
        d = rt.router_dir(r.key)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True, mode=0o700)
        secrets = [t.psk.reveal() for c in r.router.connections for t in c.tunnels]
        for name, text in render_router(r.router, drained=drained_all(r)).items():
            daemons.write_config_file(d, name, text, secrets)


def link(new: Lab, routers: tuple[DcRouter, ...]) -> None:
    """A new router's namespace settings and its LAN link (the namespace exists)."""
    for r in routers:
        h = dc_host(new, r)
        ip_batch(r.ns, ["link set lo up"])
        sysctls(r.ns, daemons.ROUTER_SYSCTLS)  # before the LAN link: `default` applies
        ip_batch(
            r.ns,
            [
                f"link add lan type veth peer name {r.lan_port} netns {h.ns}",
                *(f"addr add {a} dev lan" for a in r.lan),
                "link set lan up",
            ],
        )
        ip_batch(h.ns, [f"link set {r.lan_port} master lan up"])


def start_frr(rt: Running, routers: tuple[DcRouter, ...], say: Say) -> None:
    """FRR of each new router, as `lab up` starts it, its frr.conf with the fabric."""
    for r in routers:
        inst = frr_instance(r.key)
        conf = rt.config_dir(inst)
        rendered = (rt.router_dir(r.key) / "frr.conf").read_text()
        (conf / "frr.conf").write_text(router_frr_conf(rt.lab, r, rendered))
        (conf / "vtysh.conf").write_text(VTYSH_CONF)
        run_dir = rt.frr_dir(inst)
        run_dir.mkdir(parents=True, exist_ok=True)
        chown_frr(run_dir)
        daemons._start_frr_daemon(rt, inst, r.ns, "zebra")
        wait_for(f"zebra of {inst}", (run_dir / "zserv.api").exists, timeout=15)
        for d in FRR_DAEMONS[1:]:
            daemons._start_frr_daemon(rt, inst, r.ns, d)

        def sockets(inst: str = inst) -> bool:
            return all((rt.frr_dir(inst) / f"{d}.vty").exists() for d in FRR_DAEMONS)

        wait_for(f"the vty sockets of {inst}", sockets, timeout=15)
        daemons._load_frr_conf(rt, inst)
        say(f"  router {r.key}: FRR started, its tunnels drained")


def load_tunnels(rt: Running, routers: tuple[DcRouter, ...]) -> None:
    """The new routers' datacenter ends' connections (each its rendered per-tunnel file)."""
    keys = {r.ns for r in routers}
    for e in rt.lab.ends:
        if e.side == "dc" and e.router_ns in keys:
            daemons._load_connections(replace(rt, lab=replace(rt.lab, ends=(e,))))


def refabric(rt: Running, lab: Lab, dcs: set[str], skip: set[str], say: Say) -> None:
    """The fabric stanza of the running routers of `dcs` (not `skip`) as `lab` lays the
    datacenter out, reloaded where it changed (a router added or gone)."""
    from network.lab.live import frr_reload

    for r in lab.routers:
        if r.datacenter not in dcs or r.ns in skip:
            continue
        inst = frr_instance(r.key)
        path = rt.config_dir(inst) / "frr.conf"
        text = router_frr_conf(lab, r, (rt.router_dir(r.key) / "frr.conf").read_text())
        if path.is_file() and path.read_text() == text:
            continue
        path.write_text(text)
        frr_reload(path, rt.frr_dir(inst), say)
        say(f"  router {r.key}: the datacenter fabric follows ({r.datacenter})")


def _covers(routes: set[str], address: str) -> bool:
    """Whether a kernel table's destinations (not its default route) cover an address."""
    ip = IPAddress(address)
    return any(d != "default" and ip in IPNetwork(d) for d in routes)


def routed(rt: Running, lab: Lab, r: DcRouter) -> set[str]:
    """The VPC host addresses a router must route before it takes traffic: those the other
    routers of its datacenter route (every VPC host when it is the only one)."""
    hosts = {h.address for h in lab.vpc_hosts()}
    peers = [p for p in lab.routers if p.datacenter == r.datacenter and p.ns != r.ns]
    if not peers:
        return hosts
    tables = [set(rt.routes(p.ns)) for p in peers]
    return {a for a in hosts if any(_covers(t, a) for t in tables)}


def in_service(rt: Running, lab: Lab, routers: tuple[DcRouter, ...], say: Say) -> None:
    """Each new router taken into its datacenter host's ECMP set once it routes what its
    peers route (the site puts a router in service on the LAN when it can forward)."""
    for r in routers:
        want = routed(rt, lab, r)

        def ready(r: DcRouter = r, want: set[str] = want) -> bool:
            table = set(rt.routes(r.ns))
            return all(_covers(table, a) for a in want)

        wait_for(f"router {r.key}'s routes to {', '.join(sorted(want))}", ready, ROUTED_TIMEOUT)
    for h in {dc_host(lab, r).ns: dc_host(lab, r) for r in routers}.values():
        ip_batch(h.ns, [default_route(h)])
        say(f"  datacenter {h.name}: default route over {', '.join(h.gateways)}")


def out_of_service(new: Lab, routers: tuple[DcRouter, ...], say: Say) -> None:
    """The datacenter hosts' default routes without the routers about to go, then the
    routers' LAN links deleted (from the host's side: a veth goes as a pair). Not left to
    the namespace's deletion: a charon's private mount namespace (its rbind of /run/netns)
    keeps a deleted network namespace alive, and with it the router's LAN address."""
    for dc in sorted({r.datacenter for r in routers}):
        h = next(h for h in new.dc_hosts() if h.name == dc)
        ip_batch(h.ns, [default_route(h)])
        ip_batch(h.ns, [f"link del {r.lan_port}" for r in routers if r.datacenter == dc])
        gone = ", ".join(r.key for r in routers if r.datacenter == dc)
        say(f"  datacenter {dc}: {gone} out of service, default route over {', '.join(h.gateways)}")


def forget(rt: Running, routers: tuple[DcRouter, ...]) -> None:
    """A removed router's files and sockets (its processes and namespace are gone)."""
    for r in routers:
        inst = frr_instance(r.key)
        shutil.rmtree(rt.router_dir(r.key), ignore_errors=True)
        shutil.rmtree(rt.paths.config_dir(inst), ignore_errors=True)
        shutil.rmtree(rt.frr_dir(inst), ignore_errors=True)
