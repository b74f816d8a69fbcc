"""Read back VyOS 1.4 configuration commands: each site-to-site peer and its VTI (pure)."""

from __future__ import annotations

from typing import Any

from network.render import crypto as cr
from network.render.readback.facts import (
    CHARON_RETRANSMIT,
    ConfigFacts,
    RejectedLineError,
    Suite,
    TunnelFacts,
    apply_bgp,
    empty_routing,
    ikev2_dpd_gives_up,
)
from network.render.readback.words import Lines, every, get, get_int, set_lines, under

# Commands VyOS 1.4 refuses at commit, with what it takes instead ("*": any one word).
VYOS_14_REJECTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("vpn", "ipsec", "ike-group", "*", "mobike"),
        "not VyOS 1.4 syntax: MOBIKE is turned off with the valueless 'disable-mobike'",
    ),
)


def rejects(lines: Lines) -> None:
    """Raise RejectedLineError on the first line VyOS 1.4 would refuse."""
    for words in lines:
        for path, why in VYOS_14_REJECTS:
            if len(words) >= len(path) and all(p in ("*", w) for p, w in zip(path, words)):
                raise RejectedLineError("set " + " ".join(words), why)


def _suites(group: Lines, pfs: int | None, esp: bool) -> set[Suite]:
    enc_of, hash_of = cr.reverse(cr.VYOS_ENC), cr.reverse(cr.VYOS_HASH)
    dh_of = {v: k for k, v in cr.VYOS_DH.items()}
    out: set[Suite] = set()
    for rest in under(group, "proposal").values():
        enc, hsh = get(rest, "encryption") or "", get(rest, "hash")
        dh = pfs if esp else dh_of.get(get(rest, "dh-group") or "")
        if esp and not hsh:
            out.add((enc_of.get(enc, enc), None, dh))
        else:
            out.add((enc_of.get(enc, enc), hash_of.get(hsh or "", hsh or ""), dh))
    return out


def _pfs(esp_group: Lines) -> int | None:
    name = get(esp_group, "pfs") or ""
    if not name.startswith("dh-group"):
        return None
    return {v: k for k, v in cr.VYOS_DH.items()}.get(name.removeprefix("dh-group"))


def ikev2_gives_up(interval: int | None) -> float | None:
    """VyOS 1.4, IKEv2: DPD gives up when charon's default retransmissions run out."""
    return ikev2_dpd_gives_up(interval, "2", {k: float(v) for k, v in CHARON_RETRANSMIT.items()})


