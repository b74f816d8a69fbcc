"""Cross-check a rendered router config against the stack's tunnel options (pure).

The config text is read back (not the context it came from) into per-tunnel
facts: the IKE and ESP suites it offers, lifetimes, DPD, the key, the tunnel
interface's address and the BGP session or static routes. Each fact is then
compared with what AWS was given for that tunnel:

- every IKE and ESP suite is one AWS allows, and one the tunnel's options allow;
- lifetimes, DPD timeout, ASNs and BGP timers agree;
- the pre-shared key is the tunnel's key;
- the interface address is the customer side (.2) of the tunnel's /30, and the
  BGP neighbour the AWS side (.1);
- the inbound prefix filter is exactly the planned AWS prefixes and the
  outbound one exactly the datacenter's prefixes.

`render_stack` refuses to write a router whose config fails this check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netaddr import IPAddress, IPNetwork

from network import aws_rules as aws
from network.contract import Connection, Router, Tunnel
from network.errors import Problem, show
from network.render import crypto as cr
from network.render.names import INTERFACE_FORMATS

Suite = tuple[str, str | None, int | None]  # (encryption, integrity or PRF, DH group), AWS names


@dataclass
class TunnelFacts:
    """What a config says about one tunnel, in AWS's vocabulary."""

    remote: str
    local: str | None = None
    psk: str | None = None
    ike_version: int | None = None
    ike: set[Suite] = field(default_factory=set)
    esp: set[Suite] = field(default_factory=set)
    ike_lifetime: int | None = None
    esp_lifetime: int | None = None
    dpd_interval: int | None = None
    dpd_timeout: int | None = None  # interval x retries, where the platform has retries
    address: str | None = None  # "a.b.c.d/len" on the tunnel interface
    neighbor: str | None = None
    remote_as: int | None = None
    local_as: int | None = None
    keepalive: int | None = None
    hold: int | None = None
    prefix_in: set[str] | None = None
    prefix_out: set[str] | None = None
    max_prefix: int | None = None
    static: set[tuple[str, int]] = field(default_factory=set)  # (prefix, distance)


def check_router(router: Router, files: dict[str, str]) -> list[Problem]:
    """Every disagreement between a router's rendered files and its tunnels."""
    extract = EXTRACTORS.get(router.platform)
    if extract is None:
        return [Problem(f"routers.{router.key}.platform", show(router.platform),
                        "no cross-check for this platform")]
    where = f"routers.{router.key}"
    try:
        facts = {f.remote: f for f in extract(files)}
    except (KeyError, ValueError, IndexError) as e:
        return [Problem(where, show(str(e)), "the rendered config could not be read back")]
    problems: list[Problem] = []
    expected = {t.aws_outside_ip: (c, t) for c in router.connections for t in c.tunnels}
    for remote in sorted(set(facts) - set(expected)):
        problems.append(Problem(where, remote, "the config has a tunnel AWS does not know"))
    for remote, (c, t) in sorted(expected.items()):
        f = facts.get(remote)
        path = f"{where}.{c.name}.tunnel{t.number}"
        if f is None:
            problems.append(Problem(path, remote, "the config has no tunnel to this AWS address"))
            continue
        problems += [Problem(path, show(v), rule) for v, rule in _compare(router, c, t, f)]
    return problems


