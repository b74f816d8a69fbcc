"""Junos configs parsed back with ciscoconfparse2, and asserted per tunnel.

The rendered `set` commands are first folded into Junos's hierarchical
(curly-brace) form, one level per word, which ciscoconfparse2 reads with
`syntax="junos"`: a set line that does not fit the hierarchy, or a
duplicate leaf with another value, shows up here. Per tunnel: an st0 unit
with the customer inside address and MTU, bound to an IPsec VPN whose IKE
gateway is AWS's outside address with the tunnel's key; PFS and lifetimes;
a BGP neighbour with AWS's ASN and hold time, whose import policy accepts
exactly the planned AWS prefixes and whose export policy announces exactly
the datacenter prefixes; standby preferences; static routes.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from ciscoconfparse2 import CiscoConfParse
from netaddr import IPNetwork

from network.contract import Router, load_outputs
from network.render import interface_name, render_router

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "junos"
ROUTERS = [
    (f"{case.name}/{key}", router)
    for case in sorted(GOLDEN.iterdir())
    if case.is_dir()
    for key, router in sorted(load_outputs(case / "outputs.json").routers.items())
]


def braces(set_text: str) -> list[str]:
    """Fold `set` lines into curly-brace form, one level per word."""
    tree: dict[str, Any] = {}
    for line in set_text.splitlines():
        if line.startswith("set "):
            node = tree
            for word in shlex.split(line)[1:]:
                node = node.setdefault(word, {})
        else:
            assert not line.strip() or line.startswith("#"), f"not a set command: {line}"

    def emit(node: dict[str, Any], depth: int) -> list[str]:
        out = []
        for key, sub in node.items():
            word = f'"{key}"' if " " in key else key
            if sub:
                out += [f"{'    ' * depth}{word} {{", *emit(sub, depth + 1), f"{'    ' * depth}}}"]
            else:
                out.append(f"{'    ' * depth}{word};")
        return out

    return emit(tree, 0)


class Junos:
    """Walks the parsed hierarchy by words, as a `set` path names them."""

    def __init__(self, text: str):
        self.parse = CiscoConfParse(braces(text), syntax="junos")

    def node(self, *path: str):
        level = [o for o in self.parse.objs if o.indent == 0]
        found = None
        for word in path:
            found = next((o for o in level if o.text.strip().strip('"') == word), None)
            assert found is not None, f"no {' '.join(path)} (stopped at {word})"
            level = found.children
        return found

    def values(self, *path: str) -> set[str]:
        return {c.text.strip().strip('"') for c in self.node(*path).children} - {""}

    def value(self, *path: str) -> str:
        (v,) = self.values(*path)
        return v


def _check_junos_routing(j: Junos, router: Router, c: Any, t: Any, st0: str) -> None:
    """The tunnel's static routes, or its BGP neighbour, filters and preference."""
    net = IPNetwork(t.inside_cidr)
    if c.routing == "static":
        for prefix in c.accept:
            hop = ("routing-options", "static", "route", prefix, "qualified-next-hop", st0)
            assert j.value(*hop, "preference") == ("10" if t.number == 2 else "1")
        return
    group = ("protocols", "bgp", "group", c.name)
    assert j.value(*group, "peer-as") == str(t.aws_asn)
    assert j.value(*group, "hold-time") == str(t.hold_time)
    peer = (*group, "neighbor", str(net[1]))
    assert j.value(*peer, "local-address") == str(net[2])
    assert j.value(*peer, "family", "inet", "unicast", "prefix-limit", "maximum") == str(
        c.max_prefixes_in
    )
    assert (
        j.value(*peer, "family", "inet", "unicast", "prefix-limit", "teardown", "idle-timeout")
        == "5"
    )
    imp, exp = j.value(*peer, "import"), j.value(*peer, "export")
    assert _accepted(j, imp) == set(c.accept)
    assert _accepted(j, exp) == set(c.announce)
    then_in = j.values("policy-options", "policy-statement", imp, "term", "aws", "then")
    then_out = j.values("policy-options", "policy-statement", exp, "term", "dc", "then")
    if t.preference == "secondary":
        assert "local-preference" in then_in and "as-path-prepend" in then_out
        assert (
            j.value(
                "policy-options",
                "policy-statement",
                exp,
                "term",
                "dc",
                "then",
                "as-path-prepend",
            )
            == f"{router.asn} {router.asn}"
        )
    else:
        assert then_in == {"accept"} and then_out == {"accept"}


