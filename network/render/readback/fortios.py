"""Read back a FortiOS CLI script: each phase1-interface, its phase2 and tunnel interface,
and the firewall policies between the tunnels and the LAN (pure)."""

from __future__ import annotations

from typing import Any

from netaddr import IPAddress

from network.render import crypto as cr
from network.render.readback.facts import (
    ConfigFacts,
    Policy,
    Suite,
    TunnelFacts,
    apply_bgp,
    empty_routing,
)
from network.render.readback.words import words as split_words


def tree(text: str) -> dict[str, Any]:
    """FortiOS CLI: `config`/`edit` blocks into nested dicts, `set` into word lists."""
    root: dict[str, Any] = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = split_words(line)
        if words[0] in ("config", "edit"):
            node: dict[str, Any] = {}
            stack[-1][" ".join(words[1:])] = node
            stack.append(node)
        elif words[0] in ("next", "end"):
            stack.pop()
        elif words[0] == "set":
            stack[-1][words[1]] = words[2:]
    if len(stack) != 1:
        raise ValueError("unbalanced config/edit blocks")
    return root


def one(node: dict[str, Any], key: str) -> str | None:
    """A `set` value as one string."""
    value = node.get(key)
    return " ".join(value) if value else None


def _int(node: dict[str, Any], key: str) -> int | None:
    return int(one(node, key) or 0) or None


def cidr(words: list[str]) -> str:
    """`a.b.c.d 255.255.0.0` as `a.b.c.d/16`."""
    return f"{words[0]}/{IPAddress(words[1]).netmask_bits()}"


def _suites(tokens: list[str], groups: list[int | None]) -> set[Suite]:
    enc_of, hash_of = cr.reverse(cr.FORTIOS_ENC), cr.reverse(cr.FORTIOS_HASH)
    out: set[Suite] = set()
    for token in tokens:
        enc, _, integ = token.partition("-")
        integ = integ.removeprefix("prf")
        for g in groups:
            out.add((enc_of.get(enc, enc), hash_of.get(integ, integ) if integ else None, g))
    return out


def _address(iface: dict[str, Any]) -> str | None:
    # FortiOS style: the local address as a /32, the subnet on the remote end.
    ip, remote_ip = iface.get("ip", []), iface.get("remote-ip", [])
    if len(ip) == 2 and len(remote_ip) == 2 and ip[1] == "255.255.255.255":
        return f"{ip[0]}/{IPAddress(remote_ip[1]).netmask_bits()}"
    return None


def _tunnel(p1: dict[str, Any], p2: dict[str, Any], iface: dict[str, Any]) -> TunnelFacts:
    dh_of = cr.reverse(cr.FORTIOS_DH)
    pfs: list[int | None] = [None]
    if one(p2, "pfs") == "enable":
        pfs = [dh_of.get(g) for g in p2.get("dhgrp", [])]
    interval, count = _int(p1, "dpd-retryinterval"), _int(p1, "dpd-retrycount")
    return TunnelFacts(
        remote=one(p1, "remote-gw") or "",
        local=one(p1, "local-gw"),
        psk=one(p1, "psksecret"),
        ike_version=_int(p1, "ike-version"),
        ike=_suites(p1.get("proposal", []), [dh_of.get(g) for g in p1.get("dhgrp", [])]),
        esp=_suites(p2.get("proposal", []), pfs),
        ike_lifetime=_int(p1, "keylife"),
        esp_lifetime=_int(p2, "keylifeseconds"),
        dpd_interval=interval,
        dpd_timeout=interval * count if interval and count else None,
        # FortiOS's default: post-encapsulation
        fragmentation="before" if one(p1, "ip-fragmentation") == "pre-encapsulation" else "after",
        address=_address(iface),
        # FortiOS ignores `mtu` unless mtu-override is enabled
        mtu=_int(iface, "mtu") if one(iface, "mtu-override") == "enable" else None,
        mss=_int(iface, "tcp-mss"),
    )


