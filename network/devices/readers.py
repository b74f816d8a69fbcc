"""Per-platform state readers: commands out, `RouterFacts` in.

Each reader takes `run(command) -> output` (a netmiko session, testinfra's
`run` on a Linux router, or a recording), so the same code reads a real
router, the fake device of the tests and the lab. Which library parses which
command is in docs/devices.md.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from network.devices.facts import NeighbourFacts, RouterFacts, TunnelFacts
from network.devices.parsing import CommandError, device_error, ntc, ntc_file, own
from network.lab.probe import parse_json, parse_swanctl_raw, sa_summary

Run = Callable[[str], str]
IOS_ADVERTISED = "cisco_ios_show_ip_bgp_neighbors_advertised-routes"


@dataclass(frozen=True)
class Reader:
    """How one platform is read: its SAs, its BGP summary, one neighbour's advertised routes."""

    platform: str
    tunnels: Callable[[Run, Mapping[str, str]], dict[str, TunnelFacts]]
    neighbours: Callable[[Run, Mapping[str, str]], dict[str, NeighbourFacts]]
    advertised: Callable[[Run, Mapping[str, str], str], int] | None = None


def _ask(platform: str, run: Run, command: str) -> str:
    text = run(command)
    device_error(platform, command, text)
    return text


def _merge(a: TunnelFacts | None, b: TunnelFacts) -> TunnelFacts:
    """Two readings of one peer (a rekey in flight, two rows): up wins."""
    if a is None:
        return b
    return TunnelFacts(
        b.peer,
        a.ike_up or b.ike_up,
        a.ipsec_up or b.ipsec_up,
        a.name or b.name,
        ", ".join(x for x in (a.detail, b.detail) if x),
    )


def _ios_state(word: str) -> tuple[str, int | None]:
    """IOS/FRR/FortiOS `State/PfxRcd`: a number means Established with that many."""
    word = word.strip()
    return ("Established", int(word)) if word.isdigit() else (word or "unknown", None)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# ---------------------------------------------------------------- IOS-XE
def _iosxe_tunnels(run: Run, _o: Mapping[str, str]) -> dict[str, TunnelFacts]:
    cmd = "show crypto session detail"
    out: dict[str, TunnelFacts] = {}
    for r in ntc("cisco_ios", cmd, _ask("iosxe", run, cmd)):
        t = TunnelFacts(
            peer=r["peer"],
            ike_up=r["ikev1_status"] == "Active",  # the template's field for IKEv1 and IKEv2
            ipsec_up=r["session_status"].startswith("UP") and (_int(r["active_sa"]) or 0) >= 2,
            name=r["interface"],
            detail=f"{r['session_status']}, IKE SA {r['ikev1_status'] or 'none'}, "
            f"{r['active_sa'] or 0} IPsec SAs",
        )
        out[t.peer] = _merge(out.get(t.peer), t)
    return out


def _ios_summary(platform: str, ntc_platform: str, cmd: str, run: Run) -> dict[str, NeighbourFacts]:
    out: dict[str, NeighbourFacts] = {}
    for r in ntc(ntc_platform, cmd, _ask(platform, run, cmd)):
        address = r.get("bgp_neighbor") or r["bgp_neigh"]
        state, received = _ios_state(r.get("state_or_prefixes_received") or r["state_pfxrcd"])
        asn = _int(r.get("neighbor_as") or r.get("neigh_as"))
        out[address] = NeighbourFacts(address, state, asn, received)
    return out


def _iosxe_neighbours(run: Run, _o: Mapping[str, str]) -> dict[str, NeighbourFacts]:
    return _ios_summary("iosxe", "cisco_ios", "show ip bgp summary", run)


def _iosxe_advertised(run: Run, _o: Mapping[str, str], address: str) -> int:
    cmd = f"show ip bgp neighbors {address} advertised-routes"
    return len({r["network"] for r in ntc("cisco_ios", cmd, _ask("iosxe", run, cmd))})