def vyos_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from VyOS configuration commands: each site-to-site peer and its VTI."""
    lines = set_lines(files["router.cfg"])
    rejects(lines)
    ike_groups = under(lines, "vpn", "ipsec", "ike-group")
    esp_groups = under(lines, "vpn", "ipsec", "esp-group")
    psks = under(lines, "vpn", "ipsec", "authentication", "psk")
    vtis = under(lines, "interfaces", "vti")
    routing = vyos_routing(lines)
    facts = []
    for peer in under(lines, "vpn", "ipsec", "site-to-site", "peer").values():
        remote = get(peer, "remote-address") or ""
        ike_group = ike_groups.get(get(peer, "ike-group") or "", [])
        esp_group = esp_groups.get(get(peer, "vti", "esp-group") or "", [])
        iface = get(peer, "vti", "bind") or ""
        vti = vtis.get(iface, [])
        version = (get(ike_group, "key-exchange") or "").removeprefix("ikev")
        dpd_interval = get_int(ike_group, "dead-peer-detection", "interval")
        dpd_timeout = get_int(ike_group, "dead-peer-detection", "timeout")
        if version == "2" and dpd_timeout is not None:
            raise RejectedLineError(
                f"set vpn ipsec ike-group {get(peer, 'ike-group')} dead-peer-detection timeout "
                f"{dpd_timeout}",
                "IKEv1-only: VyOS ignores it on IKEv2, where charon's "
                "retransmissions decide when DPD gives up",
            )
        f = TunnelFacts(
            remote=remote,
            local=get(peer, "local-address"),
            psk=next((get(r, "secret") for r in psks.values() if remote in every(r, "id")), None),
            ike_version=int(version) if version.isdigit() else None,
            ike=_suites(ike_group, None, esp=False),
            esp=_suites(esp_group, _pfs(esp_group), esp=True),
            mobike=["disable-mobike"] not in ike_group,  # VyOS's default: MOBIKE on
            ike_lifetime=get_int(ike_group, "lifetime"),
            esp_lifetime=get_int(esp_group, "lifetime"),
            mtu=get_int(vti, "mtu"),
            mss=get_int(vti, "ip", "adjust-mss"),
            dpd_interval=dpd_interval,
            # `timeout` is IKEv1-only: on IKEv2, charon's default retransmissions decide.
            dpd_timeout=dpd_timeout if version == "1" else None,
            dpd_gives_up=ikev2_gives_up(dpd_interval) if version == "2" else None,
            dpd_untunable=version == "2",
            address=get(vti, "address"),
        )
        apply_bgp(f, routing, iface)
        facts.append(f)
    return ConfigFacts(facts, discard=routing["discard"])


def _prefix_lists(lines: Lines) -> dict[str, set[str]]:
    out = {}
    for name, rest in under(lines, "policy", "prefix-list").items():
        entries = set()
        for rule in under(rest, "rule").values():
            extra = [" ".join(w) for w in rule if w[0] in ("le", "ge")]
            if get(rule, "action") == "permit":
                entries.add(" ".join([get(rule, "prefix") or "", *extra]))
            else:
                entries.add(f"{get(rule, 'action')} {get(rule, 'prefix')}")
        out[name] = entries
    return out


def _static(out: dict[str, Any], lines: Lines) -> None:
    for prefix, rest in under(lines, "protocols", "static", "route").items():
        if any(w[:1] == ["blackhole"] for w in rest):
            out["discard"][prefix] = int(get(rest, "blackhole", "distance") or 1)
        for hop, hop_rest in under(rest, "next-hop").items():
            distance = int(get(hop_rest, "distance") or 1)
            out["static"].append((prefix, hop, get(hop_rest, "interface") or "", distance, 0))


def vyos_routing(lines: Lines) -> dict[str, Any]:
    """VyOS BGP, prefix lists, route maps and static routes, in linux.frr()'s shape."""
    out = empty_routing()
    out["asn"] = get_int(lines, "protocols", "bgp", "system-as")
    out["lists"] = _prefix_lists(lines)
    maps = {name: under(rest, "rule") for name, rest in under(lines, "policy", "route-map").items()}
    af = ("address-family", "ipv4-unicast")
    out["multipath"] = get_int(lines, "protocols", "bgp", *af, "maximum-paths", "ebgp")

    def rule_set(name: str | None, *key: str) -> str | None:
        return next(
            (v for r in maps.get(name or "", {}).values() for v in every(r, "set", *key)), None
        )

    for peer, rest in under(lines, "protocols", "bgp", "neighbor").items():
        lp = rule_set(get(rest, *af, "route-map", "import"), "local-preference")
        prepend = rule_set(get(rest, *af, "route-map", "export"), "as-path", "prepend")
        out["neighbors"][peer] = {
            "remote_as": get_int(rest, "remote-as"),
            "hold": get_int(rest, "timers", "holdtime"),
            "keepalive": get_int(rest, "timers", "keepalive"),
            "prefix_in": get(rest, *af, "prefix-list", "import"),
            "prefix_out": get(rest, *af, "prefix-list", "export"),
            "max_prefix": get_int(rest, *af, "maximum-prefix"),
            "local_pref": int(lp) if lp else None,
            "prepend": [int(x) for x in (prepend or "").split()],
        }
    _static(out, lines)
    return out
