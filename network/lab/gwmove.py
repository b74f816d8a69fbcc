"""A VPN connection moved to another gateway in a running lab (ModifyVpnConnection,
VGW -> TGW): what AWS does, as the lab does it.

AWS keeps the connection (its ID, outside addresses, inside CIDRs and keys) and
provisions new tunnel endpoints on the new gateway; both tunnels are unavailable
meanwhile. In the lab an AWS end lives in its gateway's FRR namespace (its TUN), so a
moved end is a new end: the old one's IKE SA is deleted first (the endpoint goes away,
as the lab's ModifyVpnTunnelOptions does it: the datacenter side, `close_action =
restart` and `keyingtries = 0`, negotiates again at once and keeps trying), then it is
stopped and its namespace removed, and a new end is created on the new gateway
(`network.lab.reshape`). A VPC whose routes move from the VGW to the TGW keeps its host
(the instances do not restart): the host's link is moved to the new gateway's
namespace, its address, listeners and established connections kept.
"""

from __future__ import annotations

from collections.abc import Callable

from network.lab.runtime import Running
from network.lab.system import in_ns, ip_batch, run
from network.lab.topology import Host, Lab, TunnelEnd

Say = Callable[[str], None]


def moved_ends(old: Lab, new: Lab) -> list[TunnelEnd]:
    """AWS ends of the running lab whose tunnel now ends on another gateway."""
    now = {(e.side, e.conn_name, e.outside_ip): e for e in new.ends}
    out = []
    for e in old.ends:
        n = now.get((e.side, e.conn_name, e.outside_ip))
        if e.side == "aws" and n is not None and n.router_ns != e.router_ns:
            out.append(e)
    return out


def moved_hosts(old: Lab, new: Lab) -> list[Host]:
    """VPC hosts (of `new`) whose VPC is now reached through another gateway."""
    was = {h.ns: h for h in old.vpc_hosts()}
    return [
        h
        for h in new.vpc_hosts()
        if h.ns in was
        and (was[h.ns].gateway_ns, was[h.ns].gateway_if, was[h.ns].address)
        != (h.gateway_ns, h.gateway_if, h.address)
        and was[h.ns].address == h.address
    ]


def release(rt: Running, ends: list[TunnelEnd], say: Say) -> None:
    """The old endpoints' IKE SAs deleted (the datacenter side is told at once)."""
    from network.lab.live import Charon

    for e in ends:
        try:
            Charon(rt.vici_socket(e)).restart_sa(e.conn_name, None)
        except OSError as err:  # its charon already gone: nothing to tell
            say(f"  AWS end of {e.conn_name}: {err}")
            continue
        say(f"  AWS end of {e.conn_name} released (ModifyVpnConnection: a new endpoint)")


def unlink(old: Lab, hosts: list[Host]) -> None:
    """A moving host's link taken off its old gateway (if that gateway stays)."""
    was = {h.ns: h for h in old.vpc_hosts()}
    for h in hosts:
        prev = was[h.ns]
        if prev.gateway_ns and prev.gateway_if:
            run(in_ns(prev.gateway_ns, ["ip", "link", "del", prev.gateway_if]), check=False)


def link_host(h: Host, first: tuple[str, ...] = ()) -> None:
    """A VPC host linked to its gateway: a veth pair, the gateway's address on its end,
    the host's address and default route on the other (`first`: host commands before)."""
    assert h.gateway_ns and h.gateway_if
    ip_batch(
        h.gateway_ns,
        [
            f"link add {h.gateway_if} type veth peer name eth0 netns {h.ns}",
            f"addr add {h.gateways[0]}/{h.prefixlen} dev {h.gateway_if}",
            f"link set {h.gateway_if} up",
        ],
    )
    ip_batch(
        h.ns,
        [
            *first,
            f"addr add {h.address}/{h.prefixlen} dev eth0",
            "link set eth0 up",
            f"route add default via {h.gateways[0]}",
        ],
    )


def relink(hosts: list[Host], say: Say) -> None:
    """Each moved host linked to its new gateway: a new veth, the same address."""
    for h in hosts:
        run(in_ns(h.ns, ["ip", "link", "del", "eth0"]), check=False)
        link_host(h)
        say(f"  VPC host {h.name} now behind {h.gateway_ns}")


def keep_macs(
    old: Lab, new: Lab, ends: list[TunnelEnd], running: set[tuple[object, ...]]
) -> list[TunnelEnd]:
    """A re-created end whose other end keeps running keeps its MACs: the running end
    has a permanent neighbour entry for it (`daemons.end_link_commands`)."""
    from dataclasses import replace

    from network.lab.reshape import end_key

    was = {(e.side, e.conn_name, e.outside_ip, e.peer_outside_ip): e for e in old.ends}
    kept = {(e.side, e.conn_name) for e in ends if end_key(e) in running}
    out = []
    for e in ends:
        other = ("dc" if e.side == "aws" else "aws", e.conn_name)
        prev = was.get((e.side, e.conn_name, e.outside_ip, e.peer_outside_ip))
        if end_key(e) not in running and prev is not None and other in kept:
            e = replace(e, mac=prev.mac, peer_mac=prev.peer_mac)
        out.append(e)
    return out
