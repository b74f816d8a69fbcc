"""`crossnet lab up | down | status`: build the lab, wait for it, take it down.

`up` creates every namespace and link, starts one charon per tunnel end and
FRR per router, loads the rendered datacenter configs unchanged and the AWS
side's own, then waits (bounded) until every tunnel is installed, every BGP
session is Established and every planned route is in both kernels. When the
bound passes it fails with the daemons' own log lines and takes down what it
started (unless asked to keep it). `down` stops exactly the recorded
processes by PID and removes every namespace; it is safe to run twice, and
after a crash.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from network.contract import write_private
from network.lab import aws, sg
from network.lab.probe import json_cmp, parse_json, tunnel_up
from network.lab.runtime import (
    RUN_ROOT,
    LabState,
    Running,
    build,
    chown_frr,
    end_instance,
    frr_instance,
    read_state,
    sha256_file,
    state_path,
    write_state,
)
from network.lab.system import (
    AGENT,
    CHARON,
    FRR_DIR,
    LabError,
    Proc,
    add_namespace,
    alive,
    delete_namespace,
    in_ns,
    ip_batch,
    missing_requirements,
    namespaces,
    pids_in_namespace,
    rss_kib,
    run,
    spawn,
    stop,
    sysctls,
    tail,
    wait_for,
)
from network.lab.topology import DcRouter, Gateway, Lab, TunnelEnd, ns_prefix
from network.render import linux_tunnel_file, render_router
from network.state import lab_dir, outputs_path

Say = Callable[[str], None]

CHARON_PLUGINS = (
    "random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 x509 pubkey "
    "kernel-libipsec kernel-netlink socket-default vici updown"
)
SWANCTL_PLUGINS = "pem pkcs1 x509 revocation constraints pubkey openssl random"
# Where the rendered Linux configs expect to live on a real router.
ETC_SWANCTL = "/etc/swanctl"
FORWARDING = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}
DEFAULT_WAIT = 60.0
INET_TABLE = "crossnet_inet"


class AlreadyUpError(LabError):
    exit_code = 0

    def render(self) -> str:
        return str(self)


def _quiet(_: str) -> None:
    pass


@contextmanager
def _lock(stack: str) -> Iterator[None]:
    d = lab_dir(stack)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(d / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(
                f"another `crossnet lab` command is working on stack {stack!r}"
            ) from None
        yield


# ================================================================= up
def up(
    stack: str,
    timers: str = "aws",
    outputs: Path | None = None,
    wait: float = DEFAULT_WAIT,
    keep: bool = False,
    say: Say = _quiet,
) -> Running:
    """Bring the lab of `stack` up and wait until it has converged."""
    problems = missing_requirements()
    if problems:
        raise LabError("the lab cannot run here:\n" + "\n".join(f"  - {p}" for p in problems))
    if timers not in aws.TIMERS:
        raise LabError(f"--timers {timers!r}: one of {', '.join(aws.TIMERS)}")
    with _lock(stack):
        old = read_state(stack)
        if old is not None:
            live = [p for p in old.procs if alive(p)]
            present = [n for n in old.namespaces if n in namespaces()]
            if live and len(live) == len(old.procs) and old.ready:
                raise AlreadyUpError(
                    f"the lab of stack {stack!r} is already up ({len(live)} "
                    f"processes, {len(present)} namespaces); `crossnet lab "
                    f"down --stack {stack}` takes it down"
                )
            if live or present:
                raise LabError(
                    f"a lab of stack {stack!r} was left half up ({len(live)} of "
                    f"{len(old.procs)} processes running, {len(present)} "
                    f"namespaces): `crossnet lab down --stack {stack}` first"
                )
            state_path(stack).unlink()
        outputs = outputs or outputs_path(stack)
        if not outputs.exists():
            raise LabError(f"{outputs} does not exist: run `crossnet up --stack {stack}` first")
        lab = build(stack, outputs)
        clash = sorted(set(lab.namespaces()) & namespaces())
        if clash:
            raise LabError(
                f"namespaces {', '.join(clash)} exist but no lab state does: "
                f"`crossnet lab down --stack {stack}` removes them"
            )
        rendered = {r.key: render_router(r.router) for r in lab.routers}
        _rotate_logs(stack)
        state = LabState(
            stack=stack,
            outputs=str(outputs.resolve()),
            outputs_sha256=sha256_file(outputs),
            timers=timers,
            started=time.time(),
            namespaces=lab.namespaces(),
        )
        write_state(state)
        rt = Running(lab, state)
        try:
            _bring_up(rt, rendered, aws.TIMERS[timers], say)
            say(f"waiting for tunnels, BGP and routes (at most {wait:g} s)")
            rt.state.timings.update(wait_ready(rt, wait))
        except BaseException:
            if not keep:
                _teardown(rt.state, _quiet)
                say("bring-up failed: what was started is down again (logs are kept)")
            raise
        rt.state.ready = True
        rt.state.timings["up"] = round(time.time() - state.started, 2)
        write_state(rt.state)
        write_inventory(rt)
        return rt


def _rotate_logs(stack: str) -> None:
    """Each bring-up logs afresh; the previous one's logs stay in logs.previous/."""
    logs = lab_dir(stack) / "logs"
    if logs.exists():
        previous = logs.with_name("logs.previous")
        shutil.rmtree(previous, ignore_errors=True)
        logs.rename(previous)