def fortios_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from a FortiOS config: each phase1-interface, its phase2 and tunnel interface."""
    config = tree(files["router.conf"])
    phase2 = {one(v, "phase1name"): v for v in config["vpn ipsec phase2-interface"].values()}
    interfaces = config.get("system interface", {})
    routing = fortios_routing(config)
    facts = []
    for name, p1 in config["vpn ipsec phase1-interface"].items():
        f = _tunnel(p1, phase2.get(name, {}), interfaces.get(name, {}))
        apply_bgp(f, routing, name)
        facts.append(f)
    return ConfigFacts(facts, discard=routing["discard"], policies=fortios_policies(config))


def _prefix_lists(config: dict[str, Any]) -> dict[str, set[str]]:
    out = {}
    for name, plist in config.get("router prefix-list", {}).items():
        entries = set()
        for rule in plist.get("rule", {}).values():
            extra = [f"{k} {one(rule, k)}" for k in ("ge", "le") if rule.get(k)]
            action = one(rule, "action") or "permit"
            entries.add(
                " ".join(([] if action == "permit" else [action]) + [cidr(rule["prefix"])] + extra)
            )
        out[name] = entries
    return out


def _static(out: dict[str, Any], config: dict[str, Any]) -> None:
    for route in config.get("router static", {}).values():
        if one(route, "blackhole") == "enable":
            out["discard"][cidr(route["dst"])] = int(one(route, "distance") or 10)
            continue
        out["static"].append(
            (
                cidr(route["dst"]),
                one(route, "gateway"),
                one(route, "device") or "",
                int(one(route, "distance") or 10),
                int(one(route, "priority") or 1),  # FortiOS 7: priority 1
            )
        )


def fortios_routing(config: dict[str, Any]) -> dict[str, Any]:
    """FortiOS BGP, prefix lists, route maps and static routes, in linux.frr()'s shape."""
    out = empty_routing()
    out["lists"] = _prefix_lists(config)
    bgp = config.get("router bgp", {})
    out["asn"] = _int(bgp, "as")
    # ebgp-multipath uses every equal path (up to FortiOS's own limit)
    out["multipath"] = 64 if one(bgp, "ebgp-multipath") == "enable" else None
    maps = config.get("router route-map", {})

    def rule_set(name: str | None, key: str) -> str | None:
        rules = maps.get(name or "", {}).get("rule", {}).values()
        return next((one(r, key) for r in rules if one(r, key)), None)

    for peer, n in bgp.get("neighbor", {}).items():
        limit = one(n, "maximum-prefix")
        lp = rule_set(one(n, "route-map-in"), "set-local-preference")
        out["neighbors"][peer] = {
            "remote_as": _int(n, "remote-as"),
            "hold": _int(n, "holdtime-timer"),
            "keepalive": _int(n, "keep-alive-timer"),
            "prefix_in": one(n, "prefix-list-in"),
            "prefix_out": one(n, "prefix-list-out"),
            "max_prefix": int(limit) if limit else None,
            "local_pref": int(lp) if lp else None,
            "prepend": [
                int(x) for x in (rule_set(one(n, "route-map-out"), "set-aspath") or "").split()
            ],
        }
    _static(out, config)
    return out


def _addresses(config: dict[str, Any]) -> dict[str, set[str]]:
    """Firewall address and address-group names -> the prefixes they stand for."""
    out = {
        name: {cidr(a["subnet"])} if len(a.get("subnet", [])) == 2 else {f"({name})"}
        for name, a in config.get("firewall address", {}).items()
    }
    for name, group in config.get("firewall addrgrp", {}).items():
        out[name] = set().union(*(out.get(m, {f"(unknown {m})"}) for m in group.get("member", [])))
    return out


def fortios_policies(config: dict[str, Any]) -> list[Policy]:
    """Firewall policies between a tunnel (phase1-interface) and anything else."""
    tunnels = set(config.get("vpn ipsec phase1-interface", {}))
    book = _addresses(config)
    out = []
    for number, p in config.get("firewall policy", {}).items():
        src, dst = set(p.get("srcintf", [])), set(p.get("dstintf", []))
        if src and src <= tunnels and not dst & tunnels:
            direction, side = "in", src
        elif dst and dst <= tunnels and not src & tunnels:
            direction, side = "out", dst
        else:
            continue
        action = one(p, "action") or "deny"  # FortiOS's default action: deny
        out.append(
            Policy(
                name=one(p, "name") or number,
                direction=direction,
                sources=frozenset().union(*(book.get(n, {n}) for n in p.get("srcaddr", []))),
                destinations=frozenset().union(*(book.get(n, {n}) for n in p.get("dstaddr", []))),
                action="disabled" if one(p, "status") == "disable" else action,
                tunnels=frozenset(side),
            )
        )
    return out