# ---------------------------------------------------------------- Junos
def _junos_tunnels(run: Run, _o: Mapping[str, str]) -> dict[str, TunnelFacts]:
    ike_cmd = "show security ike security-associations"
    ipsec_cmd = "show security ipsec security-associations"
    ike = own(
        "juniper_junos_show_security_ike_security-associations",
        ike_cmd,
        _ask("junos", run, ike_cmd),
    )
    ipsec = own(
        "juniper_junos_show_security_ipsec_security-associations",
        ipsec_cmd,
        _ask("junos", run, ipsec_cmd),
    )
    directions: dict[str, set[str]] = {}
    for r in ipsec:
        directions.setdefault(r["gateway"], set()).add(r["direction"])
    out: dict[str, TunnelFacts] = {}
    for r in ike:
        peer = r["remote_address"]
        dirs = directions.get(peer, set())
        t = TunnelFacts(
            peer,
            r["state"] == "UP",
            {"<", ">"} <= dirs,
            name=r["index"],
            detail=f"IKE {r['state']} ({r['mode']}), IPsec SAs {''.join(sorted(dirs)) or 'none'}",
        )
        out[peer] = _merge(out.get(peer), t)
    for peer, dirs in directions.items():
        if peer not in out:
            out[peer] = TunnelFacts(peer, False, {"<", ">"} <= dirs, detail="no IKE SA")
    return out


def _junos_neighbours(run: Run, _o: Mapping[str, str]) -> dict[str, NeighbourFacts]:
    cmd = "show bgp summary"
    out: dict[str, NeighbourFacts] = {}
    for r in ntc("juniper_junos", cmd, _ask("junos", run, cmd)):
        address = r["peer_ip"]
        established = r["state"] in ("Establ", "Established") or bool(r["interface"])
        accepted = _int(r["accepted"])
        prev = out.get(address)
        if prev is not None and accepted is not None and prev.received is not None:
            accepted += prev.received  # one row per RIB
        out[address] = NeighbourFacts(
            address,
            "Established" if established else (r["state"] or "unknown"),
            _int(r["peer_as"]),
            accepted if established else None,
        )
    return out


def _junos_advertised(run: Run, _o: Mapping[str, str], address: str) -> int:
    cmd = f"show route advertising-protocol bgp {address}"
    rows = own("juniper_junos_show_route_advertising-protocol_bgp", cmd, _ask("junos", run, cmd))
    return len({r["prefix"] for r in rows})


# ---------------------------------------------------------------- VyOS
def _vyos_tunnels(run: Run, _o: Mapping[str, str]) -> dict[str, TunnelFacts]:
    ike_cmd, ipsec_cmd = "show vpn ike sa", "show vpn ipsec sa"
    ike = own("vyos_show_vpn_ike_sa", ike_cmd, _ask("vyos", run, ike_cmd))
    ipsec = own("vyos_show_vpn_ipsec_sa", ipsec_cmd, _ask("vyos", run, ipsec_cmd))
    out: dict[str, TunnelFacts] = {}
    for r in ike:
        t = TunnelFacts(r["peer"], r["state"] == "up", False, detail=f"IKE {r['state']}")
        out[t.peer] = _merge(out.get(t.peer), t)
    for r in ipsec:
        peer = r["remote_address"]
        t = TunnelFacts(peer, False, r["state"] == "up", r["connection"], f"IPsec {r['state']}")
        out[peer] = _merge(out.get(peer), t)
    return out


def _vyos_neighbours(run: Run, _o: Mapping[str, str]) -> dict[str, NeighbourFacts]:
    return _ios_summary("vyos", "vyos", "show ip bgp summary", run)


def _frr_like_advertised(platform: str, cmd: str, run: Run) -> int:
    return len({r["network"] for r in ntc_file(IOS_ADVERTISED, cmd, _ask(platform, run, cmd))})


def _vyos_advertised(run: Run, _o: Mapping[str, str], address: str) -> int:
    return _frr_like_advertised("vyos", f"show ip bgp neighbors {address} advertised-routes", run)


# ---------------------------------------------------------------- FortiOS
def _fortios_tunnels(run: Run, _o: Mapping[str, str]) -> dict[str, TunnelFacts]:
    ike_cmd, sum_cmd = "diagnose vpn ike gateway list", "get vpn ipsec tunnel summary"
    ike = own("fortinet_diagnose_vpn_ike_gateway_list", ike_cmd, _ask("fortios", run, ike_cmd))
    summary = own("fortinet_get_vpn_ipsec_tunnel_summary", sum_cmd, _ask("fortios", run, sum_cmd))
    out: dict[str, TunnelFacts] = {}
    for r in ike:
        t = TunnelFacts(
            r["remote"],
            (_int(r["ike_established"]) or 0) > 0,
            False,
            r["name"],
            f"IKE SAs established {r['ike_established'] or 0}",
        )
        out[t.peer] = _merge(out.get(t.peer), t)
    for r in summary:
        up = _int(r["selectors_up"]) or 0
        t = TunnelFacts(
            r["remote_gateway"],
            False,
            up > 0,
            r["name"],
            f"selectors up {up}/{r['selectors_total']}",
        )
        out[t.peer] = _merge(out.get(t.peer), t)
    return out


