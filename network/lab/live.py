"""Changing a running lab in place: the datacenter routers' new files, and the AWS side
changed as AWS changes it (used by `crossnet lab apply` and `crossnet rollout --lab`).

Nothing is restarted that did not need it:
- a router's `frr.conf` goes in through FRR's own `frr-reload.py` (the delta only);
- a tunnel's strongSwan file goes in through vici (strongSwan's `vici` package:
  `load-conn`, `load-shared`), then that tunnel's IKE SA is re-established with the
  new settings (`terminate` + `initiate`); an unchanged tunnel is not touched;
- the AWS end of a tunnel whose options changed (`ModifyVpnTunnelOptions`) is
  reloaded and its SA torn down: AWS's modified tunnel endpoint restarts with its
  new options, and the datacenter side (`close_action = restart`) negotiates again;
- a gateway's FRR gets its new `frr.conf` through `frr-reload.py`.

What needs new namespaces or endpoints (a new connection, a replaced one: new
outside addresses) is refused with a `LabError` that names it: bring the lab down
and up again for such a change (`network.lab.control`).
"""

from __future__ import annotations

import re
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from network.contract import write_private
from network.lab import aws, daemons, gwstatic, hostside, routers
from network.lab.configs import config_files, router_frr_conf
from network.lab.daemons import write_config_file
from network.lab.probe import tunnel_up
from network.lab.runtime import Running, end_instance, frr_instance, sha256_file, write_state
from network.lab.system import LabError, run, wait_for
from network.lab.topology import Gateway, Lab, TunnelEnd
from network.render import linux_tunnel_file

