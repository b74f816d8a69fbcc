"""Read back a Linux router's files: swanctl.conf, its conf.d/ tunnels, frr.conf and the
interface script (pure)."""

from __future__ import annotations

import re
from typing import Any

from network.render import crypto as cr
from network.render.names import INTERFACE_FORMATS
from network.render.readback.facts import (
    CHARON_RETRANSMIT,
    ConfigFacts,
    Suite,
    TunnelFacts,
    apply_bgp,
    empty_routing,
    ikev2_dpd_gives_up,
    neighbor_line,
    prefix_list_entry,
)


def swanctl_tree(text: str) -> dict[str, Any]:
    """strongSwan's settings syntax: `name { ... }` sections and `key = value` pairs."""
    root: dict[str, Any] = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("include "):
            continue
        if line.endswith("{"):
            section: dict[str, Any] = {}
            stack[-1][line[:-1].strip()] = section
            stack.append(section)
        elif line == "}":
            stack.pop()
        else:
            key, _, value = line.partition("=")
            stack[-1][key.strip()] = value.strip().strip('"')
    if len(stack) != 1:
        raise ValueError("unbalanced braces in a swanctl file")
    return root


def strongswan_suites(proposals: str, ike: bool) -> set[Suite]:
    """A swanctl proposals string as AWS suites (every combination it allows)."""
    enc_of, integ_of = cr.reverse(cr.STRONGSWAN_ENC), cr.reverse(cr.STRONGSWAN_INTEG)
    prf_of, dh_of = cr.reverse(cr.STRONGSWAN_PRF), cr.reverse(cr.STRONGSWAN_DH)
    suites: set[Suite] = set()
    for proposal in proposals.split(","):
        enc, integ, dh = [], [], []
        for token in proposal.strip().split("-"):
            if token in enc_of:
                enc.append(enc_of[token])
            elif token in integ_of or token in prf_of:
                integ.append(integ_of.get(token) or prf_of[token])
            elif token in dh_of:
                dh.append(dh_of[token])
            else:
                enc.append(token)  # unknown: reported as a disallowed cipher
        for e in enc:
            # strongSwan drops integrity from AEAD ESP proposals
            for i in [None] if cr.is_aead(e) and not ike else integ or [None]:
                suites |= {(e, i, g) for g in dh or [None]}
    return suites


def seconds(value: str | None) -> int | None:
    """A strongSwan time (`30s`, `4h`, `3600`) in seconds."""
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)([smhd]?)", value)
    if not m:
        raise ValueError(f"not a strongSwan time: {value}")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _frr_route_map(rmap: dict[str, Any], words: list[str]) -> bool:
    if words[:2] == ["set", "local-preference"]:
        rmap["local_pref"] = int(words[2])
    elif words[:3] == ["set", "as-path", "prepend"]:
        rmap["prepend"] = [int(x) for x in words[3:]]
    else:
        return False
    return True


def _frr_route(out: dict[str, Any], words: list[str]) -> None:
    if words[3] in ("blackhole", "Null0", "reject"):
        out["discard"][words[2]] = int(words[4]) if len(words) > 4 else 1
    else:
        distance = int(words[5]) if len(words) > 5 else 1
        out["static"].append((words[2], words[3], words[4], distance, 0))


def _frr_line(out: dict[str, Any], words: list[str], iface: str | None) -> None:
    if words[0] == "maximum-paths":
        out["multipath"] = int(words[-1])
    elif words[:2] == ["ip", "address"] and iface:
        out["addresses"][iface] = words[2]
    elif words[:2] == ["router", "bgp"]:
        out["asn"] = int(words[2])
    elif words[:2] == ["ip", "prefix-list"]:
        out["lists"].setdefault(words[2], set()).add(prefix_list_entry(words))
    elif words[:2] == ["ip", "route"]:
        _frr_route(out, words)
    else:
        neighbor_line(out, words)


def frr(text: str) -> dict[str, Any]:
    """The parts of an frr.conf the check needs."""
    out = empty_routing()
    iface = None
    rmap: dict[str, Any] = {}
    for raw in text.splitlines():
        words = raw.split()
        if not words or words[0].startswith("!"):
            continue
        if words[0] == "route-map":
            rmap = out["route_maps"].setdefault(words[1], {})
        elif raw[0] != " ":
            rmap = {}
        if words[0] == "interface":
            iface = words[1]
        elif not _frr_route_map(rmap, words):
            _frr_line(out, words, iface)
    return out


