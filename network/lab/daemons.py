"""Namespaces, links and daemons of a lab: what `lab up` creates, in order.

`bring_up` creates every namespace and link, writes the configs (the
renderer's files for the routers, unchanged; the lab's own from
`network.lab.configs`), starts one charon per tunnel end and moves its TUN
into the router or gateway, starts FRR (zebra first), loads the connections
and starts the hosts' listeners. Every process is recorded in lab.json before
the next one starts (`Running.record`), and every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from network.contract import write_private
from network.lab import aws, hostside
from network.lab.configs import config_files, router_frr_conf
from network.lab.runtime import Running, chown_frr, end_instance, frr_instance
from network.lab.system import (
    AGENT,
    AGENT_PYTHON,
    CHARON,
    FRR_DIR,
    LabError,
    add_namespace,
    in_ns,
    ip_batch,
    run,
    spawn,
    sysctls,
    tail,
    wait_for,
)
from network.lab.topology import Lab, TunnelEnd
from network.render import linux_tunnel_file

Say = Callable[[str], None]

# Where the rendered Linux configs expect to live on a real router.
ETC_SWANCTL = "/etc/swanctl"
FORWARDING = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}
# A router forwards what the LAN hands it to a fabric peer on the same LAN when its own
# AWS paths are drained or gone (network.lab.fabric): an ICMP redirect would teach the
# host that shortcut, which then outlives the drain. Redirects off, as on a router.
ROUTER_SYSCTLS = {
    **FORWARDING,
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
}
INET_TABLE = "crossnet_inet"


def bring_up(
    rt: Running, rendered: dict[str, dict[str, str]], timers: aws.Timers, say: Say
) -> None:
    """Everything of the lab, started and recorded; the caller waits for readiness."""
    lab, t0 = rt.lab, time.monotonic()

    def mark(what: str) -> None:
        rt.state.timings[what] = round(time.monotonic() - t0, 2)

    say(f"creating {len(lab.namespaces())} namespaces and their links")
    _network(lab)
    mark("network")
    write_configs(rt, rendered, timers)
    say(
        f"starting {len(lab.ends)} charons (one per tunnel end), FRR for "
        f"{len(lab.routers)} datacenter routers and {len(lab.gateways)} AWS gateways, "
        "and the hosts, side by side"
    )

    # IPsec and FRR do not depend on each other until BGP runs over the tunnels (zebra
    # takes a tunnel interface's configuration before the interface exists), and bgpd
    # holds its sessions for a second after loading its config anyway: each chain runs
    # in its own thread, the hosts meanwhile in this one.
    def ipsec() -> None:
        _start_charons(rt)
        _move_tunnels(rt)
        mark("charons")
        _load_connections(rt)
        mark("connections")

    def frr() -> None:
        _start_frr(rt)
        mark("frr")

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="bring-up") as pool:
        chains = [pool.submit(ipsec), pool.submit(frr)]
        try:
            _hosts(rt)
            mark("hosts")
        finally:
            errors = [e for e in (f.exception() for f in chains) if e is not None]
    if errors:
        raise errors[0]


# ---------------------------------------------------------------- network
def end_link_commands(e: TunnelEnd, inet: str) -> list[str]:
    """`ip` commands that give a tunnel end's helper namespace its outside link.

    Each helper owns one outside address and reaches exactly its peer: a /32 route
    and a permanent neighbour entry, so two datacenter ends holding the router's one
    public IP never answer for each other.
    """
    return [
        "link set lo up",
        f"link add wan address {e.mac} type veth peer name {e.port} netns {inet}",
        "link set wan up",
        f"addr add {e.outside_ip}/32 dev wan",
        f"route add {e.peer_outside_ip}/32 dev wan",
        f"neigh replace {e.peer_outside_ip} lladdr {e.peer_mac} dev wan nud permanent",
    ]


def write_config_file(d: Path, name: str, text: str, secrets: list[str]) -> None:
    """One config file of a lab instance: 0600 from the first byte when it holds a key."""
    path = d / name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if any(secret in text for secret in secrets):
        write_private(path, text)
    else:
        # A new file renamed over the old: a script charon is running right now (the
        # updown script) cannot be opened for writing (ETXTBSY), and is never half-written.
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.chmod(0o755 if name.endswith(".sh") else 0o644)
        os.replace(tmp, path)


def _network(lab: Lab) -> None:
    for name in lab.namespaces():
        add_namespace(name)
    inet = lab.inet_ns
    ip_batch(inet, ["link set lo up", "link add inet type bridge", "link set inet up"])
    run(in_ns(inet, ["nft", "-f", "-"]), input=_inet_nft())
    for e in lab.ends:
        ip_batch(e.ns, end_link_commands(e, inet))
    ip_batch(inet, [f"link set {e.port} master inet up" for e in lab.ends])
    for r in lab.routers:
        ip_batch(r.ns, ["link set lo up"])
        sysctls(r.ns, ROUTER_SYSCTLS)  # before the LAN link: `default` applies to it
    for g in lab.gateways:
        ip_batch(g.ns, ["link set lo up"])
        sysctls(g.ns, FORWARDING)
    for h in lab.dc_hosts():
        routers = [r for r in lab.routers if r.datacenter == h.name]
        ip_batch(h.ns, ["link set lo up", "link add lan type bridge", "link set lan up"])
        for r in routers:
            ip_batch(
                r.ns,
                [
                    f"link add lan type veth peer name {r.lan_port} netns {h.ns}",
                    *(f"addr add {a} dev lan" for a in r.lan),
                    "link set lan up",
                ],
            )
        ip_batch(
            h.ns,
            [
                *(f"link set {r.lan_port} master lan up" for r in routers),
                f"addr add {h.address}/{h.prefixlen} dev lan",
                f"addr add {h.unplanned_source}/32 dev lan",
                *(f"addr add {a} dev lan" for a in h.prefix_addresses),
                "route add default "
                + (
                    f"via {h.gateways[0]}"
                    if len(h.gateways) == 1
                    else " ".join(f"nexthop via {gw}" for gw in h.gateways)
                ),
            ],
        )
    for h in lab.vpc_hosts():
        assert h.gateway_ns and h.gateway_if and h.subnet
        plen = h.prefixlen
        ip_batch(
            h.gateway_ns,
            [
                f"link add {h.gateway_if} type veth peer name eth0 netns {h.ns}",
                f"addr add {h.gateways[0]}/{plen} dev {h.gateway_if}",
                f"link set {h.gateway_if} up",
            ],
        )
        ip_batch(
            h.ns,
            [
                "link set lo up",
                f"addr add {h.address}/{plen} dev eth0",
                "link set eth0 up",
                f"route add default via {h.gateways[0]}",
            ],
        )


def _inet_nft() -> str:
    # Silent path failure: a pair of outside addresses in `cut` is dropped on
    # the internet bridge, both ways, with no ICMP and no link change.
    return f"""table bridge {INET_TABLE} {{
    set cut {{ type ipv4_addr . ipv4_addr; }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        ip saddr . ip daddr @cut counter drop
    }}
}}
"""


# ---------------------------------------------------------------- configs
def write_configs(rt: Running, rendered: dict[str, dict[str, str]], timers: aws.Timers) -> None:
    """The routers' rendered files (byte for byte) and the lab's own config files."""
    lab = rt.lab
    for e in lab.ends:
        (rt.run_dir(end_instance(e)) / "run" / "netns").mkdir(parents=True, exist_ok=True)
    for r in lab.routers:
        d = rt.router_dir(r.key)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True, mode=0o700)
        secrets = [t.psk.reveal() for c in r.router.connections for t in c.tunnels]
        for name, text in rendered[r.key].items():
            write_config_file(d, name, text, secrets)
        frr = rt.config_dir(frr_instance(r.key))
        (frr / "frr.conf").write_text(router_frr_conf(lab, r, rendered[r.key]["frr.conf"]))
        (frr / "vtysh.conf").write_text("! crossnet lab\n")
    with_d = frozenset(
        key for key, files in rendered.items() if any(n.startswith("strongswan.d/") for n in files)
    )
    ip = shutil.which("ip") or "ip"
    for rel, f in config_files(lab, timers, rt.paths, with_d, ip).items():
        inst, name = rel.split("/", 1)
        path = rt.config_dir(inst) / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if f.mode == 0o600:
            write_private(path, f.text)
        else:
            path.write_text(f.text)
            path.chmod(f.mode)


# ---------------------------------------------------------------- charons
def _start_charons(rt: Running) -> None:
    for e in rt.lab.ends:
        inst = end_instance(e)
        conf = rt.config_dir(inst)
        run_dir = rt.run_dir(inst) / "run"
        # charon hard-wires /run/charon.pid: each gets a private /run that
        # still shows /run/netns. A datacenter charon also sees the router's
        # rendered files at /etc/swanctl, where its config points (updown).
        mounts = [f"mount --rbind /run/netns {run_dir}/netns"]
        path = "/usr/sbin:/usr/bin:/sbin:/bin"
        if e.side == "dc":
            mounts.append(f"mount --bind {rt.router_dir(rt.lab.router_of(e).key)} {ETC_SWANCTL}")
            path = f"{conf / 'bin'}:{path}"
        mounts.append(f"mount --rbind {run_dir} /run")
        script = "set -e; " + "; ".join(mounts) + f"; exec {CHARON}"
        env = {"PATH": path, "STRONGSWAN_CONF": str(conf / "strongswan.conf")}
        rt.record(
            spawn(
                f"charon {e.side} {e.tunnel}",
                e.ns,
                ["sh", "-c", script],
                rt.log_path(inst).with_suffix(".out"),
                env=env,
            ),
        )


def _move_tunnels(rt: Running) -> None:
    # libipsec's TUN appears as ipsec0 in the charon's namespace. Moved into
    # the router (and renamed as the renderer names the tunnel), it works like
    # a route-based tunnel interface. charon looks ipsec0 up again later, so a
    # stand-in of that name stays behind.
    # libipsec still routes everything into ipsec0 through table 220: the
    # stand-in must be up for that to succeed, and the rule sending the
    # helper's own traffic to table 220 goes, so IKE and ESP reach the peer.
    pending = list(rt.lab.ends)

    def ready() -> bool:
        for e in list(pending):
            # Once vici listens, every plugin is loaded: the TUN and the rule exist.
            if Path(rt.vici_socket(e)).exists():
                pending.remove(e)
                ip_batch(
                    e.ns,
                    [
                        f"link set ipsec0 name {e.ifname}",
                        f"link set {e.ifname} netns {e.router_ns}",
                        "tuntap add ipsec0 mode tun",
                        "link set ipsec0 up",
                        "rule del table 220",
                    ],
                )
        rt.check_alive()
        return not pending

    try:
        wait_for("libipsec's TUN devices", ready, timeout=15)
    except LabError as err:
        raise LabError(
            "these charons created no TUN device:\n"
            + "\n".join(
                f"  {e.tunnel} ({e.side}):\n{tail(rt.log_path(end_instance(e)), 10)}"
                for e in pending
            )
            + f"\n({err})"
        ) from None
    for g in rt.lab.gateways:
        ends = [e for e in rt.lab.ends if e.side == "aws" and e.router_ns == g.ns]
        mtu = {c.name: c.tunnel_mtu for c in g.connections}
        # Down until the SA is up: the updown script follows the child SA.
        ip_batch(
            g.ns,
            [
                cmd
                for e in ends
                for cmd in (
                    f"addr add {e.inside} dev {e.ifname}",
                    f"link set {e.ifname} mtu {mtu[e.connection]}",
                )
            ],
        )
    for r in rt.lab.routers:
        script = rt.router_dir(r.key) / "crossnet-tunnels.sh"
        if script.exists():
            # The rendered script, unchanged: it finds each tunnel interface in
            # place (so it adds no XFRM device), sets the MTU and clamps TCP MSS.
            res = run(in_ns(r.ns, ["sh", str(script)]), check=False)
            with open(rt.log_path(frr_instance(r.key)).with_name(f"tunnels-{r.key}.log"), "w") as f:
                f.write(res.stdout + res.stderr)
            if res.returncode != 0:
                raise LabError(
                    f"router {r.key}: the rendered crossnet-tunnels.sh failed "
                    f"(exit {res.returncode}):\n{res.stderr.strip()}"
                )


# ---------------------------------------------------------------- FRR
def _frr_profile(conf: Path) -> str:
    # `frr defaults` is read at start-up only, as frrinit.sh passes it.
    for line in conf.read_text().splitlines():
        if line.startswith("frr defaults "):
            return line.split()[2]
    return "traditional"


def _start_frr(rt: Running) -> None:
    jobs: list[tuple[str, str, list[str]]] = []
    for r in rt.lab.routers:
        # The rendered frr.conf says it needs zebra, bgpd and staticd.
        jobs.append((frr_instance(r.key), r.ns, ["zebra", "bgpd", "staticd"]))
    for g in rt.lab.gateways:
        static = any(c.routing == "static" for c in g.connections)
        jobs.append(
            (rt.gateway_instance(g), g.ns, ["zebra", "bgpd", *(["staticd"] if static else [])])
        )
    # zebra first, as frrinit.sh does: a bgpd that finds no zserv socket cannot
    # register its nexthops (it logs "zclient_send_message() failed") and only
    # validates the peers' routes once it has reconnected, seconds later.
    for inst, ns, _daemons in jobs:
        run_dir = rt.frr_dir(inst)
        run_dir.mkdir(parents=True, exist_ok=True)
        chown_frr(run_dir)
        _start_frr_daemon(rt, inst, ns, "zebra")

    def zserv() -> bool:
        rt.check_alive()
        return all((rt.frr_dir(inst) / "zserv.api").exists() for inst, _ns, _d in jobs)

    wait_for("zebra's zserv sockets", zserv, timeout=15)
    for inst, ns, daemons in jobs:
        for d in daemons:
            if d != "zebra":
                _start_frr_daemon(rt, inst, ns, d)
    for inst, _ns, daemons in jobs:
        run_dir = rt.frr_dir(inst)

        def sockets(run_dir: Path = run_dir, daemons: list[str] = daemons) -> bool:
            rt.check_alive()
            return all((run_dir / f"{d}.vty").exists() for d in daemons)

        wait_for(f"the vty sockets of {inst}", sockets, timeout=15)
    # Each instance's config at once (vtysh talks to that instance's daemons only): bgpd
    # holds its sessions for a second after its load, so this load starts BGP's clock.
    with ThreadPoolExecutor(max_workers=len(jobs) or 1, thread_name_prefix="frr-load") as pool:
        for done in [pool.submit(_load_frr_conf, rt, inst) for inst, _ns, _d in jobs]:
            done.result()


def _start_frr_daemon(rt: Running, inst: str, ns: str, d: str) -> None:
    run_dir = rt.frr_dir(inst)
    profile = _frr_profile(rt.config_dir(inst) / "frr.conf")
    argv = [
        str(FRR_DIR / d),
        "-F",
        profile,
        "-i",
        f"{run_dir}/{d}.pid",
        "-z",
        f"{run_dir}/zserv.api",
        "--vty_socket",
        str(run_dir),
        "-A",
        "127.0.0.1",
        "-P",
        "0",
        "-u",
        "frr",
        "-g",
        "frr",
        "--log",
        "stdout",
    ]
    rt.record(spawn(f"{d} {inst}", ns, argv, rt.log_path(f"{inst}-{d}")))


def _load_frr_conf(rt: Running, inst: str) -> None:
    """`vtysh -b` loads the instance's frr.conf; any line FRR rejects fails `lab up`."""
    conf = rt.config_dir(inst)
    res = run(
        ["vtysh", "--vty_socket", str(rt.frr_dir(inst)), "--config_dir", str(conf), "-b"],
        check=False,
        timeout=30,
    )
    text = (res.stdout + res.stderr).strip()
    (conf / "vtysh-boot.log").write_text(text + "\n")
    rejected = [
        line
        for line in text.splitlines()
        if line.startswith(("%", "line ")) and "vtysh.conf" not in line
    ]
    if res.returncode != 0 or rejected:
        raise LabError(
            f"FRR rejected part of {conf / 'frr.conf'} ({inst}):\n  "
            + "\n  ".join(rejected or text.splitlines()[-10:])
        )


