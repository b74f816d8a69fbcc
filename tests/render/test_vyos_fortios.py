"""VyOS and FortiOS configs read back by small structural parsers, asserted per tunnel.

No library reads these two formats, so each gets a parser here (kept apart from
network/render/check.py on purpose): VyOS configuration commands become a
tree keyed by their words, FortiOS `config`/`edit`/`set`/`next`/`end` blocks a
nested mapping, and any line that does not fit the grammar fails the test.
The assertions are the ones made for IOS-XE and Junos: the tunnel interface
with the customer inside address and MTU/MSS, the IPsec peer with AWS's
outside address and the tunnel's key, PFS and lifetimes, the BGP neighbour
with AWS's ASN and timers, prefix lists in and out with exactly the planned
prefixes, standby preferences, and static routes with their distances.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from netaddr import IPNetwork

from network.contract import Router, load_outputs
from network.render import interface_name, render_router

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def routers(platform: str) -> list[tuple[str, Router]]:
    return [
        (f"{case.name}/{key}", router)
        for case in sorted((GOLDEN / platform).iterdir())
        if case.is_dir()
        for key, router in sorted(load_outputs(case / "outputs.json").routers.items())
    ]


# ------------------------------------------------------------------ VyOS

# The top-level nodes a VyOS 1.4 configuration has, and the value-taking leaves we use.
VYOS_ROOTS = {"vpn", "interfaces", "policy", "protocols"}


def vyos_tree(text: str) -> dict[str, Any]:
    """`set a b c 'v'` lines into {"a": {"b": {"c": {"v": {}}}}}; nothing else allowed."""
    tree: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        words = shlex.split(line)
        assert words[0] == "set" and words[1] in VYOS_ROOTS, f"not a VyOS set command: {line}"
        node = tree
        for word in words[1:]:
            node = node.setdefault(word, {})
    return tree


# Every command the VyOS templates may render, as VyOS 1.4 (sagitta) takes it: checked
# against VyOS's documentation and its CLI definitions. `<tag>` is a tag node's name,
# `<v>` any one value, `(a|b)` the values VyOS accepts; a command ending in a keyword is
# valueless (VyOS refuses a value there). A line matching none of these fails the test.
VYOS_14_COMMANDS = (
    "vpn ipsec ike-group <tag> key-exchange (ikev1|ikev2)",
    "vpn ipsec ike-group <tag> lifetime <v>",
    "vpn ipsec ike-group <tag> disable-mobike",
    "vpn ipsec ike-group <tag> dead-peer-detection action (hold|clear|restart)",
    "vpn ipsec ike-group <tag> dead-peer-detection interval <v>",
    "vpn ipsec ike-group <tag> dead-peer-detection timeout <v>",
    "vpn ipsec ike-group <tag> proposal <tag> encryption <v>",
    "vpn ipsec ike-group <tag> proposal <tag> hash <v>",
    "vpn ipsec ike-group <tag> proposal <tag> dh-group <v>",
    "vpn ipsec esp-group <tag> lifetime <v>",
    "vpn ipsec esp-group <tag> mode (tunnel|transport)",
    "vpn ipsec esp-group <tag> pfs (enable|disable|dh-group[0-9]+)",
    "vpn ipsec esp-group <tag> proposal <tag> encryption <v>",
    "vpn ipsec esp-group <tag> proposal <tag> hash <v>",
    "vpn ipsec authentication psk <tag> id <v>",
    "vpn ipsec authentication psk <tag> secret <v>",
    "vpn ipsec site-to-site peer <tag> description <v>",
    "vpn ipsec site-to-site peer <tag> authentication mode (pre-shared-secret|rsa|x509)",
    "vpn ipsec site-to-site peer <tag> authentication local-id <v>",
    "vpn ipsec site-to-site peer <tag> authentication remote-id <v>",
    "vpn ipsec site-to-site peer <tag> connection-type (initiate|respond|none)",
    "vpn ipsec site-to-site peer <tag> force-udp-encapsulation",
    "vpn ipsec site-to-site peer <tag> ike-group <v>",
    "vpn ipsec site-to-site peer <tag> local-address <v>",
    "vpn ipsec site-to-site peer <tag> remote-address <v>",
    "vpn ipsec site-to-site peer <tag> vti bind vti[0-9]+",
    "vpn ipsec site-to-site peer <tag> vti esp-group <v>",
    "vpn ipsec options disable-route-autoinstall",
    "interfaces vti vti[0-9]+ description <v>",
    "interfaces vti vti[0-9]+ address <v>",
    "interfaces vti vti[0-9]+ mtu <v>",
    "interfaces vti vti[0-9]+ ip adjust-mss <v>",
    "policy prefix-list <tag> rule <tag> action (permit|deny)",
    "policy prefix-list <tag> rule <tag> prefix <v>",
    "policy route-map <tag> rule <tag> action (permit|deny)",
    "policy route-map <tag> rule <tag> match ip address prefix-list <v>",
    "policy route-map <tag> rule <tag> set local-preference <v>",
    "policy route-map <tag> rule <tag> set as-path prepend <v>",
    "protocols bgp system-as <v>",
    "protocols bgp parameters router-id <v>",
    "protocols bgp address-family ipv4-unicast network <tag>",
    "protocols bgp address-family ipv4-unicast maximum-paths ebgp <v>",
    "protocols bgp neighbor <tag> description <v>",
    "protocols bgp neighbor <tag> remote-as <v>",
    "protocols bgp neighbor <tag> timers holdtime <v>",
    "protocols bgp neighbor <tag> timers keepalive <v>",
    "protocols bgp neighbor <tag> timers connect <v>",
    "protocols bgp neighbor <tag> address-family ipv4-unicast soft-reconfiguration inbound",
    "protocols bgp neighbor <tag> address-family ipv4-unicast prefix-list (import|export) <v>",
    "protocols bgp neighbor <tag> address-family ipv4-unicast route-map (import|export) <v>",
    "protocols bgp neighbor <tag> address-family ipv4-unicast maximum-prefix <v>",
    "protocols static route <tag> blackhole distance <v>",
    "protocols static route <tag> next-hop <tag> interface <v>",
    "protocols static route <tag> next-hop <tag> distance <v>",
)


def vyos_14_command(words: list[str]) -> bool:
    """Whether `set <words>` is one of VYOS_14_COMMANDS."""
    for command in VYOS_14_COMMANDS:
        pattern = command.split()
        if len(pattern) == len(words) and all(
            p in ("<tag>", "<v>") or re.fullmatch(p, w) for p, w in zip(pattern, words)
        ):
            return True
    return False


def test_every_vyos_line_is_vyos_14_syntax() -> None:
    lines = [
        line
        for _, r in routers("vyos")
        for line in render_router(r)["router.cfg"].splitlines()
        if line.startswith("set ")
    ]
    assert lines
    wrong = [line for line in lines if not vyos_14_command(shlex.split(line)[1:])]
    assert not wrong, wrong[:5]
    # What VyOS 1.3 and older took, and 1.4 refuses:
    for old in (
        "set vpn ipsec ike-group aws1 mobike 'disable'",
        "set vpn ipsec ike-group aws1 disable-mobike 'yes'",
        "set policy route-map x rule 10 set as-path-prepend '65000'",
        "set protocols bgp 65000 neighbor 169.254.0.9 remote-as '64512'",
    ):
        assert not vyos_14_command(shlex.split(old)[1:]), old


def at(tree: dict[str, Any], path: str) -> dict[str, Any]:
    node = tree
    for word in shlex.split(path):
        assert word in node, f"missing: {path} (at {word})"
        node = node[word]
    return node


def leaf(tree: dict[str, Any], path: str) -> str:
    (value,) = at(tree, path)
    return str(value)


@pytest.mark.parametrize(("name", "router"), routers("vyos"), ids=[n for n, _ in routers("vyos")])
def test_vyos_structure(name: str, router: Router) -> None:
    tree = vyos_tree(render_router(router)["router.cfg"])
    peers = at(tree, "vpn ipsec site-to-site peer")
    for c in router.connections:
        for t in c.tunnels:
            net = IPNetwork(t.inside_cidr)
            vti = interface_name("vyos", t.inside_cidr)
            assert leaf(tree, f"interfaces vti {vti} address") == f"{net[2]}/30"
            assert leaf(tree, f"interfaces vti {vti} mtu") == str(c.tunnel_mtu)
            assert leaf(tree, f"interfaces vti {vti} ip adjust-mss") == str(c.tcp_mss)
            (peer,) = [p for p in peers.values() if leaf(p, "vti bind") == vti]
            assert leaf(peer, "remote-address") == t.aws_outside_ip
            assert leaf(peer, "local-address") == router.public_ip
            assert leaf(peer, "connection-type") == "initiate"
            assert "force-udp-encapsulation" in peer
            (psk,) = [
                p
                for p in at(tree, "vpn ipsec authentication psk").values()
                if t.aws_outside_ip in p["id"]
            ]
            assert leaf(psk, "secret") == t.psk.reveal()
            ike = at(tree, f"vpn ipsec ike-group {leaf(peer, 'ike-group')}")
            esp = at(tree, f"vpn ipsec esp-group {leaf(peer, 'vti esp-group')}")
            assert leaf(ike, "lifetime") == str(c.crypto["phase1"]["lifetimeSeconds"])
            assert leaf(esp, "lifetime") == str(c.crypto["phase2"]["lifetimeSeconds"])
            assert leaf(esp, "pfs") == f"dh-group{c.crypto['phase2']['dhGroups'][0]}"
            assert leaf(ike, "dead-peer-detection action") == "restart"
            if "ikev2" in c.crypto["ikeVersions"]:
                assert ike["disable-mobike"] == {} and "mobike" not in ike  # valueless
            if c.routing == "static":
                for prefix in c.accept:
                    hop = at(tree, f"protocols static route {prefix} next-hop {net[1]}")
                    assert leaf(hop, "interface") == vti
                    assert leaf(hop, "distance") == ("10" if t.number == 2 else "1")
                continue
            assert leaf(tree, "protocols bgp system-as") == str(router.asn)
            for prefix in c.announce:
                assert leaf(tree, f"protocols static route {prefix} blackhole distance") == "254"
            n = at(tree, f"protocols bgp neighbor {net[1]}")
            assert leaf(n, "remote-as") == str(t.aws_asn)
            assert (leaf(n, "timers keepalive"), leaf(n, "timers holdtime")) == (
                str(t.keepalive),
                str(t.hold_time),
            )
            af = at(n, "address-family ipv4-unicast")
            assert _vyos_list(tree, leaf(af, "prefix-list import")) == set(c.accept)
            assert _vyos_list(tree, leaf(af, "prefix-list export")) == set(c.announce)
            assert leaf(af, "maximum-prefix") == str(c.max_prefixes_in)
            if t.preference == "secondary":
                rm_in = at(tree, f"policy route-map {leaf(af, 'route-map import')} rule 10")
                rm_out = at(tree, f"policy route-map {leaf(af, 'route-map export')} rule 10")
                assert leaf(rm_in, "set local-preference") == "50"
                assert leaf(rm_out, "set as-path prepend") == f"{router.asn} {router.asn}"
            else:
                assert "route-map" not in af


def _vyos_list(tree: dict[str, Any], name: str) -> set[str]:
    out = set()
    for rule in at(tree, f"policy prefix-list {name} rule").values():
        assert set(rule) == {"action", "prefix"} and leaf(rule, "action") == "permit"
        out.add(leaf(rule, "prefix"))
    return out


# ------------------------------------------------------------------ FortiOS


def fortios_tree(text: str) -> dict[str, Any]:
    """FortiOS CLI blocks into nested dicts; `set` values as word lists, `unset` as None."""
    root: dict[str, Any] = {}
    stack: list[tuple[str, dict[str, Any]]] = [("root", root)]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        kind = words[0]
        if kind in ("config", "edit"):
            parent_kind = stack[-1][0]
            # an edit lives in a config block; a config at the top or inside an edit/config
            assert kind == "config" or parent_kind == "config", f"edit outside config: {line}"
            node: dict[str, Any] = {}
            key = " ".join(words[1:])
            assert key not in stack[-1][1], f"duplicate block: {line}"
            stack[-1][1][key] = node
            stack.append((kind, node))
        elif kind == "next":
            assert stack.pop()[0] == "edit", f"next without edit: {line}"
        elif kind == "end":
            assert stack.pop()[0] == "config", f"end without config: {line}"
        elif kind in ("set", "unset"):
            stack[-1][1][words[1]] = words[2:] if kind == "set" else None
        else:
            raise AssertionError(f"not FortiOS CLI: {line}")
    assert len(stack) == 1, "unclosed config/edit block"
    return root


def val(node: dict[str, Any], key: str) -> str:
    assert node.get(key), f"missing set {key}"
    return " ".join(node[key])


@pytest.mark.parametrize(
    ("name", "router"), routers("fortios"), ids=[n for n, _ in routers("fortios")]
)
def test_fortios_structure(name: str, router: Router) -> None:
    tree = fortios_tree(render_router(router)["router.conf"])
    for c in router.connections:
        for t in c.tunnels:
            net = IPNetwork(t.inside_cidr)
            name_ = interface_name("fortios", t.inside_cidr)
            assert len(name_) <= 15
            p1 = tree["vpn ipsec phase1-interface"][name_]
            assert val(p1, "remote-gw") == t.aws_outside_ip
            assert val(p1, "local-gw") == router.public_ip
            assert val(p1, "psksecret") == t.psk.reveal()
            assert val(p1, "keylife") == str(c.crypto["phase1"]["lifetimeSeconds"])
            assert val(p1, "ike-version") == "2" and val(p1, "nattraversal") == "forced"
            assert val(p1, "ip-fragmentation") == "pre-encapsulation"
            (p2,) = [
                p
                for p in tree["vpn ipsec phase2-interface"].values()
                if val(p, "phase1name") == name_
            ]
            assert val(p2, "pfs") == "enable"
            assert val(p2, "keylifeseconds") == str(c.crypto["phase2"]["lifetimeSeconds"])
            iface = tree["system interface"][name_]
            assert val(iface, "ip") == f"{net[2]} 255.255.255.255"
            assert val(iface, "remote-ip") == f"{net[1]} {net.netmask}"
            assert (val(iface, "mtu"), val(iface, "tcp-mss")) == (str(c.tunnel_mtu), str(c.tcp_mss))
            if c.routing == "static":
                for prefix in c.accept:
                    p = IPNetwork(prefix)
                    (route,) = [
                        r
                        for r in tree["router static"].values()
                        if val(r, "dst") == f"{p.network} {p.netmask}" and val(r, "device") == name_
                    ]
                    # FortiOS: one distance, so both stay in the RIB (reverse-path check);
                    # tunnel 2 loses on priority.
                    assert val(route, "distance") == "1"
                    assert val(route, "priority") == ("10" if t.number == 2 else "1")
                continue
            bgp = tree["router bgp"]
            assert val(bgp, "as") == str(router.asn)
            n = bgp["neighbor"][str(net[1])]
            assert val(n, "remote-as") == str(t.aws_asn)
            assert (val(n, "keep-alive-timer"), val(n, "holdtime-timer")) == (
                str(t.keepalive),
                str(t.hold_time),
            )
            assert _forti_list(tree, val(n, "prefix-list-in")) == set(c.accept)
            assert _forti_list(tree, val(n, "prefix-list-out")) == set(c.announce)
            assert val(n, "maximum-prefix") == str(c.max_prefixes_in)
            if t.preference == "secondary":
                rm_in = tree["router route-map"][val(n, "route-map-in")]["rule"]["10"]
                rm_out = tree["router route-map"][val(n, "route-map-out")]["rule"]["10"]
                assert val(rm_in, "set-local-preference") == "50"
                assert val(rm_out, "set-aspath") == f"{router.asn} {router.asn}"
            else:
                assert "route-map-in" not in n and "route-map-out" not in n
    if any(c.routing == "bgp" for c in router.connections):
        networks = {val(x, "prefix") for x in tree["router bgp"]["network"].values()}
        assert networks == {
            f"{IPNetwork(p).network} {IPNetwork(p).netmask}"
            for c in router.connections
            for p in c.announce
        }
        discards = {
            val(r, "dst"): val(r, "distance")
            for r in tree["router static"].values()
            if r.get("blackhole") == ["enable"]
        }
        assert discards == {
            f"{IPNetwork(p).network} {IPNetwork(p).netmask}": "254"
            for c in router.connections
            if c.routing == "bgp"
            for p in c.announce
        }


def _forti_list(tree: dict[str, Any], name: str) -> set[str]:
    out = set()
    for rule in tree["router prefix-list"][name]["rule"].values():
        assert val(rule, "action") == "permit"
        assert rule.get("ge") is None and rule.get("le") is None  # exact prefixes only
        addr, mask = val(rule, "prefix").split()
        out.add(str(IPNetwork(f"{addr}/{mask}")))
    return out


@pytest.mark.parametrize(
    ("name", "router"), routers("fortios"), ids=[n for n, _ in routers("fortios")]
)
def test_fortios_firewall_policies(name: str, router: Router) -> None:
    """Per connection, both ways between the LAN interface and its two tunnels: exactly
    its planned prefixes, accept, no NAT. None where the site keeps its own."""
    tree = fortios_tree(render_router(router)["router.conf"])
    if not router.firewall_policies:
        assert not {"firewall policy", "firewall address", "firewall addrgrp"} & set(tree)
        return
    subnets = {
        n: IPNetwork(" ".join(a["subnet"]).replace(" ", "/"))
        for n, a in tree["firewall address"].items()
    }

    def prefixes(group: str) -> set[str]:
        return {str(subnets[m].cidr) for m in tree["firewall addrgrp"][group]["member"]}

    policies = list(tree["firewall policy"].values())
    for c in router.connections:
        tunnels = {interface_name("fortios", t.inside_cidr) for t in c.tunnels}
        for direction, sources, destinations in (
            ("out", c.announce, c.accept),
            ("in", c.accept, c.announce),
        ):
            (p,) = [
                p
                for p in policies
                if set(p["srcintf" if direction == "in" else "dstintf"]) == tunnels
                and prefixes(val(p, "srcaddr")) == set(sources)
            ]
            assert p["dstintf" if direction == "in" else "srcintf"] == ["internal"]
            assert prefixes(val(p, "dstaddr")) == set(destinations)
            assert val(p, "action") == "accept" and val(p, "nat") == "disable"
            assert val(p, "service") == "ALL" and len(val(p, "name")) <= 35


def test_the_parsers_reject_broken_input() -> None:
    with pytest.raises(AssertionError):
        fortios_tree("config router bgp\n    set as 1\n")  # no end
    with pytest.raises(AssertionError):
        fortios_tree("edit 1\nnext\n")  # edit outside config
    with pytest.raises(AssertionError):
        vyos_tree("delete protocols bgp\n")
    assert re.fullmatch(r"aws\d+", interface_name("fortios", "169.254.20.0/30"))