def _compare(r: Router, c: Connection, t: Tunnel, f: TunnelFacts) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = []
    spec = c.crypto
    p1, p2 = spec["phase1"], spec["phase2"]
    net = IPNetwork(t.inside_cidr)
    if f.local is not None and f.local != r.public_ip:
        out.append((f.local, f"local address is not the router's public address {r.public_ip}"))
    if f.psk != t.psk.reveal():
        out.append(("<key>", "the pre-shared key is not the tunnel's key"))
    if f.ike_version is None or f"ikev{f.ike_version}" not in spec["ikeVersions"]:
        out.append((f.ike_version, f"IKE version not allowed on the tunnel: {spec['ikeVersions']}"))
    out += _suites("IKE", f.ike, p1, aws.PHASE1_ENCRYPTION, aws.PHASE1_INTEGRITY,
                   aws.PHASE1_DH_GROUPS)
    out += _suites("ESP", f.esp, p2, aws.PHASE2_ENCRYPTION, aws.PHASE2_INTEGRITY,
                   aws.PHASE2_DH_GROUPS)
    if f.ike_lifetime != p1["lifetimeSeconds"]:
        out.append((f.ike_lifetime, f"IKE lifetime is not phase 1's {p1['lifetimeSeconds']} s"))
    if f.esp_lifetime != p2["lifetimeSeconds"]:
        out.append((f.esp_lifetime, f"ESP lifetime is not phase 2's {p2['lifetimeSeconds']} s"))
    timeout = spec["dpd"]["timeoutSeconds"]
    if f.dpd_interval is None or not 0 < f.dpd_interval <= timeout // 3:
        out.append((f.dpd_interval, f"DPD interval must be set, at most a third of {timeout} s"))
    if f.dpd_timeout is not None and f.dpd_timeout != timeout:
        out.append((f.dpd_timeout, f"DPD gives up after {f.dpd_timeout} s, AWS after {timeout} s"))
    customer = f"{net[2]}/{net.prefixlen}"
    if f.address != customer:
        out.append((f.address, f"the tunnel interface must hold the customer side {customer} "
                               f"of {net}"))
    if c.routing == "bgp":
        if f.neighbor != str(net[1]):
            out.append((f.neighbor, f"the BGP neighbour must be the AWS side {net[1]}"))
        if f.remote_as != t.aws_asn:
            out.append((f.remote_as, f"the neighbour's ASN is AWS's {t.aws_asn}"))
        if f.local_as != t.customer_asn or f.local_as != r.asn:
            out.append((f.local_as, f"the local ASN is the customer's {t.customer_asn}"))
        if (f.keepalive, f.hold) != (t.keepalive, t.hold_time):
            out.append((f"{f.keepalive}/{f.hold}",
                        f"BGP timers are AWS's keepalive {t.keepalive} s, hold {t.hold_time} s"))
        if f.prefix_in != set(c.accept):
            out.append((sorted(f.prefix_in or ()), "inbound filter must be exactly "
                                                   + ", ".join(c.accept)))
        if f.prefix_out != set(c.announce):
            out.append((sorted(f.prefix_out or ()), "outbound filter must be exactly "
                                                    + ", ".join(c.announce)))
        if f.max_prefix != c.max_prefixes_in:
            out.append((f.max_prefix, f"maximum-prefix guard is {c.max_prefixes_in}"))
    else:
        if f.neighbor is not None:
            out.append((f.neighbor, "a static connection has no BGP neighbour"))
        if {p for p, _ in f.static} != set(c.accept):
            out.append((sorted(f.static), "static routes must cover exactly "
                                          + ", ".join(c.accept)))
    return out


def _suites(kind: str, suites: set[Suite], phase: dict[str, Any], enc_ok: tuple[str, ...],
            integ_ok: tuple[str, ...], dh_ok: tuple[int, ...]) -> list[tuple[Any, str]]:
    if not suites:
        return [("none", f"the config offers no {kind} proposal")]
    out: list[tuple[Any, str]] = []
    for enc, integ, dh in sorted(suites, key=repr):
        label = "-".join(str(x) for x in (enc, integ, dh) if x is not None)
        if enc not in enc_ok or enc not in phase["encryption"]:
            out.append((label, f"{kind} encryption {enc} is not allowed on this tunnel"))
        if integ is None:
            if kind == "IKE" or not cr.is_aead(enc):
                out.append((label, f"{kind} proposal without integrity/PRF"))
        elif integ not in integ_ok or integ not in phase["integrity"]:
            out.append((label, f"{kind} integrity/PRF {integ} is not allowed on this tunnel"))
        if dh is None or dh not in dh_ok or dh not in phase["dhGroups"]:
            out.append((label, f"{kind} DH group {dh} is not allowed on this tunnel "
                               "(AWS always uses PFS in phase 2)"))
    return out


# ------------------------------------------------------------------ Linux: swanctl + FRR

def _swanctl_tree(text: str) -> dict[str, Any]:
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


def _strongswan_suites(proposals: str, ike: bool) -> set[Suite]:
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
            for i in integ or [None]:
                if cr.is_aead(e) and not ike:
                    i = None  # strongSwan drops integrity from AEAD ESP proposals
                for g in dh or [None]:
                    suites.add((e, i, g))
    return suites


