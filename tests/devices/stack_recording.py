"""Recordings of one router of a stack, for the check's tests: the recorded outputs of
tests/devices/recorded (ntc-templates' own, and those written from the vendors'
documentation) re-addressed to the stack's AWS ends, BGP neighbours and prefixes.

Every block and row is the recorded one, with only its addresses, names and counts
replaced: the session status lines, the column layout and the header lines are the
device's. A tunnel that is down is the recording's own down block (IOS-XE's
DOWN-NEGOTIATING session, Junos' DOWN IKE SA, VyOS' `down`, FortiOS' `established 0/0`).

    write_recording(platform, router, directory, fault="")

`fault` changes one thing, on the last tunnel of the router's first BGP connection:
`tunnel-down` (its IKE and IPsec SAs), `neighbour-idle` (its BGP session Idle), or
`prefix-missing` (one planned prefix not advertised to its neighbour). Nothing else
changes, so exactly the checks of that thing fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import yaml

from network.contract import Router

REC = Path(__file__).resolve().parent / "recorded"
FAULTS = ("", "tunnel-down", "neighbour-idle", "prefix-missing")


def _read(platform: str, name: str) -> str:
    return (REC / platform / name).read_text()


def _blocks(text: str, start: str) -> tuple[str, list[str]]:
    """The header before the first line starting with `start`, and each block from it."""
    parts = re.split(rf"(?m)^(?={re.escape(start)})", text)
    return parts[0], parts[1:]


class Tunnel:
    """One tunnel of the router as the recordings need it."""

    def __init__(self, index: int, peer: str, neighbour: str, asn: int, bgp: bool) -> None:
        self.index, self.peer, self.neighbour, self.asn, self.bgp = (
            index,
            peer,
            neighbour,
            asn,
            bgp,
        )
        self.up = True
        self.idle = False
        self.received = 0
        self.advertised: list[str] = []


def _tunnels(router: Router, fault: str) -> list[Tunnel]:
    out: list[Tunnel] = []
    for c in router.connections:
        for t in c.tunnels:
            x = Tunnel(
                len(out) + 1, t.aws_outside_ip, t.aws_inside_ip, t.aws_asn, c.routing == "bgp"
            )
            x.received, x.advertised = len(c.accept), list(c.announce)
            out.append(x)
    first = next(c for c in router.connections if c.routing == "bgp")
    last = next(x for x in out if x.peer == first.tunnels[-1].aws_outside_ip)
    if fault == "tunnel-down":
        last.up = False
    elif fault == "neighbour-idle":
        last.idle = True
    elif fault == "prefix-missing":
        last.advertised = last.advertised[1:]
    elif fault:
        raise ValueError(f"fault {fault!r} is not one of {FAULTS}")
    return out


# ---------------------------------------------------------------- IOS-style BGP tables
def _ios_summary(header: str, sample: str, tunnels: list[Tunnel], footer: str = "") -> str:
    """The BGP summary table: the recording's `sample` row per neighbour, with its
    address, AS and State/PfxRcd replaced (the gaps between columns kept: ntc's
    templates rely on them)."""
    cells = re.findall(r"(\S+)(\s*)", sample.strip("\n"))
    rows = []
    for t in tunnels:
        if not t.bgp:
            continue
        tokens = [c[0] for c in cells]
        tokens[0], tokens[2] = t.neighbour, str(t.asn)
        tokens[-1] = "Idle" if t.idle else str(t.received)
        rows.append("".join(tok + gap for tok, (_, gap) in zip(tokens, cells)).rstrip())
    return header + "\n".join(rows) + "\n" + footer


def _row(text: str, starts: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith(starts))


def _ios_advertised(header: str, prefixes: list[str]) -> str:
    rows = [f" *>   {p:<16} 0.0.0.0                            32768 i" for p in prefixes]
    return header + "\n".join(rows) + f"\n\nTotal number of prefixes {len(prefixes)}\n"


def _head(text: str, through: str) -> str:
    """The recording up to and including the line that starts with `through`."""
    lines = text.splitlines(keepends=True)
    n = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(through))
    return "".join(lines[: n + 1])


# ---------------------------------------------------------------- per platform
def _iosxe(router: Router, tunnels: list[Tunnel]) -> dict[str, str]:
    head, (up,) = _blocks(
        _read("iosxe", "cisco_ios_show_crypto_session_detail_ikev2.raw"), "Interface:"
    )
    _, v1 = _blocks(_read("iosxe", "cisco_ios_show_crypto_session_detail.raw"), "Interface:")
    down = v1[0]  # Tunnel1201, DOWN-NEGOTIATING, IKEv1 SAs Inactive, 0 active SAs
    blocks = []
    for t in tunnels:
        if t.up:
            b = up.replace("Tunnel11", f"Tunnel{t.index}").replace("18.81.19.19", router.public_ip)
            b = b.replace("21.16.95.23", t.peer).replace("21.61.95.23", t.peer)
        else:
            b = down.replace("Tunnel1201", f"Tunnel{t.index}").replace(
                "10.175.200.116", router.public_ip
            )
            b = b.replace("10.161.255.14", t.peer)
        blocks.append(b)
    summary = _read("iosxe", "cisco_ios_show_ip_bgp_summary.raw")
    adv = _read("iosxe", "cisco_ios_show_ip_bgp_neighbors_advertised_routes.raw")
    files = {
        "show crypto session detail": head + "".join(blocks),
        "show ip bgp summary": _ios_summary(
            _head(summary, "Neighbor"), _row(summary, "10.0.0.4 "), tunnels
        ),
    }
    for t in tunnels:
        if t.bgp and not t.idle:
            files[f"show ip bgp neighbors {t.neighbour} advertised-routes"] = _ios_advertised(
                _head(adv, "Network"), t.advertised
            )
    return files


def _junos(router: Router, tunnels: list[Tunnel]) -> dict[str, str]:
    ike_rec = _read("junos", "show_security_ike_security-associations.doc.raw").splitlines()
    ike_head, ike_up, ike_down = ike_rec[0], ike_rec[1], ike_rec[2]
    ipsec_rec = _read("junos", "show_security_ipsec_security-associations.doc.raw").splitlines()
    ipsec_head, sa_in, sa_out = ipsec_rec[:2], ipsec_rec[2], ipsec_rec[3]
    ike, ipsec = [ike_head], list(ipsec_head)
    for t in tunnels:
        row = (ike_up if t.up else ike_down).replace("8367169", f"83671{t.index:02d}")
        row = row.replace("8367170", f"83671{t.index:02d}")
        ike.append(re.sub(r"\S+$", t.peer, row))
        if t.up:
            for sa in (sa_in, sa_out):
                ipsec.append(re.sub(r"\S+$", t.peer, sa.replace("131073", f"1310{t.index:02d}")))
    bgp = _read("junos", "juniper_junos_show_bgp_summary.raw").splitlines()
    rows = bgp[:3]
    for t in sorted((t for t in tunnels if t.bgp), key=lambda t: t.idle):  # Idle last, as Junos
        if t.idle:
            rows.append(
                f"{t.neighbour:<20} {t.asn:>7}          0          0       0       1"
                "        3:12 Idle"
            )
        else:
            rows.append(
                f"{t.neighbour:<20} {t.asn:>7}    1165670    1238837       0       1"
                " 9w2d 5:23:37 Establ"
            )
            n = t.received
            rows.append(f"  inet.0: {n}/{n}/{n}/0")
    adv_rec = _read("junos", "show_route_advertising-protocol_bgp.doc.raw").splitlines()
    files = {
        "show security ike security-associations": "\n".join(ike) + "\n",
        "show security ipsec security-associations": "\n".join(ipsec) + "\n",
        "show bgp summary": "\n".join(rows),
    }
    for t in tunnels:
        if t.bgp and not t.idle:
            adv = adv_rec[:3] + [
                f"* {p:<23} Self                                    I" for p in t.advertised
            ]
            files[f"show route advertising-protocol bgp {t.neighbour}"] = "\n".join(adv) + "\n"
    return files


def _vyos(router: Router, tunnels: list[Tunnel]) -> dict[str, str]:
    _, ike_blocks = _blocks(_read("vyos", "show_vpn_ike_sa.doc.raw"), "Peer ID / IP")
    ike_up, ike_down = ike_blocks
    ipsec_rec = _read("vyos", "show_vpn_ipsec_sa.doc.raw").splitlines()
    ike, ipsec = [], ipsec_rec[:2]
    for t in tunnels:
        b = (ike_up if t.up else ike_down).replace("198.51.100.10", t.peer)
        ike.append(b.replace("203.0.113.10", t.peer).replace("192.0.2.20", router.public_ip))
        row = ipsec_rec[2].replace("aws1281-vti", f"aws{t.index}-vti".ljust(11))
        row = row.replace("198.51.100.10", t.peer.ljust(13))
        ipsec.append(row if t.up else row.replace(" up    ", " down  ", 1))
    summary = _read("vyos", "vyatta_vyos_show_ip_bgp_summary.raw")
    adv = _read("vyos", "show_ip_bgp_neighbors_advertised-routes.doc.raw")
    n = sum(t.bgp for t in tunnels)
    files = {
        "show vpn ike sa": "\n".join(b.rstrip("\n") + "\n" for b in ike).rstrip("\n") + "\n",
        "show vpn ipsec sa": "\n".join(ipsec) + "\n",
        "show ip bgp summary": _ios_summary(
            _head(summary, "Neighbor"),
            _row(summary, "10.10.10.10 "),
            tunnels,
            f"\nTotal number of neighbors {n}\n",
        ),
    }
    for t in tunnels:
        if t.bgp and not t.idle:
            files[f"show ip bgp neighbors {t.neighbour} advertised-routes"] = _ios_advertised(
                _head(adv, "Network"), t.advertised
            )
    return files


def _fortios(router: Router, tunnels: list[Tunnel]) -> dict[str, str]:
    _, gw = _blocks(_read("fortios", "diagnose_vpn_ike_gateway_list.doc.raw"), "vd: ")
    gw_up, gw_down = gw
    summary_rec = _read("fortios", "get_vpn_ipsec_tunnel_summary.doc.raw").splitlines()
    ike, summary = [], []
    for t in tunnels:
        name = f"aws{t.index}"
        if t.up:
            b = gw_up.replace("aws1281", name).replace("198.51.100.10", t.peer)
            row = summary_rec[0].replace("aws1281", name).replace("198.51.100.10", t.peer)
        else:
            b = gw_down.replace("aws1282", name).replace("203.0.113.10", t.peer)
            row = summary_rec[1].replace("aws1282", name).replace("203.0.113.10", t.peer)
        ike.append(b.replace("192.0.2.30", router.public_ip))
        summary.append(row)
    bgp = _read("fortios", "fortinet_get_router_info_bgp_summary.raw")
    adv = _read("fortios", "get_router_info_bgp_neighbors_advertised-routes.doc.raw")
    n = sum(t.bgp for t in tunnels)
    files = {
        "diagnose vpn ike gateway list": "".join(ike),
        "get vpn ipsec tunnel summary": "\n".join(summary) + "\n",
        "get router info bgp summary": _ios_summary(
            _head(bgp, "Neighbor"),
            _row(bgp, "10.205.35.95 "),
            tunnels,
            f"\nTotal number of neighbors {n}\n",
        ),
    }
    for t in tunnels:
        if t.bgp and not t.idle:
            files[f"get router info bgp neighbors {t.neighbour} advertised-routes"] = (
                _ios_advertised(_head(adv, "Network"), t.advertised)
            )
    return files


BUILDERS: dict[str, Callable[[Router, list[Tunnel]], dict[str, str]]] = {
    "iosxe": _iosxe,
    "junos": _junos,
    "vyos": _vyos,
    "fortios": _fortios,
}


def recording(platform: str, router: Router, fault: str = "") -> dict[str, str]:
    """command -> the device's answer, for `router` read as `platform`."""
    return BUILDERS[platform](router, _tunnels(router, fault))


def write_recording(platform: str, router: Router, directory: Path, fault: str = "") -> Path:
    """The recording as the fake device replays it: files and `commands.yaml`."""
    directory.mkdir(parents=True, exist_ok=True)
    commands = {}
    for i, (command, text) in enumerate(sorted(recording(platform, router, fault).items())):
        name = f"{i:02d}_{re.sub(r'[^A-Za-z0-9.]+', '_', command)}.raw"
        (directory / name).write_text(text)
        commands[command] = name
    (directory / "commands.yaml").write_text(yaml.safe_dump(commands))
    return directory
