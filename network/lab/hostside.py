"""The hosts' side of a running lab brought to a new layout in place: the datacenter
LAN's addresses (one per datacenter prefix on each router and on the datacenter host)
and the VPC hosts' security groups.

A datacenter prefix added to the stack is space the datacenter already uses: the lab
gives each router its address in it on the LAN and the datacenter host one of its
own (`Host.prefix_addresses`), as `lab up` does, so that traffic from the new prefix
can be sent and, once the routers announce it and AWS admits it, answered. A
withdrawn prefix's addresses go. A changed ingress rule is AWS changing a security
group: the VPC host's nftables ruleset (`network.lab.sg`) is replaced in one
transaction (connections already admitted stay admitted: conntrack keeps them), and
recorded under the host's run directory, so a rule set already in place is not
loaded again. Both read what the namespace holds, so running them twice, or after a
resumed rollout, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from network.lab import sg
from network.lab.runtime import Running
from network.lab.system import in_ns, ip_batch, run
from network.lab.topology import Host, Lab

Say = Callable[[str], None]
LAN = "lan"


def _quiet(_: str) -> None:
    return None


def lan_addresses(ns: str) -> set[str]:
    """The IPv4 addresses (with prefix length) on a namespace's LAN device."""
    res = run(["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", LAN], check=False)
    return {line.split()[3] for line in res.stdout.splitlines() if len(line.split()) > 3}


def _sync(ns: str, want: set[str], mine: set[str]) -> list[str]:
    """`ip` commands giving `ns`'s LAN exactly `want` among the addresses in `mine`
    (the ones the lab manages there); others are left alone."""
    have = lan_addresses(ns)
    cmds = [f"addr add {a} dev {LAN}" for a in sorted(want - have)]
    cmds += [f"addr del {a} dev {LAN}" for a in sorted((have & mine) - want)]
    return cmds


def _dc_host_fixed(h: Host) -> set[str]:
    """A datacenter host's addresses that no prefix change moves."""
    return {f"{h.address}/{h.prefixlen}", f"{h.unplanned_source}/32"}


def follow_lan(rt: Running, old: Lab, new: Lab, say: Say = _quiet) -> list[str]:
    """Each router's and datacenter host's LAN addresses as `new` lays them out."""
    done = []
    olds = {r.key: r for r in old.routers}
    for r in new.routers:
        managed = set(r.lan) | (set(olds[r.key].lan) if r.key in olds else set())
        cmds = _sync(r.ns, set(r.lan), managed)
        if cmds:
            ip_batch(r.ns, cmds)
            done.append(f"{r.key}: {'; '.join(cmds)}")
    old_hosts = {h.ns: h for h in old.dc_hosts()}
    for h in new.dc_hosts():
        prev = old_hosts.get(h.ns)
        managed = set(h.prefix_addresses) | (set(prev.prefix_addresses) if prev else set())
        managed -= _dc_host_fixed(h)
        cmds = _sync(h.ns, set(h.prefix_addresses), managed)
        if cmds:
            ip_batch(h.ns, cmds)
            done.append(f"host {h.name}: {'; '.join(cmds)}")
    for line in done:
        say(f"  datacenter LAN: {line}")
    return done


def _record(rt: Running, h: Host) -> Path:
    return rt.run_dir(f"sg-{h.name}") / "ruleset.nft"


def load_security_groups(rt: Running, h: Host) -> None:
    """A VPC host's security groups loaded (one nft transaction) and recorded."""
    text = sg.ruleset(h)
    run(in_ns(h.ns, ["nft", "-f", "-"]), input=text)
    record = _record(rt, h)
    record.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record.write_text(text)


def follow_security_groups(rt: Running, new: Lab, say: Say = _quiet) -> list[str]:
    """Each VPC host's security groups as `new` has them (replaced where they differ
    from the rule set recorded as loaded)."""
    changed = []
    for h in new.vpc_hosts():
        record = _record(rt, h)
        if record.is_file() and record.read_text() == sg.ruleset(h):
            continue
        load_security_groups(rt, h)
        changed.append(h.name)
    if changed:
        say(f"  security groups reloaded: {', '.join(changed)}")
    return changed


def follow(rt: Running, old: Lab, new: Lab, say: Say = _quiet) -> None:
    """The LAN addresses and security groups of `new` on the running lab."""
    follow_lan(rt, old, new, say)
    follow_security_groups(rt, new, say)