def _seconds(value: str | None) -> int | None:
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)([smhd]?)", value)
    if not m:
        raise ValueError(f"not a strongSwan time: {value}")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _frr(text: str) -> dict[str, Any]:
    """The parts of an frr.conf the check needs."""
    out: dict[str, Any] = {"addresses": {}, "asn": None, "neighbors": {}, "lists": {},
                           "static": []}
    iface = None
    for raw in text.splitlines():
        line = raw.strip()
        words = line.split()
        if not words or line.startswith("!"):
            continue
        if words[0] == "interface":
            iface = words[1]
        elif words[:2] == ["ip", "address"] and iface:
            out["addresses"][iface] = words[2]
        elif words[:2] == ["router", "bgp"]:
            out["asn"] = int(words[2])
        elif words[:2] == ["ip", "prefix-list"]:
            # "ip prefix-list NAME seq N permit PREFIX [le|ge N]": anything but a bare
            # permitted prefix is kept verbatim, so it cannot match a planned prefix.
            entry = " ".join(words[6:]) if words[5] == "permit" else " ".join(words[5:])
            out["lists"].setdefault(words[2], set()).add(entry)
        elif words[:2] == ["ip", "route"]:
            out["static"].append((words[2], words[3], words[4],
                                  int(words[5]) if len(words) > 5 else 1))
        elif words[0] == "neighbor":
            n = out["neighbors"].setdefault(words[1], {})
            if words[2] == "remote-as":
                n["remote_as"] = int(words[3])
            elif words[2] == "timers":
                n["keepalive"], n["hold"] = int(words[3]), int(words[4])
            elif words[2] == "prefix-list":
                n[f"prefix_{words[4]}"] = words[3]
            elif words[2] == "maximum-prefix":
                n["max_prefix"] = int(words[3])
    return out


def linux_facts(files: dict[str, str]) -> list[TunnelFacts]:
    """Facts from swanctl.conf, its conf.d/ files and frr.conf."""
    includes = re.findall(r"^include (\S+)$", files["swanctl.conf"], re.M)
    frr = _frr(files["frr.conf"])
    updown = dict(re.findall(r"^\s*(\S+)\) dev=(\S+) ;;$", files["crossnet-updown.sh"], re.M))
    facts = []
    for name in includes:
        tree = _swanctl_tree(files[name])
        for conn_name, conn in tree["connections"].items():
            (child_name, child), = conn["children"].items()
            remote = conn["remote_addrs"]
            secret: dict[str, str] = next(
                (s for s in tree.get("secrets", {}).values() if s.get("id") == remote), {})
            iface = INTERFACE_FORMATS["linux"].format(n=int(child["if_id_out"]))
            if child["if_id_in"] != child["if_id_out"] or updown.get(child_name) != iface:
                raise ValueError(f"{conn_name}: if_id and updown do not agree on {iface}")
            f = TunnelFacts(
                remote=remote, local=conn.get("local_addrs"), psk=secret.get("secret"),
                ike_version=int(conn.get("version", 0)) or None,
                ike=_strongswan_suites(conn["proposals"], ike=True),
                esp=_strongswan_suites(child["esp_proposals"], ike=False),
                ike_lifetime=(_seconds(conn.get("rekey_time")) or 0)
                + (_seconds(conn.get("over_time")) or 0),
                esp_lifetime=_seconds(child.get("life_time")),
                dpd_interval=_seconds(conn.get("dpd_delay")),
                dpd_timeout=_seconds(conn.get("dpd_timeout")),
                address=frr["addresses"].get(iface),
            )
            _bgp_facts(f, frr, iface)
            facts.append(f)
    return facts


def _bgp_facts(f: TunnelFacts, frr: dict[str, Any], iface: str) -> None:
    """The BGP session of a tunnel is the neighbour inside its interface's subnet."""
    f.static = {(p, d) for p, _, dev, d in frr["static"] if dev == iface}
    if f.address is None:
        return
    subnet = IPNetwork(f.address)
    for peer, n in frr["neighbors"].items():
        if IPAddress(peer) in subnet:
            f.neighbor = peer
            f.local_as, f.remote_as = frr["asn"], n.get("remote_as")
            f.keepalive, f.hold = n.get("keepalive"), n.get("hold")
            f.prefix_in = frr["lists"].get(n.get("prefix_in"), set())
            f.prefix_out = frr["lists"].get(n.get("prefix_out"), set())
            f.max_prefix = n.get("max_prefix")


# ------------------------------------------------------------------ registry

EXTRACTORS: dict[str, Callable[[dict[str, str]], list[TunnelFacts]]] = {
    "linux": linux_facts,
}
