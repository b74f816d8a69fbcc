"""IOS-XE configs parsed back with ciscoconfparse2, and asserted per tunnel.

For every golden IOS-XE router: each AWS tunnel has a Tunnel interface with
the customer inside address, the router's source, AWS's destination and IPsec
protection, whose profile chain (ipsec profile -> IKEv2 profile -> keyring)
ends in the tunnel's key; a BGP neighbour with AWS's ASN and timers, with the
inbound prefix list holding exactly the planned AWS prefixes and the outbound
one exactly the datacenter prefixes, applied in those directions; standby
route maps; and, for static connections, the routes with their distances.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ciscoconfparse2 import CiscoConfParse
from netaddr import IPNetwork

from network.contract import Router, load_outputs
from network.render import interface_name, render_router

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "iosxe"
ROUTERS = [
    (f"{case.name}/{key}", router)
    for case in sorted(GOLDEN.iterdir())
    if case.is_dir()
    for key, router in sorted(load_outputs(case / "outputs.json").routers.items())
]


def child(parent, regex: str) -> str:
    """The first group of the first child line matching `regex` ('' if none)."""
    return str(parent.re_match_iter_typed(regex, result_type=str, default=""))


def one(parse: CiscoConfParse, regex: str):
    found = parse.find_objects(regex)
    assert len(found) == 1, f"{regex}: {len(found)} matches"
    return found[0]


@pytest.mark.parametrize(("name", "router"), ROUTERS, ids=[n for n, _ in ROUTERS])
def test_iosxe_structure(name: str, router: Router) -> None:
    text = render_router(router)["router.cfg"]
    parse = CiscoConfParse(text.splitlines(), syntax="ios")
    bgp = parse.find_objects(r"^router bgp ")
    one(parse, r"^crypto ipsec df-bit clear$")
    one(parse, r"^crypto ipsec fragmentation before-encryption$")
    for c in router.connections:
        for t in c.tunnels:
            net = IPNetwork(t.inside_cidr)
            iface = one(parse, rf"^interface {interface_name('iosxe', t.inside_cidr)}$")
            assert child(iface, r"^\s*ip address (\S+ \S+)$") == f"{net[2]} {net.netmask}"
            assert child(iface, r"^\s*tunnel source (\S+)$") == router.public_ip
            assert child(iface, r"^\s*tunnel destination (\S+)$") == t.aws_outside_ip
            assert child(iface, r"^\s*tunnel mode (.+)$") == "ipsec ipv4"
            assert child(iface, r"^\s*ip mtu (\d+)$") == str(c.tunnel_mtu)
            assert child(iface, r"^\s*ip tcp adjust-mss (\d+)$") == str(c.tcp_mss)
            profile = child(iface, r"^\s*tunnel protection ipsec profile (\S+)$")
            ipsec = one(parse, rf"^crypto ipsec profile {profile}$")
            pfs = str(c.crypto["phase2"]["dhGroups"][0])
            assert child(ipsec, r"^\s*set pfs group(\d+)$") == pfs
            window = int(child(ipsec, r"^\s*set security-association replay window-size (\d+)$"))
            assert window in (64, 128, 256, 512, 1024)
            assert window <= c.crypto["replayWindowSize"] < window * 2 or window == 1024
            assert child(ipsec, r"^\s*set security-association lifetime seconds (\d+)$") == str(
                c.crypto["phase2"]["lifetimeSeconds"]
            )
            ike_name = child(ipsec, r"^\s*set ikev2-profile (\S+)$")
            ike = one(parse, rf"^crypto ikev2 profile {ike_name}$")
            assert (
                child(ike, r"^\s*match identity remote address (\S+) 255.255.255.255$")
                == t.aws_outside_ip
            )
            assert child(ike, r"^\s*lifetime (\d+)$") == str(c.crypto["phase1"]["lifetimeSeconds"])
            ring_name = child(ike, r"^\s*keyring local (\S+)$")
            ring = one(parse, rf"^crypto ikev2 keyring {ring_name}$")
            peer = ring.children[0]
            assert child(peer, r"^\s*address (\S+)$") == t.aws_outside_ip
            assert child(peer, r"^\s*pre-shared-key (\S+)$") == t.psk.reveal()

            if c.routing == "static":
                for prefix in c.accept:
                    p = IPNetwork(prefix)
                    dist = 10 if t.number == 2 else 1
                    one(
                        parse,
                        rf"^ip route {p.network} {p.netmask} "
                        rf"{interface_name('iosxe', t.inside_cidr)} {net[1]} {dist}$",
                    )
                continue
            (router_bgp,) = bgp
            assert router_bgp.text == f"router bgp {router.asn}"
            n = str(net[1])
            assert child(router_bgp, rf"^\s*neighbor {n} remote-as (\d+)$") == str(t.aws_asn)
            assert (
                child(router_bgp, rf"^\s*neighbor {n} timers (\d+ \d+)$")
                == f"{t.keepalive} {t.hold_time}"
            )
            (af,) = [x for x in router_bgp.children if x.text.strip() == "address-family ipv4"]
            plist_in = child(af, rf"^\s*neighbor {n} prefix-list (\S+) in$")
            plist_out = child(af, rf"^\s*neighbor {n} prefix-list (\S+) out$")
            assert _prefix_list(parse, plist_in) == set(c.accept)
            assert _prefix_list(parse, plist_out) == set(c.announce)
            assert (
                child(af, rf"^\s*neighbor {n} maximum-prefix (\d+ restart \d+)$")
                == f"{c.max_prefixes_in} restart 5"
            )
            rm_in = child(af, rf"^\s*neighbor {n} route-map (\S+) in$")
            rm_out = child(af, rf"^\s*neighbor {n} route-map (\S+) out$")
            if t.preference == "secondary":
                assert (
                    child(
                        one(parse, rf"^route-map {rm_in} permit 10$"),
                        r"^\s*set local-preference (\d+)$",
                    )
                    == "50"
                )
                prepend = child(
                    one(parse, rf"^route-map {rm_out} permit 10$"), r"^\s*set as-path prepend (.+)$"
                )
                assert prepend.split() == [str(router.asn)] * 2
            else:
                assert not rm_in and not rm_out
    if any(c.routing == "bgp" for c in router.connections):
        for prefix in {p for c in router.connections for p in c.announce}:
            net = IPNetwork(prefix)
            assert any(
                re.match(rf"^\s+network {net.network} mask {net.netmask}$", x.text)
                for x in bgp[0].all_children
            )
            one(parse, rf"^ip route {net.network} {net.netmask} Null0 254$")


def _prefix_list(parse: CiscoConfParse, name: str) -> set[str]:
    entries = parse.find_objects(rf"^ip prefix-list {name} seq \d+ ")
    assert entries, f"prefix list {name} missing"
    out = set()
    for e in entries:
        words = e.text.split()
        assert words[5] == "permit" and len(words) == 7, e.text  # no deny, no le/ge
        out.add(words[6])
    return out