def _bring_up(
    rt: Running, rendered: dict[str, dict[str, str]], timers: aws.Timers, say: Say
) -> None:
    lab, t0 = rt.lab, time.monotonic()
    mark = lambda what: rt.state.timings.__setitem__(  # noqa: E731
        what, round(time.monotonic() - t0, 2)
    )
    say(f"creating {len(lab.namespaces())} namespaces and their links")
    _network(lab)
    mark("network")
    _write_configs(rt, rendered, timers)
    say(f"starting {len(lab.ends)} charons (one per tunnel end)")
    _start_charons(rt)
    _move_tunnels(rt)
    mark("charons")
    say(
        f"starting FRR for {len(lab.routers)} datacenter routers and "
        f"{len(lab.gateways)} AWS gateways"
    )
    _start_frr(rt)
    mark("frr")
    _load_connections(rt)
    mark("connections")
    _hosts(rt)
    mark("hosts")


# ---------------------------------------------------------------- network
def _network(lab: Lab) -> None:
    for name in lab.namespaces():
        add_namespace(name)
    inet = lab.inet_ns
    ip_batch(inet, ["link set lo up", "link add inet type bridge", "link set inet up"])
    run(in_ns(inet, ["nft", "-f", "-"]), input=_inet_nft())
    for e in lab.ends:
        # Each helper owns one outside address and reaches exactly its peer: a
        # /32 route and a permanent neighbour entry, so two datacenter ends
        # holding the router's one public IP never answer for each other.
        ip_batch(
            e.ns,
            [
                "link set lo up",
                f"link add wan address {e.mac} type veth peer name {e.port} netns {inet}",
                "link set wan up",
                f"addr add {e.outside_ip}/32 dev wan",
                f"route add {e.peer_outside_ip}/32 dev wan",
                f"neigh replace {e.peer_outside_ip} lladdr {e.peer_mac} dev wan nud permanent",
            ],
        )
    ip_batch(inet, [f"link set {e.port} master inet up" for e in lab.ends])
    for r in lab.routers:
        ip_batch(r.ns, ["link set lo up"])
        sysctls(r.ns, FORWARDING)
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
def _config_dir(rt: Running, instance: str) -> Path:
    d = lab_dir(rt.stack) / "config" / instance
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def _log(rt: Running, instance: str) -> Path:
    d = lab_dir(rt.stack) / "logs"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d / f"{instance}.log"


def strongswan_conf(log: Path, timers: aws.Timers | None, include: str | None = None) -> str:
    """A charon's daemon settings (the lab's, on both sides).

    `include`: daemon settings the renderer wrote for the router (strongswan.d),
    read first so that the lab's own (libipsec, logging, socket) win.
    """
    first = f"include {include}\n" if include else ""
    retransmit = (
        ""
        if timers is None
        else (
            f"  retransmit_timeout = {timers.retransmit_timeout}\n"
            f"  retransmit_base = {timers.retransmit_base}\n"
            f"  retransmit_tries = {timers.retransmit_tries}\n"
        )
    )
    return f"""{first}# crossnet lab: charon settings. libipsec carries ESP in userspace (this
# kernel has no ESP); routes are FRR's business, so charon installs none of its own.
charon {{
  load = {CHARON_PLUGINS}
  install_routes = no
{retransmit}  filelog {{
    lab {{
      path = {log}
      time_format = %H:%M:%S
      time_precision = ms
      flush_line = yes
      default = 1
    }}
  }}
  syslog {{
    daemon {{
      default = -1
    }}
  }}
  plugins {{
    vici {{
      socket = unix:///run/charon.vici
    }}
  }}
}}
swanctl {{
  load = {SWANCTL_PLUGINS}
}}
"""


