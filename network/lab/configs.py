"""The lab's own config files: the AWS side's and the daemons' settings (pure).

Everything the lab writes under `<lab>/config/` is decided here, from the
layout and the timers, before anything is started, so that the golden tests
(tests/golden/lab/) see exactly what the daemons read. The datacenter
routers' files are the renderer's, unchanged (`network.render`), and are not
written here.

Per tunnel end, `config/<side>-<tunnel>/`: `strongswan.conf` (the charon's
daemon settings); at the AWS end also `swanctl.conf` (holds the PSK: 0600)
and `updown.sh` (link tracking); at the datacenter end `bin/ip`, the `ip`
the rendered updown script finds on its PATH. Per gateway,
`config/frr-aws-<gateway>/`: `frr.conf` and `vtysh.conf`. Per datacenter router with
peers in its datacenter, `config/frr-<router>/fabric.conf`: the lab's datacenter fabric
(network.lab.fabric), which the lab adds to the rendered `frr.conf` it gives FRR
(`router_frr_conf`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from network.lab import aws, fabric
from network.lab.runtime import LabPaths, end_instance, frr_instance
from network.lab.topology import DcRouter, Lab, TunnelEnd
from network.render.environment import environment

CHARON_PLUGINS = (
    "random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 x509 pubkey "
    "kernel-libipsec kernel-netlink socket-default vici updown"
)
SWANCTL_PLUGINS = "pem pkcs1 x509 revocation constraints pubkey openssl random"
VTYSH_CONF = "! crossnet lab\n"
PRIVATE = 0o600


@dataclass(frozen=True)
class LabFile:
    text: str
    mode: int = 0o644  # PRIVATE: created private and written atomically


def strongswan_conf(log: Path, timers: aws.Timers | None, include: str | None = None) -> str:
    """A charon's daemon settings (the lab's, on both sides; templates/lab/strongswan.conf.j2).

    `timers`: the AWS side's retransmission schedule (its DPD gives up when that
    ends); None at a datacenter end, whose schedule is the rendered one.
    `include`: daemon settings the renderer wrote for the router (strongswan.d),
    read first so that the lab's own (libipsec, logging, socket) win.
    """
    retransmit = (
        None
        if timers is None
        else {
            "timeout": timers.retransmit_timeout,
            "base": timers.retransmit_base,
            "tries": timers.retransmit_tries,
        }
    )
    return (
        environment()
        .get_template("lab/strongswan.conf.j2")
        .render(
            include=include,
            charon_plugins=CHARON_PLUGINS,
            swanctl_plugins=SWANCTL_PLUGINS,
            retransmit=retransmit,
            log=log,
        )
    )


def ip_shim(e: TunnelEnd, ip: str) -> str:
    """The `ip` a datacenter charon's PATH finds: the rendered updown calls `ip link
    set <tunnel> up|down` where charon runs, and the tunnel lives in the router."""
    return (
        f"#!/bin/sh\n# crossnet lab: the tunnel interfaces of this charon "
        f"live in {e.router_ns}\nexec {ip} -n {e.router_ns} "
        '"$@"\n'
    )


def end_files(
    lab: Lab,
    e: TunnelEnd,
    timers: aws.Timers,
    paths: LabPaths,
    strongswan_d: bool,
    ip: str,
) -> dict[str, LabFile]:
    """The files of one tunnel end's config directory, by name.

    `strongswan_d`: the router's rendering has `strongswan.d/` (datacenter ends
    include it first); `ip`: the path of the real `ip` binary.
    """
    inst = end_instance(e)
    d = paths.config_dir(inst)
    include = None
    if e.side == "dc" and strongswan_d:
        include = f"{paths.router_dir(lab.router_of(e).key)}/strongswan.d/*.conf"
    own = timers if e.side == "aws" else None
    files = {"strongswan.conf": LabFile(strongswan_conf(paths.log(inst), own, include))}
    if e.side == "dc":
        files["bin/ip"] = LabFile(ip_shim(e, ip), 0o755)
        return files
    conn = next(c for _r, c in lab.connections() if c.name == e.connection)
    t = next(t for t in conn.tunnels if t.number == e.number)
    files["updown.sh"] = LabFile(aws.updown_script(e, str(d / "strongswan.conf")), 0o755)
    files["swanctl.conf"] = LabFile(
        aws.swanctl_conf(e, conn, t.psk.reveal(), str(d / "updown.sh"), timers), PRIVATE
    )
    return files


def gateway_files(lab: Lab, timers: aws.Timers) -> dict[str, dict[str, LabFile]]:
    """Each AWS gateway's FRR directory: instance -> name -> file."""
    return {
        frr_instance(g.name, aws=True): {
            "frr.conf": LabFile(aws.frr_conf(g, timers)),
            "vtysh.conf": LabFile(VTYSH_CONF),
        }
        for g in lab.gateways
    }


def router_frr_conf(lab: Lab, r: DcRouter, rendered: str) -> str:
    """The frr.conf a datacenter router's FRR reads: the rendered one, byte for byte,
    with the lab's datacenter fabric before its final `end` (bring-up and every live
    apply use this one function, so no `frr-reload.py` ever drops the fabric)."""
    return fabric.frr_conf(lab, r, rendered)


def fabric_files(lab: Lab) -> dict[str, LabFile]:
    """Each router's fabric stanza, by path relative to `config/` (routers with peers)."""
    out = {}
    for r in lab.routers:
        text = fabric.stanza(lab, r)
        if text:
            out[f"{frr_instance(r.key)}/fabric.conf"] = LabFile(text)
    return out


def config_files(
    lab: Lab,
    timers: aws.Timers,
    paths: LabPaths,
    strongswan_d: frozenset[str],
    ip: str,
) -> dict[str, LabFile]:
    """Every file the lab writes under `config/` for the AWS side and the charons,
    by path relative to `config/`. `strongswan_d`: the routers whose rendering
    has daemon settings (`strongswan.d/`)."""
    out: dict[str, LabFile] = {}
    for e in lab.ends:
        inside = e.side == "dc" and lab.router_of(e).key in strongswan_d
        for name, f in end_files(lab, e, timers, paths, inside, ip).items():
            out[f"{end_instance(e)}/{name}"] = f
    for inst, files in gateway_files(lab, timers).items():
        for name, f in files.items():
            out[f"{inst}/{name}"] = f
    return out | fabric_files(lab)