# ---------------------------------------------------------------- connections
def _swanctl(rt: Running, e: TunnelEnd, *args: str) -> str:
    env = {**os.environ, "STRONGSWAN_CONF": str(rt.swanctl_conf(e))}
    res = run(
        ["swanctl", *args, "--uri", f"unix://{rt.vici_socket(e)}"], env=env, check=False, timeout=20
    )
    if res.returncode != 0:
        raise LabError(
            f"swanctl {' '.join(args)} for {e.side} end of {e.tunnel} failed:\n"
            f"{(res.stdout + res.stderr).strip()}"
        )
    return res.stdout


def _load_connections(rt: Running) -> None:
    # The AWS ends answer; the datacenter ends (start_action = start) call.
    aws_ends = [e for e in rt.lab.ends if e.side == "aws"]
    dc_ends = [e for e in rt.lab.ends if e.side == "dc"]
    for e in aws_ends:
        _swanctl(
            rt, e, "--load-all", "--file", str(rt.config_dir(end_instance(e)) / "swanctl.conf")
        )
    for e in dc_ends:
        d = rt.router_dir(rt.lab.router_of(e).key)
        own = d / linux_tunnel_file(e.connection, e.number)
        if own.exists():
            # The rendered per-tunnel file, as a real router's swanctl.conf includes it.
            _swanctl(rt, e, "--load-all", "--file", str(own))
        else:
            # One file for every tunnel: load it whole, keep this end's tunnel.
            _swanctl(rt, e, "--load-all", "--file", str(d / "swanctl.conf"))
            for name in _loaded_connections(rt, e):
                if name != e.conn_name:
                    rt.vici(e, "unload-conn", {"name": name})


def _loaded_connections(rt: Running, e: TunnelEnd) -> list[str]:
    from network.lab import vici

    with vici.Session(rt.vici_socket(e)) as s:
        return [n for item in s.streamed("list-conns", "list-conn") for n in item]


# ---------------------------------------------------------------- hosts
def _hosts(rt: Running) -> None:
    for h in rt.lab.hosts:
        if h.kind == "vpc":
            hostside.load_security_groups(rt, h)
        tcp = [*h.tcp_ports, *([h.closed_tcp_port] if h.closed_tcp_port else [])]
        argv = [
            *AGENT_PYTHON,
            str(AGENT),
            "serve",
            "--name",
            h.name,
            "--tcp",
            ",".join(map(str, tcp)),
            "--udp",
            ",".join(map(str, h.udp_ports)),
        ]
        rt.record(
            spawn(f"agent {h.kind} {h.name}", h.ns, argv, rt.log_path(f"agent-{h.kind}-{h.name}"))
        )