def _write_configs(rt: Running, rendered: dict[str, dict[str, str]], timers: aws.Timers) -> None:
    lab = rt.lab
    conns = {c.name: c for _r, c in lab.connections()}
    for e in lab.ends:
        inst = end_instance(e)
        d = _config_dir(rt, inst)
        run_dir = rt.run_dir(inst)
        (run_dir / "run" / "netns").mkdir(parents=True, exist_ok=True)
        include = None
        if e.side == "dc":
            key = _router_of(rt.lab, e).key
            if any(name.startswith("strongswan.d/") for name in rendered[key]):
                include = f"{rt.router_dir(key)}/strongswan.d/*.conf"
        (d / "strongswan.conf").write_text(
            strongswan_conf(_log(rt, inst), timers if e.side == "aws" else None, include)
        )
        if e.side == "aws":
            updown = d / "updown.sh"
            updown.write_text(aws.updown_script(e, str(d / "strongswan.conf")))
            updown.chmod(0o755)
            c = conns[e.connection]
            t = next(t for t in c.tunnels if t.number == e.number)
            write_private(
                d / "swanctl.conf", aws.swanctl_conf(e, c, t.psk.reveal(), str(updown), timers)
            )
        else:
            # The rendered updown calls `ip link set <tunnel> up|down` in the
            # namespace charon runs in; here the tunnel lives in the router's
            # namespace, so this charon's PATH finds an `ip` that goes there.
            shim = d / "bin" / "ip"
            shim.parent.mkdir(exist_ok=True)
            shim.write_text(
                f"#!/bin/sh\n# crossnet lab: the tunnel interfaces of this charon "
                f"live in {e.router_ns}\nexec {shutil.which('ip')} -n {e.router_ns} "
                '"$@"\n'
            )
            shim.chmod(0o755)
    for r in lab.routers:
        d = rt.router_dir(r.key)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True, mode=0o700)
        secrets = [t.psk.reveal() for c in r.router.connections for t in c.tunnels]
        for name, text in rendered[r.key].items():
            path = d / name
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if any(s in text for s in secrets):
                write_private(path, text)
            else:
                path.write_text(text)
                path.chmod(0o755 if name.endswith(".sh") else 0o644)
        frr = _config_dir(rt, frr_instance(r.key))
        shutil.copyfile(d / "frr.conf", frr / "frr.conf")
        (frr / "vtysh.conf").write_text("! crossnet lab\n")
    for g in lab.gateways:
        frr = _config_dir(rt, rt.gateway_instance(g))
        (frr / "frr.conf").write_text(aws.frr_conf(g, timers))
        (frr / "vtysh.conf").write_text("! crossnet lab\n")


# ---------------------------------------------------------------- charons
def _start_charons(rt: Running) -> None:
    for e in rt.lab.ends:
        inst = end_instance(e)
        conf = _config_dir(rt, inst)
        run_dir = rt.run_dir(inst) / "run"
        # charon hard-wires /run/charon.pid: each gets a private /run that
        # still shows /run/netns. A datacenter charon also sees the router's
        # rendered files at /etc/swanctl, where its config points (updown).
        mounts = [f"mount --rbind /run/netns {run_dir}/netns"]
        path = "/usr/sbin:/usr/bin:/sbin:/bin"
        if e.side == "dc":
            mounts.append(f"mount --bind {rt.router_dir(_router_of(rt.lab, e).key)} {ETC_SWANCTL}")
            path = f"{conf / 'bin'}:{path}"
        mounts.append(f"mount --rbind {run_dir} /run")
        script = "set -e; " + "; ".join(mounts) + f"; exec {CHARON}"
        env = {"PATH": path, "STRONGSWAN_CONF": str(conf / "strongswan.conf")}
        _record(
            rt,
            spawn(
                f"charon {e.side} {e.tunnel}",
                e.ns,
                ["sh", "-c", script],
                _log(rt, inst).with_suffix(".out"),
                env=env,
            ),
        )