Say = Callable[[str], None]
FRR_RELOAD = Path("/usr/lib/frr/frr-reload.py")
# swanctl.conf keys whose value is a list in vici's load-conn message.
LIST_KEYS = frozenset(
    {"proposals", "esp_proposals", "ah_proposals", "local_addrs", "remote_addrs"}
    | {"local_ts", "remote_ts", "pools", "vips"}
)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}=\n]|[^\s{}=#"]+(?:[ \t]+[^\s{}=#"]+)*|#[^\n]*')


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- swanctl.conf -> vici
def parse_swanctl(text: str) -> dict[str, Any]:
    """swanctl.conf's settings syntax (sections in braces, `key = value`) as nested dicts.

    The vici messages strongSwan's swanctl builds from the same file: comments
    dropped, quotes removed, list-valued keys (`LIST_KEYS`) split on commas.
    Raises ValueError on unbalanced braces or a key without a value.
    """
    root: dict[str, Any] = {}
    stack = [root]
    tokens = [t for t in _TOKEN.findall(text) if not t.startswith("#")]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "\n":
            i += 1
        elif tok == "}":
            if len(stack) == 1:
                raise ValueError("unbalanced '}'")
            stack.pop()
            i += 1
        elif i + 1 < len(tokens) and tokens[i + 1] == "{":
            section: dict[str, Any] = {}
            stack[-1][tok] = section
            stack.append(section)
            i += 2
        elif i + 2 < len(tokens) and tokens[i + 1] == "=":
            stack[-1][tok] = _value(tok, tokens[i + 2])
            i += 3
        else:
            raise ValueError(f"cannot read {tok!r}")
    if len(stack) != 1:
        raise ValueError("unbalanced '{'")
    return root


def _value(key: str, raw: str) -> str | list[str]:
    value = raw[1:-1] if raw.startswith('"') else raw
    if key in LIST_KEYS:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class Charon:
    """One charon's vici socket, through strongSwan's own Python binding (`vici`)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _session(self) -> Any:
        import vici  # strongSwan's binding; optional (requirements-dev.txt)

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(self.path)
        return vici.Session(sock)

    def load(self, text: str) -> list[str]:
        """Load every connection and shared key of a swanctl file; returns the connections."""
        conf = parse_swanctl(text)
        s = self._session()
        names = []
        for name, body in conf.get("connections", {}).items():
            s.load_conn({name: body})
            names.append(name)
        for sid, body in conf.get("secrets", {}).items():
            owners = [v for k, v in body.items() if k.startswith("id")]
            s.load_shared({"id": sid, "type": "IKE", "data": body["secret"], "owners": owners})
        return names

    def restart_sa(self, ike: str, child: str | None) -> None:
        """Tear the IKE SA down (if any) and, with `child`, negotiate it afresh."""
        s = self._session()
        try:
            for _ in s.terminate({"ike": ike, "force": "yes", "timeout": "-1"}):
                pass
        except Exception as e:  # vici.exception.CommandException: no such SA
            if "no matching" not in str(e).lower():
                raise
        if child:
            for _ in s.initiate({"child": child, "ike": ike, "timeout": "-1", "init-limits": "no"}):
                pass


# Settings that need no explicit restart of the SA: a change of only these is loaded as
# `swanctl --load-conns` loads it. (strongSwan's load-conn still re-establishes the SAs of
# a changed connection whose start_action is `start`, by itself: vici_config.c's
# merge_config; so a rollout changes a tunnel's proposals only while it is drained.)
NEXT_NEGOTIATION = frozenset(
    {"proposals", "esp_proposals", "rekey_time", "reauth_time", "over_time", "rand_time"}
    | {"life_time", "dpd_delay", "dpd_timeout", "dpd_action", "start_action", "close_action"}
    | {"replay_window", "keyingtries"}
)


def _settings(conf: Any, path: str = "") -> dict[str, Any]:
    """A parsed swanctl.conf flattened to `section.key` -> value."""
    out: dict[str, Any] = {}
    for k, v in conf.items():
        if isinstance(v, dict):
            out |= _settings(v, f"{path}{k}.")
        else:
            out[f"{path}{k}"] = v
    return out


def needs_renegotiation(old: str, new: str) -> bool:
    """Whether a tunnel's swanctl.conf change needs its SA negotiated afresh: anything but
    proposals and timers (a key, addresses, traffic selectors, a new connection)."""
    if not old:
        return True
    try:
        a, b = _settings(parse_swanctl(old)), _settings(parse_swanctl(new))
    except ValueError:
        return True
    changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    return any(k.rsplit(".", 1)[-1] not in NEXT_NEGOTIATION for k in changed)


# ---------------------------------------------------------------- routers
_NOT_REMOVED = re.compile(r'"([^"]*)" we failed to remove this command')
_NO_NEIGHBOR = re.compile(r"--\s+no neighbor (\S+)\s")


def _gone_part(line: str) -> str | None:
    """What a line frr-reload.py could not remove belongs to, as the running config names
    it: "neighbor X " (a removed BGP neighbour's address-family lines) or "interface X\n"
    (a removed tunnel's interface: its lines cannot be removed once the device is gone)."""
    m = _NO_NEIGHBOR.search(line)
    if m is not None:
        return f"neighbor {m[1]} "
    ctx = line.split(" -- ")[0].split()
    if len(ctx) == 2 and ctx[0] == "interface":
        return f"interface {ctx[1]}\n"
    return None


def _only_gone_parts(log: str, conf: Path, vty_dir: Path) -> bool:
    """frr-reload.py (8.4) exits 1 when it cannot remove lines that went with something
    else: a neighbour's address-family lines after `no neighbor X`, a deleted tunnel
    interface's address (the lab's tunnel device goes with its charon, before the
    router's new config comes). True when every such line belongs to a neighbour or an
    interface the new config no longer has, and the running config no longer has either
    (a gone interface's leftover config is removed with `no interface X`)."""
    parts = [_gone_part(x) for x in _NOT_REMOVED.findall(log)]
    wanted = conf.read_text()
    if not parts or any(p is None or p in wanted for p in parts):
        return False
    vtysh = ["vtysh", "--vty_socket", str(vty_dir)]
    for p in {p for p in parts if p and p.startswith("interface ")}:
        run([*vtysh, "-c", "configure", "-c", f"no {p.strip()}"], check=False)
    running = run([*vtysh, "-c", "show running-config"], check=False).stdout
    return not any(p in running for p in parts if p)


def _frr_reload_argv(conf: Path, vty_dir: Path, mode: str) -> list[str]:
    vtysh = shutil.which("vtysh")
    bindir = str(Path(vtysh).parent) if vtysh else "/usr/bin"
    return [
        "python3",
        str(FRR_RELOAD),
        mode,
        "--stdout",
        "--bindir",
        bindir,
        "--confdir",
        str(conf.parent),
        "--rundir",
        str(vty_dir),
        "--vty_socket",
        str(vty_dir),
        str(conf),
    ]


def frr_reload(conf: Path, vty_dir: Path, say: Say = _quiet) -> None:
    """Apply a new frr.conf as a delta to a running FRR (its own frr-reload.py)."""
    if not FRR_RELOAD.exists():
        raise LabError(f"{FRR_RELOAD} is missing: install Debian's frr-pythontools")
    _drop_gone_interfaces(conf, vty_dir)
    first = run(_frr_reload_argv(conf, vty_dir, "--reload"), check=False, timeout=60)
    res = first
    if first.returncode != 0:
        # frr-reload.py exits 1 when one of its "no" lines fails: a deleted neighbour's
        # own lines after the neighbour, or the interface of a tunnel end re-created with
        # new inside addresses while zebra still sees the old one. The delta is computed
        # afresh, so a second pass applies what is left, or says what cannot be.
        time.sleep(1.0)
        res = run(_frr_reload_argv(conf, vty_dir, "--reload"), check=False, timeout=60)
    text = first.stdout + first.stderr + res.stdout + res.stderr
    log = conf.parent / "frr-reload.log"  # the last reload's whole output (both passes)
    log.write_text(text)
    if res.returncode != 0 and not _only_gone_parts(res.stdout + res.stderr, conf, vty_dir):
        why = [x for x in text.splitlines() if re.search(r"ERROR|WARNING|^\s*%", x)]
        raise LabError(
            f"frr-reload.py {conf} failed twice (exit {res.returncode}; whole output: {log}):\n"
            + "\n".join(why[-20:] or [text.strip()[-1500:]])
        )
    # A changed route-map is re-evaluated only after FRR's route-map delay timer, and
    # not at all for what was already sent: a soft clear (no session reset, what
    # `clear ip bgp ... soft` does on IOS) re-sends and re-reads with the new policy.
    run(["vtysh", "--vty_socket", str(vty_dir), "-c", "clear bgp ipv4 unicast * soft"], check=False)
    note = "" if first.returncode == 0 else " (in a second pass: the first one's 'no' lines failed)"
    say(f"  FRR reloaded from {conf}{note}")


def _drop_gone_interfaces(conf: Path, vty_dir: Path) -> None:
    """A deleted tunnel's interface config, removed before frr-reload.py runs.

    The interface went with its tunnel end (a deleted connection), and frr-reload.py
    cannot take its lines out one by one (`no description` on an interface zebra no
    longer has fails, and the reload exits 1); `no interface NAME` drops it whole,
    which FRR allows for an interface the kernel does not have.
    """
    vty = ["vtysh", "--vty_socket", str(vty_dir)]
    running = run([*vty, "-c", "show running-config"], check=False).stdout
    pattern = re.compile(r"^interface (\S+)", re.M)
    gone = set(pattern.findall(running)) - set(pattern.findall(conf.read_text()))
    for name in sorted(gone):
        run([*vty, "-c", "configure terminal", "-c", f"no interface {name}"], check=False)


def changed_files(old_dir: Path, new: dict[str, str]) -> list[str]:
    """The rendered files whose text differs from what `old_dir` holds (sorted)."""
    out = []
    for name, text in sorted(new.items()):
        p = old_dir / name
        if not p.is_file() or p.read_text() != text:
            out.append(name)
    return out


def apply_router(
    rt: Running,
    key: str,
    files: dict[str, str],
    secrets: list[str],
    say: Say = _quiet,
    only: frozenset[str] | None = None,
) -> list[str]:
    """A datacenter router's new rendered files, applied live (`only`: just these files, no
    stale file removed). Returns what changed."""
    r = next((r for r in rt.lab.routers if r.key == key), None)
    if r is None:
        raise LabError(f"router {key!r} is not in the running lab")
    d = rt.router_dir(key)
    changed = [n for n in changed_files(d, files) if only is None or n in only]
    ends = {e.conn_name: e for e in rt.lab.ends if e.side == "dc" and e.router_ns == r.ns}
    per_tunnel = {linux_tunnel_file(e.connection, e.number): e for e in ends.values()}
    unknown = [n for n in changed if n.startswith("conf.d/") and n not in per_tunnel]
    if unknown:
        raise LabError(
            f"router {key}: {', '.join(unknown)} names a tunnel the running lab does not have "
            "(a new or replaced connection): `crossnet lab down` and `lab up` for this change"
        )
    # The router's directory is written last, file by file once applied: it is the
    # record of what runs, so a run killed half-way applies the rest when resumed.
    stale = [p for p in sorted((d / "conf.d").glob("*.conf")) if f"conf.d/{p.name}" not in files]
    stale = stale if only is None else []
    inst = frr_instance(key)
    conf = rt.config_dir(inst) / "frr.conf"
    given = router_frr_conf(rt.lab, r, files["frr.conf"]) if "frr.conf" in files else ""
    # The fabric alone changed (a peer's AS, mid customer-ASN change): FRR is given it too.
    fabric_moved = (
        bool(given)
        and (only is None or "frr.conf" in only)
        and conf.is_file()
        and conf.read_text() != given
    )
    if "frr.conf" in changed or fabric_moved:
        # with the lab's datacenter fabric: frr-reload.py makes the running config this file
        conf.write_text(given)
        frr_reload(conf, rt.frr_dir(inst), say)
        write_config_file(d, "frr.conf", files["frr.conf"], secrets)
        if "frr.conf" not in changed:
            changed.append("frr.conf")
    for name in changed:
        e = per_tunnel.get(name)
        if e is None:
            continue
        old = (d / name).read_text() if (d / name).is_file() else ""
        # A tunnel that is not up is negotiated afresh too: its retries would go on with
        # the settings they started with.
        down = tunnel_up(rt.sas(e), e.conn_name)
        Charon(rt.vici_socket(e)).load(files[name])
        if needs_renegotiation(old, files[name]) or down:
            Charon(rt.vici_socket(e)).restart_sa(e.conn_name, e.conn_name)
            why = f" (it was not up: {down})" if down else ""
            say(f"  {key}: {e.conn_name} reloaded through vici, SA negotiated afresh{why}")
        else:  # charon itself re-establishes a changed connection (start_action = start)
            say(f"  {key}: {e.conn_name} reloaded through vici (proposals or timers)")
        write_config_file(d, name, files[name], secrets)
    for name in changed:
        write_config_file(d, name, files[name], secrets)
    if "crossnet-tunnels.sh" in changed:
        run(["ip", "netns", "exec", r.ns, "sh", str(d / "crossnet-tunnels.sh")], check=True)
    for p in stale:
        p.unlink()  # a deleted tunnel's file (its charon went with the tunnel)
        changed.append(f"conf.d/{p.name} (removed)")
    return changed


# ---------------------------------------------------------------- the AWS side
def _staticd_for_static_routes(rt: Running, g: Gateway, say: Say) -> None:
    """A gateway's first static connection (one replaced from BGP to static): its FRR was
    started without staticd (`lab up` starts it only for static routes), and without it
    the new `ip route` lines would load into nothing."""
    inst = rt.gateway_instance(g)
    vty = rt.frr_dir(inst) / "staticd.vty"
    if vty.exists() or not any(c.routing == "static" for c in g.connections):
        return
    daemons._start_frr_daemon(rt, inst, g.ns, "staticd")
    wait_for(f"staticd of {inst}", vty.exists, timeout=15)
    say(f"  AWS {g.name}: staticd started (its first static connection)")


def apply_aws(rt: Running, new: Lab, outputs: Path, say: Say = _quiet) -> Running:
    """The lab's AWS side changed as AWS changes it, to `new` (the lab of the new outputs).

    A tunnel whose AWS-side settings changed (key, algorithms, lifetimes, DPD: what
    ModifyVpnTunnelOptions changes) has its AWS end reloaded and restarted: its SA goes
    down, as AWS's modified tunnel is unavailable during the update, and comes back
    when the datacenter side negotiates with matching settings. A gateway's changed
    FRR config is reloaded. Returns the running lab with the new layout; lab.json
    records the new outputs.
    """
    from network.lab.cgw import moved_ends
    from network.lab.reshape import (
        align,
        bridge_ports,
        missing_hosts,
        orphan_hosts,
        reshape,
        structure_changes,
    )

    new = align(rt.lab, new, bridge_ports(rt.lab))
    shape = structure_changes(rt.lab, new)
    old_ns = set(rt.state.namespaces)
    nrt = Running(new, rt.state)
    timers = aws.TIMERS[rt.state.timers]
    if shape["refused"]:
        reshape(rt, new, say)  # raises, naming what it cannot do in place
    routers.write_files(rt, new)  # a new router's files: its charons mount them
    with_d = frozenset(
        r.key for r in new.routers if (rt.router_dir(r.key) / "strongswan.d").is_dir()
    )
    ip = shutil.which("ip") or "ip"
    files = config_files(new, timers, nrt.paths, with_d, ip)
    restarted: list[TunnelEnd] = []
    reload_frr: list[tuple[Path, str, str]] = []
    for rel, f in sorted(files.items()):
        inst, name = rel.split("/", 1)
        path = nrt.config_dir(inst) / name
        if path.is_file() and path.read_text() == f.text:
            continue
        before = path.read_text() if path.is_file() else ""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if f.mode == 0o600:
            write_private(path, f.text)
        else:
            path.write_text(f.text)
            path.chmod(f.mode)
        e = next((e for e in new.ends if end_instance(e) == inst), None)
        # (an end that is new, a replaced connection's, comes up with its config as is)
        if e is not None and e.side == "aws" and name == "swanctl.conf" and e in rt.lab.ends:
            restarted.append(e)
        elif inst.startswith("frr-aws-") and name == "frr.conf":
            reload_frr.append((path, inst, before))
    # Deleted parts go, new ones come (new endpoints: their files are written above).
    grow_or_shrink = (
        shape["add"] or shape["remove"] or orphan_hosts(rt, new) or missing_hosts(rt, new)
    )
    nrt = reshape(rt, new, say) if grow_or_shrink else nrt
    hostside.follow(nrt, rt.lab, new, say)  # LAN addresses, security groups
    for e in moved_ends(rt.lab, new):  # ModifyVpnConnection, a new customer gateway
        Charon(nrt.vici_socket(e)).restart_sa(e.conn_name, None)
        say(f"  AWS end of {e.conn_name}: a new endpoint (the connection's new customer gateway)")
    for path, inst, before in reload_frr:
        g = next(g for g in new.gateways if nrt.gateway_instance(g) == inst)
        if g.ns in old_ns:
            _staticd_for_static_routes(nrt, g, say)
            gwstatic.preenter(nrt, inst, before, path.read_text(), say)
            frr_reload(path, nrt.frr_dir(inst), say)
    for e in restarted:
        conf = nrt.config_dir(end_instance(e)) / "swanctl.conf"
        Charon(nrt.vici_socket(e)).load(conf.read_text())
        # AWS re-provisions the modified tunnel: its endpoint drops the SA.
        Charon(nrt.vici_socket(e)).restart_sa(e.conn_name, None)
        say(f"  AWS end of {e.conn_name} restarted with its new options")
    rt.state.outputs = str(outputs.resolve())
    rt.state.outputs_sha256 = sha256_file(outputs)
    rt.state.lan_slots = new.lan_slots()
    write_state(rt.state)
    return nrt