@pytest.mark.parametrize(("name", "router"), ROUTERS, ids=[n for n, _ in ROUTERS])
def test_junos_structure(name: str, router: Router) -> None:
    j = Junos(render_router(router)["router.set"])
    if any(c.routing == "bgp" for c in router.connections):
        assert j.value("routing-options", "autonomous-system") == str(router.asn)
        for prefix in {p for c in router.connections if c.routing == "bgp" for p in c.announce}:
            route = ("routing-options", "static", "route", prefix)
            assert {"discard", "preference"} <= j.values(*route)
            assert j.value(*route, "preference") == "254"
    for c in router.connections:
        for t in c.tunnels:
            net = IPNetwork(t.inside_cidr)
            st0 = interface_name("junos", t.inside_cidr)
            unit = st0.split(".")[1]
            assert (
                j.value("interfaces", "st0", "unit", unit, "family", "inet", "address")
                == f"{net[2]}/30"
            )
            assert j.value("interfaces", "st0", "unit", unit, "family", "inet", "mtu") == str(
                c.tunnel_mtu
            )
            vpns = j.values("security", "ipsec", "vpn")
            (vpn,) = [
                v for v in vpns if j.value("security", "ipsec", "vpn", v, "bind-interface") == st0
            ]
            assert j.value("security", "ipsec", "vpn", vpn, "df-bit") == "clear"
            gw = j.value("security", "ipsec", "vpn", vpn, "ike", "gateway")
            assert j.value("security", "ike", "gateway", gw, "address") == t.aws_outside_ip
            assert j.value("security", "ike", "gateway", gw, "version") == "v2-only"
            policy = j.value("security", "ike", "gateway", gw, "ike-policy")
            assert (
                j.value("security", "ike", "policy", policy, "pre-shared-key", "ascii-text")
                == t.psk.reveal()
            )
            for prop in j.values("security", "ike", "policy", policy, "proposals"):
                assert j.value("security", "ike", "proposal", prop, "lifetime-seconds") == str(
                    c.crypto["phase1"]["lifetimeSeconds"]
                )
            esp_policy = j.value("security", "ipsec", "vpn", vpn, "ike", "ipsec-policy")
            assert (
                j.value(
                    "security", "ipsec", "policy", esp_policy, "perfect-forward-secrecy", "keys"
                )
                == f"group{c.crypto['phase2']['dhGroups'][0]}"
            )
            for prop in j.values("security", "ipsec", "policy", esp_policy, "proposals"):
                assert j.value("security", "ipsec", "proposal", prop, "lifetime-seconds") == str(
                    c.crypto["phase2"]["lifetimeSeconds"]
                )
            _check_junos_routing(j, router, c, t, st0)

    ecmp = [c for c in router.connections if c.redundancy == "ecmp" and c.routing == "bgp"]
    if ecmp:
        # Load-balance only what ECMP is for: BGP routes of the ECMP connections' prefixes.
        (policy,) = j.values("routing-options", "forwarding-table", "export")
        terms = j.values("policy-options", "policy-statement", policy, "term")
        assert terms, "a load-balance policy without terms matches every route"
        for term in terms:
            path = ("policy-options", "policy-statement", policy, "term", term)
            assert j.value(*path, "from", "protocol") == "bgp"
            lists = j.values(*path, "from", "prefix-list")
            assert lists and set().union(
                *(j.values("policy-options", "prefix-list", x) for x in lists)
            ) == {p for c in ecmp for p in c.accept}
            assert j.value(*path, "then", "load-balance") == "per-packet"
        for c in ecmp:
            assert "multipath" in j.values("protocols", "bgp", "group", c.name)


def _accepted(j: Junos, policy: str) -> set[str]:
    """Prefixes a policy accepts: the prefix lists of its accepting terms; others reject."""
    out: set[str] = set()
    for term in j.values("policy-options", "policy-statement", policy, "term"):
        path = ("policy-options", "policy-statement", policy, "term", term)
        then = j.values(*path, "then")
        if "accept" in then:
            for plist in j.values(*path, "from", "prefix-list"):
                out |= j.values("policy-options", "prefix-list", plist)
        else:
            assert then == {"reject"}
    return out


@pytest.mark.parametrize(("name", "router"), ROUTERS, ids=[n for n, _ in ROUTERS])
def test_junos_security_policies(name: str, router: Router) -> None:
    """Per connection, both ways between trust and aws-vpn: exactly its planned prefixes;
    every st0 unit in the aws-vpn zone. None where the site keeps its own."""
    j = Junos(render_router(router)["router.set"])
    if not router.firewall_policies:
        with pytest.raises(AssertionError):
            j.node("security", "policies")
        return
    book = ("security", "address-book", "global")

    def prefixes(address_set: str) -> set[str]:
        names = j.values(*book, "address-set", address_set, "address")
        return set().union(*(j.values(*book, "address", n) for n in names))

    zone = j.values("security", "zones", "security-zone", "aws-vpn", "interfaces")
    for c in router.connections:
        assert {interface_name("junos", t.inside_cidr) for t in c.tunnels} <= zone
        for src, dst, direction, sources, destinations in (
            ("trust", "aws-vpn", "out", c.announce, c.accept),
            ("aws-vpn", "trust", "in", c.accept, c.announce),
        ):
            policy = (
                *("security", "policies", "from-zone", src, "to-zone", dst, "policy"),
                f"{c.name}-{direction}",
            )
            assert prefixes(j.value(*policy, "match", "source-address")) == set(sources)
            assert prefixes(j.value(*policy, "match", "destination-address")) == set(destinations)
            assert j.value(*policy, "match", "application") == "any"
            assert j.values(*policy, "then") == {"permit"}