def _record(rt: Running, p: Proc) -> None:
    rt.state.procs.append(p)
    write_state(rt.state)


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
        _check_alive(rt)
        return not pending

    try:
        wait_for("libipsec's TUN devices", ready, timeout=15)
    except LabError:
        raise LabError(
            "these charons created no TUN device:\n"
            + "\n".join(
                f"  {e.tunnel} ({e.side}):\n{tail(_log(rt, end_instance(e)), 10)}" for e in pending
            )
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
            with open(_log(rt, frr_instance(r.key)).with_name(f"tunnels-{r.key}.log"), "w") as f:
                f.write(res.stdout + res.stderr)
            if res.returncode != 0:
                raise LabError(
                    f"router {r.key}: the rendered crossnet-tunnels.sh failed "
                    f"(exit {res.returncode}):\n{res.stderr.strip()}"
                )


def _router_of(lab: Lab, e: TunnelEnd) -> DcRouter:
    return next(r for r in lab.routers if r.ns == e.router_ns)


def _check_alive(rt: Running) -> None:
    dead = [p for p in rt.state.procs if not alive(p)]
    if dead:
        raise LabError(
            "\n".join(f"{p.name} exited; the end of {p.log}:\n{tail(p.log, 12)}" for p in dead)
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

    def start(inst: str, ns: str, d: str) -> None:
        run_dir = rt.frr_dir(inst)
        profile = _frr_profile(_config_dir(rt, inst) / "frr.conf")
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
        _record(rt, spawn(f"{d} {inst}", ns, argv, _log(rt, f"{inst}-{d}")))

    # zebra first, as frrinit.sh does: a bgpd that finds no zserv socket cannot
    # register its nexthops (it logs "zclient_send_message() failed") and only
    # validates the peers' routes once it has reconnected, seconds later.
    for inst, ns, _daemons in jobs:
        run_dir = rt.frr_dir(inst)
        run_dir.mkdir(parents=True, exist_ok=True)
        chown_frr(run_dir)
        start(inst, ns, "zebra")

    def zserv() -> bool:
        _check_alive(rt)
        return all((rt.frr_dir(inst) / "zserv.api").exists() for inst, _ns, _d in jobs)

    wait_for("zebra's zserv sockets", zserv, timeout=15)
    for inst, ns, daemons in jobs:
        for d in daemons:
            if d != "zebra":
                start(inst, ns, d)
    for inst, _ns, daemons in jobs:
        run_dir = rt.frr_dir(inst)

        def sockets(run_dir: Path = run_dir, daemons: list[str] = daemons) -> bool:
            _check_alive(rt)
            return all((run_dir / f"{d}.vty").exists() for d in daemons)

        wait_for(f"the vty sockets of {inst}", sockets, timeout=15)
    for inst, _ns, _daemons in jobs:
        conf = _config_dir(rt, inst)
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
            rt, e, "--load-all", "--file", str(_config_dir(rt, end_instance(e)) / "swanctl.conf")
        )
    for e in dc_ends:
        d = rt.router_dir(_router_of(rt.lab, e).key)
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
            run(in_ns(h.ns, ["nft", "-f", "-"]), input=sg.ruleset(h))
        tcp = [*h.tcp_ports, *([h.closed_tcp_port] if h.closed_tcp_port else [])]
        argv = [
            sys.executable,
            str(AGENT),
            "serve",
            "--name",
            h.name,
            "--tcp",
            ",".join(map(str, tcp)),
            "--udp",
            ",".join(map(str, h.udp_ports)),
        ]
        _record(
            rt, spawn(f"agent {h.kind} {h.name}", h.ns, argv, _log(rt, f"agent-{h.kind}-{h.name}"))
        )


# ================================================================= readiness
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
    """prefix -> (devices the route may use, how many it must use), tunnels in `down` gone."""
    want: dict[str, tuple[set[str], int]] = {}
    for c in r.router.connections:
        ends = [lab.end("dc", f"{c.name}/{t.number}") for t in c.tunnels]
        ends = [e for e in ends if e.tunnel not in down]
        for p in c.accept:
            want[p] = _paths(c.redundancy == "ecmp", ends, want.get(p))
    return want


def expected_routes_aws(
    lab: Lab, g: Gateway, down: frozenset[str] = frozenset()
) -> dict[str, tuple[set[str], int]]:
    want: dict[str, tuple[set[str], int]] = {}
    for c in g.connections:
        ends = [lab.end("aws", f"{c.name}/{t.number}") for t in c.tunnels]
        ends = [e for e in ends if e.tunnel not in down]
        for p in c.announce:
            want[p] = _paths(c.redundancy == "ecmp", ends, want.get(p))
    return want


def _paths(
    ecmp: bool, ends: list[TunnelEnd], have: tuple[set[str], int] | None
) -> tuple[set[str], int]:
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


def wait_ready(rt: Running, timeout: float, interval: float = 0.1) -> dict[str, float]:
    """Poll every check until all pass; time when each phase first did. LabError on timeout."""
    todo = checks(rt)
    t0 = time.monotonic()
    first: dict[str, float] = {}
    diffs: dict[str, str] = {}
    while True:
        _check_alive(rt)
        diffs = {}
        for _phase, what, probe in todo:
            diff = probe()
            if diff is not None:
                diffs[what] = diff
        for phase in ("tunnels", "bgp", "routes"):
            items = [w for p, w, _ in todo if p == phase]
            if phase not in first and not any(w in diffs for w in items):
                first[phase] = round(time.monotonic() - t0, 2)
        if not diffs:
            return {f"{k}_ready": v for k, v in first.items()}
        if time.monotonic() - t0 > timeout:
            break
        time.sleep(interval)
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
            picks[f"charon, {e.side} end of {e.tunnel}"] = _log(rt, end_instance(e))
    for r in rt.lab.routers:
        if f"BGP of {r.key}" in diffs or f"routes of {r.key}" in diffs:
            picks[f"bgpd of {r.key}"] = _log(rt, f"{frr_instance(r.key)}-bgpd")
    for g in rt.lab.gateways:
        if f"BGP of AWS {g.name}" in diffs or f"routes of AWS {g.name}" in diffs:
            picks[f"bgpd of AWS {g.name}"] = _log(rt, f"{rt.gateway_instance(g)}-bgpd")

    def interesting(line: str) -> bool:
        low = line.lower()
        return any(k in low for k in _INTERESTING)

    return "\n".join(
        f"  {what} ({path}):\n{tail(path, 8, interesting)}" for what, path in picks.items()
    )


# ================================================================= down
def down(stack: str, say: Say = _quiet) -> list[str]:
    """Stop what the lab started and remove its namespaces. Returns what was done."""
    with _lock(stack):
        state = read_state(stack)
        if state is None:
            # No state: a crash before lab.json, or a removed file. Take down
            # whatever namespaces this stack's lab would have.
            leftover = sorted(n for n in namespaces() if n.startswith(ns_prefix(stack)))
            if not leftover:
                return [f"the lab of stack {stack!r} is not up: nothing to do"]
            state = LabState(
                stack=stack,
                outputs="",
                outputs_sha256="",
                timers="aws",
                started=0.0,
                namespaces=leftover,
            )
        return _teardown(state, say)


def _teardown(state: LabState, say: Say) -> list[str]:
    done = []
    live = [p for p in state.procs if alive(p)]
    notes = stop(live)
    done.append(f"stopped {len(live)} of {len(state.procs)} recorded processes by PID")
    done += notes
    # Anything else still inside a lab namespace was started there by the lab
    # (a daemon's own child, say): stop it by PID too, and say so.
    strays = []
    for name in state.namespaces:
        for pid in pids_in_namespace(name):
            st = _proc_start(pid)
            if st is not None:
                strays.append(Proc(name=f"pid {pid} in {name}", ns=name, pid=pid, start=st, log=""))
    if strays:
        done.append(
            "also stopped, found inside lab namespaces: " + ", ".join(p.name for p in strays)
        )
        done += stop(strays)
    present = [n for n in state.namespaces if n in namespaces()]
    for name in present:
        delete_namespace(name)
    left = [n for n in present if n in namespaces()]
    done.append(f"removed {len(present) - len(left)} namespaces")
    if left:
        done.append("could not remove: " + ", ".join(left))
    shutil.rmtree(RUN_ROOT / state.stack, ignore_errors=True)
    path = state_path(state.stack)
    if path.exists() and not left:
        path.unlink()
    for line in done:
        say(line)
    return done


def _proc_start(pid: int) -> int | None:
    from network.lab.system import start_time

    return start_time(pid)


# ================================================================= status
def status(stack: str) -> dict[str, Any]:
    """Tunnels, BGP sessions, processes and hosts of a running lab, as data."""
    from network.lab.runtime import open_lab

    rt = open_lab(stack)
    lab = rt.lab
    tunnels = []
    for r, c in lab.connections():
        for t in c.tunnels:
            row: dict[str, Any] = {
                "tunnel": f"{c.name}/{t.number}",
                "router": r.key,
                "gateway": c.gateway["name"],
                "preference": t.preference,
            }
            for side in ("dc", "aws"):
                e = lab.end(side, f"{c.name}/{t.number}")
                sa = rt.sas(e).get(e.conn_name, {})
                row[side] = {
                    "ike": sa.get("state", "-"),
                    "child": (sa.get("children") or {}).get(e.conn_name, "-"),
                    "interface": e.ifname,
                    "bytesIn": sa.get("bytesIn", 0),
                    "bytesOut": sa.get("bytesOut", 0),
                }
            tunnels.append(row)
    bgp = []
    for r in lab.routers:
        for n, p in sorted(rt.bgp(frr_instance(r.key)).items()):
            bgp.append({"speaker": r.key, "neighbor": n, **p})
    for g in lab.gateways:
        for n, p in sorted(rt.bgp(rt.gateway_instance(g)).items()):
            bgp.append({"speaker": f"AWS {g.name}", "neighbor": n, **p})
    procs = [
        {"name": p.name, "pid": p.pid, "running": alive(p), "rssKiB": rss_kib(p.pid)}
        for p in rt.state.procs
    ]
    return {
        "stack": stack,
        "timers": rt.state.timers,
        "ready": rt.state.ready,
        "uptime": round(time.time() - rt.state.started, 1),
        "timings": rt.state.timings,
        "namespaces": [n for n in rt.state.namespaces if n in namespaces()],
        "processes": procs,
        "tunnels": tunnels,
        "bgp": bgp,
        "hosts": [
            {"name": h.name, "kind": h.kind, "address": h.address, "ns": h.ns, "tier": h.tier}
            for h in lab.hosts
        ],
        "notes": list(lab.notes),
        "logs": str(lab_dir(stack) / "logs"),
    }


# ================================================================= inventory
def inventory(rt: Running) -> dict[str, Any]:
    """The suite's inventory for this lab: the same shape as a real hosts' file."""
    lab = rt.lab

    def swanctl(e: TunnelEnd) -> dict[str, str]:
        # swanctl takes --uri after the command word: the suite appends it.
        return {
            "interface": e.ifname,
            "swanctl": f"env STRONGSWAN_CONF={rt.swanctl_conf(e)} swanctl",
            "uri": f"unix://{rt.vici_socket(e)}",
        }

    return {
        "stack": lab.stack,
        "kind": "lab",
        "timers": rt.state.timers,
        "datacenter_hosts": {
            h.name: {
                "target": f"netns://{h.ns}",
                "address": h.address,
                "unplanned_source": h.unplanned_source,
                "listen_port": h.tcp_ports[0],
            }
            for h in lab.dc_hosts()
        },
        "vpc_hosts": {
            h.name: {
                "target": f"netns://{h.ns}",
                "address": h.address,
                "tier": h.tier,
                "listeners": "lab",
            }
            for h in lab.vpc_hosts()
        },
        "routers": {
            r.key: {
                "target": f"netns://{r.ns}",
                "vtysh": f"vtysh --vty_socket {rt.frr_dir(frr_instance(r.key))}",
                "tunnels": {
                    e.tunnel: swanctl(e) for e in lab.ends if e.side == "dc" and e.router_ns == r.ns
                },
            }
            for r in lab.routers
        },
        "aws": {
            g.name: {
                "target": f"netns://{g.ns}",
                "vtysh": f"vtysh --vty_socket {rt.frr_dir(rt.gateway_instance(g))}",
                "tunnels": {
                    e.tunnel: swanctl(e)
                    for e in lab.ends
                    if e.side == "aws" and e.router_ns == g.ns
                },
            }
            for g in lab.gateways
        },
    }


def inventory_path(stack: str) -> Path:
    return lab_dir(stack) / "inventory.yaml"


def write_inventory(rt: Running) -> Path:
    path = inventory_path(rt.stack)
    text = (
        "# crossnet reachability inventory, written by `crossnet lab up` "
        "(targets are network namespaces)\n" + yaml.safe_dump(inventory(rt), sort_keys=False)
    )
    path.write_text(text)
    return path