def tunnel_script(text: str) -> dict[str, Any]:
    """crossnet-tunnels.sh: the interfaces it sets up (name -> MTU), what tunnel() sets."""
    body = re.search(r"^tunnel\(\) \{.*?^\}", text, re.M | re.S)
    rp = re.search(r"net\.ipv4\.conf\.\$1\.rp_filter=(\d)", body.group(0)) if body else None
    return {
        "tunnels": {
            m[0]: int(m[1]) for m in re.findall(r"^tunnel (\S+) \d+ (\d+) \S+$", text, re.M)
        },
        "rp_filter": int(rp.group(1)) if rp else None,
        # nft: (oif|iif, interface, MSS) of each clamp rule
        "mss": [
            (m[0], m[1], int(m[2]))
            for m in re.findall(r'^\s*(oif|iif)name "(\S+)" .*maxseg size set (\d+)$', text, re.M)
        ],
    }


def charon_retransmit(text: str) -> dict[str, float]:
    """charon's retransmission settings from a strongswan.d file (defaults where absent)."""
    found = dict(re.findall(r"^\s*(retransmit_(?:timeout|base|tries))\s*=\s*(\S+)\s*$", text, re.M))
    return {k: float(found.get(k, v)) for k, v in CHARON_RETRANSMIT.items()}


def _tunnel(
    conn: dict[str, Any], tree: dict[str, Any], retransmit: dict[str, float]
) -> tuple[TunnelFacts, str, str]:
    """One swanctl connection: its facts, its child's name and its interface."""
    ((child_name, child),) = conn["children"].items()
    remote = conn["remote_addrs"]
    secret: dict[str, str] = next(
        (s for s in tree.get("secrets", {}).values() if s.get("id") == remote), {}
    )
    iface = INTERFACE_FORMATS["linux"].format(n=int(child["if_id_out"]))
    if child["if_id_in"] != child["if_id_out"]:
        raise ValueError(f"{child_name}: if_id and updown do not agree on {iface}")
    f = TunnelFacts(
        remote=remote,
        local=conn.get("local_addrs"),
        psk=secret.get("secret"),
        ike_version=int(conn.get("version", 0)) or None,
        mobike=conn.get("mobike", "yes") != "no",  # strongSwan's default: yes
        ike=strongswan_suites(conn["proposals"], ike=True),
        esp=strongswan_suites(child["esp_proposals"], ike=False),
        ike_lifetime=(seconds(conn.get("rekey_time")) or 0) + (seconds(conn.get("over_time")) or 0),
        esp_lifetime=seconds(child.get("life_time")),
        replay_window=int(child.get("replay_window", 32)),  # strongSwan's default: 32
        df_bit="copy" if child.get("copy_df", "yes") != "no" else "clear",
        dpd_interval=seconds(conn.get("dpd_delay")),
        dpd_timeout=seconds(conn.get("dpd_timeout")),
        dpd_gives_up=ikev2_dpd_gives_up(
            seconds(conn.get("dpd_delay")), conn.get("version"), retransmit
        ),
    )
    return f, child_name, iface


def _interface(f: TunnelFacts, script: dict[str, Any], iface: str) -> None:
    """What crossnet-tunnels.sh sets on the tunnel's interface."""
    if iface not in script["tunnels"]:
        return
    f.rp_filter = script["rp_filter"]
    f.mtu = script["tunnels"][iface]
    clamps = {d: m for d, i, m in script["mss"] if i == iface}
    if set(clamps) == {"oif", "iif"} and len(set(clamps.values())) == 1:
        f.mss = clamps["oif"]


def linux_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from swanctl.conf, its conf.d/ files and frr.conf."""
    includes = re.findall(r"^include (\S+)$", files["swanctl.conf"], re.M)
    routing = frr(files["frr.conf"])
    updown = dict(re.findall(r"^\s*(\S+)\) dev=(\S+) ;;$", files["crossnet-updown.sh"], re.M))
    retransmit = charon_retransmit(files.get("strongswan.d/crossnet.conf", ""))
    script = tunnel_script(files.get("crossnet-tunnels.sh", ""))
    facts = []
    for name in includes:
        tree = swanctl_tree(files[name])
        for conn_name, conn in tree["connections"].items():
            f, child_name, iface = _tunnel(conn, tree, retransmit)
            if updown.get(child_name) != iface:
                raise ValueError(f"{conn_name}: if_id and updown do not agree on {iface}")
            f.address = routing["addresses"].get(iface)
            _interface(f, script, iface)
            apply_bgp(f, routing, iface)
            facts.append(f)
    return ConfigFacts(facts, discard=routing["discard"])