def _fortios_neighbours(run: Run, _o: Mapping[str, str]) -> dict[str, NeighbourFacts]:
    return _ios_summary("fortios", "fortinet", "get router info bgp summary", run)


def _fortios_advertised(run: Run, _o: Mapping[str, str], address: str) -> int:
    cmd = f"get router info bgp neighbors {address} advertised-routes"
    return _frr_like_advertised("fortios", cmd, run)


# ---------------------------------------------------------------- Linux (strongSwan + FRR)
def _linux_tunnels(run: Run, o: Mapping[str, str]) -> dict[str, TunnelFacts]:
    """swanctl's SAs, read as the lab reads them (network.lab.probe)."""
    cmd = f"{o.get('swanctl', 'swanctl')} --list-sas --raw"
    out: dict[str, TunnelFacts] = {}
    for name, sa in sa_summary(parse_swanctl_raw(_ask("linux", run, cmd))).items():
        children = sa.get("children") or {}
        t = TunnelFacts(
            str(sa.get("remote") or name),
            sa.get("state") == "ESTABLISHED",
            "INSTALLED" in children.values(),
            name,
            f"IKE {sa.get('state')}, children {children}",
        )
        out[t.peer] = _merge(out.get(t.peer), t)
    return out


def _linux_neighbours(run: Run, o: Mapping[str, str]) -> dict[str, NeighbourFacts]:
    cmd = f"{o.get('vtysh', 'vtysh')} -c {shlex.quote('show bgp summary json')}"
    data = parse_json(_ask("linux", run, cmd))
    if not isinstance(data, dict):
        raise CommandError(cmd, "no JSON answer (is bgpd running?)")
    peers = data.get("ipv4Unicast", {}).get("peers", {})
    return {
        a: NeighbourFacts(
            a,
            str(p.get("state", "unknown")),
            _int(str(p.get("remoteAs", ""))),
            int(p.get("pfxRcd", 0)),
            int(p.get("pfxSnt", 0)),
        )
        for a, p in peers.items()
    }


READERS: dict[str, Reader] = {
    "iosxe": Reader("iosxe", _iosxe_tunnels, _iosxe_neighbours, _iosxe_advertised),
    "junos": Reader("junos", _junos_tunnels, _junos_neighbours, _junos_advertised),
    "vyos": Reader("vyos", _vyos_tunnels, _vyos_neighbours, _vyos_advertised),
    "fortios": Reader("fortios", _fortios_tunnels, _fortios_neighbours, _fortios_advertised),
    "linux": Reader("linux", _linux_tunnels, _linux_neighbours),  # pfxSnt is in the JSON
}


def read_facts(
    router: str, platform: str, run: Run, options: Mapping[str, str] | None = None
) -> RouterFacts:
    """Read a router's SAs, BGP neighbours and prefix counts. A command that fails
    (a daemon down, output no template reads) is named in `errors`; the rest is read."""
    reader = READERS[platform]
    opts = options or {}
    errors: list[str] = []
    tunnels: dict[str, TunnelFacts] = {}
    neighbours: dict[str, NeighbourFacts] = {}
    try:
        tunnels = reader.tunnels(run, opts)
    except CommandError as e:
        errors.append(f"tunnels not read: {e}")
    try:
        neighbours = reader.neighbours(run, opts)
    except CommandError as e:
        errors.append(f"BGP not read: {e}")
    if reader.advertised is not None:
        for address, n in sorted(neighbours.items()):
            if not n.established:
                continue
            try:
                count = reader.advertised(run, opts, address)
            except CommandError as e:
                errors.append(f"advertised routes not read: {e}")
                continue
            neighbours[address] = NeighbourFacts(n.address, n.state, n.remote_as, n.received, count)
    return RouterFacts(router, platform, tunnels, neighbours, tuple(errors))
