"""Cross-check a rendered router config against the stack's tunnel options (pure).

The config text is read back (not the context it came from) into per-tunnel
facts, the way the platform would read it (its defaults included): the IKE and
ESP suites it offers, lifetimes, DPD, the key, the tunnel interface's address,
MTU and MSS clamp, DF-bit handling, and the BGP session or static routes. Each
fact is then compared with what AWS was given for that tunnel:

- every IKE and ESP suite is one AWS allows, and one the tunnel's options allow;
- lifetimes, ASNs and BGP timers agree; DPD gives up within AWS's DPD timeout;
- the pre-shared key is the tunnel's key;
- the interface address is the customer side (.2) of the tunnel's /30, and the
  BGP neighbour the AWS side (.1); MTU and MSS are the connection's;
- the inbound prefix filter is exactly the planned AWS prefixes and the
  outbound one exactly the datacenter's prefixes; only a standby tunnel has a
  lower local preference and a prepended AS path; ECMP has BGP multipath;
- the two tunnels' static routes rank primary before standby; every announced
  prefix has a discard route; the outer DF bit is cleared where the platform
  can; maximum-prefix restarts the session where it can.

`render_stack` refuses to write a router whose config fails this check; what a
platform cannot express at all (VyOS 1.4's IKEv2 DPD timing) is a note instead.
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
from network.render.context import (
    DISCARD_DISTANCE,
    IOSXE_DPD_RETRIES,
    MAX_PREFIX_RESTART_MINUTES,
    dpd_dead_after,
)
from network.render.names import INTERFACE_FORMATS

Suite = tuple[str, str | None, int | None]  # (encryption, integrity or PRF, DH group), AWS names


class RejectedLineError(ValueError):
    """A config line the platform itself would refuse."""

    def __init__(self, line: str, why: str):
        super().__init__(f"{line}: {why}")
        self.line, self.why = line, why


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
    replay_window: int | None = None  # None: the platform has no knob for its size
    mobike: bool | None = None  # None: the platform has no MOBIKE
    dpd_interval: int | None = None
    dpd_timeout: int | None = None  # interval x retries, where the platform has retries
    # strongSwan IKEv2: when DPD gives up, from the interval and charon's retransmissions
    dpd_gives_up: float | None = None
    dpd_untunable: bool = False  # the give-up time is the platform's, no knob changes it
    df_bit: str | None = None  # the outer header's DF bit: clear, copy or set (None: no knob)
    fragmentation: str | None = None  # before or after encryption (None: no knob)
    address: str | None = None  # "a.b.c.d/len" on the tunnel interface
    mtu: int | None = None  # the tunnel interface's
    mss: int | None = None  # the TCP MSS clamp on it (both directions, where that is separate)
    neighbor: str | None = None
    remote_as: int | None = None
    local_as: int | None = None
    keepalive: int | None = None
    hold: int | None = None
    prefix_in: set[str] | None = None
    prefix_out: set[str] | None = None
    max_prefix: int | None = None
    max_prefix_restart: int | None = None  # minutes until a torn-down session comes back
    local_pref: int | None = None  # set on the routes this neighbour sends
    prepend: tuple[int, ...] = ()  # prepended to what it is sent
    multipath: int | None = None  # BGP paths the router may use at once (None: one)
    static: set[tuple[str, int, int]] = field(default_factory=set)  # (prefix, distance, prio)
    rp_filter: int | None = None  # Linux: the tunnel interface's reverse-path filter


# Platforms with a knob for the outer header's DF bit, and for fragmenting before
# encryption. VyOS 1.4 has neither (docs/templates.md); FortiOS only the second.
DF_KNOB = frozenset({"linux", "iosxe", "junos"})
FRAGMENTATION_KNOB = frozenset({"iosxe", "fortios"})
# Platforms that size the IPsec replay window (Junos's knob could not be confirmed).
REPLAY_KNOB = frozenset({"linux", "iosxe"})
# BGP's default local preference: the standby tunnel's routes must get less.
DEFAULT_LOCAL_PREF = 100
# Platforms that can bring a session back some minutes after maximum-prefix tore it down.
PREFIX_RESTART_KNOB = frozenset({"linux", "iosxe", "junos"})


@dataclass
class ConfigFacts:
    """A router's config, read back: its tunnels, and what is router-wide."""

    tunnels: list[TunnelFacts]
    discard: dict[str, int] = field(default_factory=dict)  # prefix -> distance/preference
    # Junos: the prefixes the forwarding table load-balances ("(anything)": an unscoped
    # term, "(any protocol) P": a term without `from protocol bgp`); None elsewhere.
    load_balanced: set[str] | None = None


@dataclass(frozen=True)
class Review:
    """The cross-check's verdict: problems block a render; notes are known limits of a
    platform that the config cannot fix, printed with the table."""

    problems: list[Problem]
    notes: list[str]


def check_router(router: Router, files: dict[str, str]) -> list[Problem]:
    """Every disagreement between a router's rendered files and its tunnels."""
    return review_router(router, files).problems


def review_router(router: Router, files: dict[str, str]) -> Review:
    """check_router's problems, and the notes on what the platform cannot do."""
    extract = EXTRACTORS.get(router.platform)
    if extract is None:
        return Review(
            [
                Problem(
                    f"routers.{router.key}.platform",
                    show(router.platform),
                    "no cross-check for this platform",
                )
            ],
            [],
        )
    where = f"routers.{router.key}"
    try:
        config = extract(files)
        facts = {f.remote: f for f in config.tunnels}
    except RejectedLineError as e:
        return Review([Problem(where, show(e.line), e.why)], [])
    except (KeyError, ValueError, IndexError) as e:
        return Review(
            [Problem(where, show(str(e)), "the rendered config could not be read back")], []
        )
    problems: list[Problem] = []
    notes: list[str] = []
    expected = {t.aws_outside_ip: (c, t) for c in router.connections for t in c.tunnels}
    by_connection: dict[str, dict[int, TunnelFacts]] = {}
    for remote in sorted(set(facts) - set(expected)):
        problems.append(Problem(where, remote, "the config has a tunnel AWS does not know"))
    for remote, (c, t) in sorted(expected.items()):
        f = facts.get(remote)
        path = f"{where}.{c.name}.tunnel{t.number}"
        if f is None:
            problems.append(Problem(path, remote, "the config has no tunnel to this AWS address"))
            continue
        problems += [Problem(path, show(v), rule) for v, rule in _compare(router, c, t, f)]
        by_connection.setdefault(c.name, {})[t.number] = f
        timeout = c.crypto["dpd"]["timeoutSeconds"]
        if f.dpd_untunable and f.dpd_gives_up is not None and f.dpd_gives_up > timeout:
            note = (
                f"{router.key} {c.name}: DPD gives up about {f.dpd_gives_up:.0f} s after "
                f"the last packet, AWS after {timeout} s ({router.platform}: IKEv2 DPD "
                "follows strongSwan's default retransmissions, which its CLI cannot tune)"
            )
            if note not in notes:
                notes.append(note)
    for c in router.connections:
        tunnels = by_connection.get(c.name, {})
        if len(tunnels) == len(c.tunnels):
            problems += _compare_connection(router, c, tunnels)
    problems += _compare_router(router, config)
    return Review(problems, notes)


def _compare_connection(r: Router, c: Connection, facts: dict[int, TunnelFacts]) -> list[Problem]:
    """What the two tunnels of a connection must say about each other."""
    out: list[Problem] = []
    where = f"routers.{r.key}.{c.name}"
    prefs = {t.number: t.preference for t in c.tunnels}
    if c.routing == "static":
        # A prefix's route over the primary tunnel must win, (distance, priority) in
        # that order; with equal preferences neither may. On FortiOS the distances must
        # be equal too: a route with a worse distance is not in its RIB, and its
        # reverse-path check drops what AWS sends over that tunnel.
        rank = {n: {p: (d, prio) for p, d, prio in f.static} for n, f in facts.items()}
        order = sorted(facts, key=lambda n: {"primary": 0, "equal": 1}.get(prefs[n], 2))
        a, b = order[0], order[-1]
        for prefix in c.accept:
            if prefix not in rank[a] or prefix not in rank[b]:
                continue  # reported per tunnel
            first, second = rank[a][prefix], rank[b][prefix]
            seen = f"{prefix}: tunnel {a} {first}, tunnel {b} {second}"
            if prefs[a] == prefs[b] and first != second:
                out.append(
                    Problem(
                        where,
                        seen,
                        "tunnels of equal preference need the same static distance and priority",
                    )
                )
            elif prefs[a] != prefs[b] and not first < second:
                out.append(
                    Problem(
                        where,
                        seen,
                        "the standby tunnel's static route must lose "
                        "to the primary's (distance, then priority)",
                    )
                )
            if r.platform == "fortios" and first[0] != second[0]:
                out.append(
                    Problem(
                        where,
                        seen,
                        "FortiOS: both tunnels' routes need the same "
                        "distance (the standby one a worse priority), "
                        "or the reverse-path check drops traffic AWS "
                        "sends over the standby tunnel",
                    )
                )
    return out


def _compare_router(r: Router, config: ConfigFacts) -> list[Problem]:
    """What the config must hold once per router."""
    out = []
    lb = config.load_balanced
    if lb is not None and "(anything)" in lb:
        out.append(
            Problem(
                f"routers.{r.key}.forwarding-table",
                "load-balance without from",
                "a load-balance policy term needs 'from protocol bgp' and the AWS "
                "prefix lists, or it changes hashing for every route on the box",
            )
        )
    if lb is not None and any(x.startswith("(any protocol)") for x in lb):
        out.append(
            Problem(
                f"routers.{r.key}.forwarding-table",
                "load-balance from any protocol",
                "a load-balance policy term needs 'from protocol bgp', or it also "
                "changes forwarding of non-BGP routes to those prefixes",
            )
        )
    for c in r.connections:
        if c.routing != "bgp":
            continue
        if lb is not None and c.redundancy == "ecmp" and not set(c.accept) <= lb:
            out.append(
                Problem(
                    f"routers.{r.key}.{c.name}.forwarding-table",
                    ", ".join(sorted(set(c.accept) - lb)),
                    "ECMP: the forwarding table must load-balance these BGP routes "
                    "(a forwarding-table export with load-balance, from protocol bgp "
                    "and the connection's inbound prefix list)",
                )
            )
        for prefix in c.announce:
            have = config.discard.get(prefix)
            if have != DISCARD_DISTANCE:
                out.append(
                    Problem(
                        f"routers.{r.key}.{c.name}.announce",
                        prefix,
                        f"an announced prefix needs a discard route with distance "
                        f"{DISCARD_DISTANCE} (found: {have}), or traffic AWS sends "
                        "to unused datacenter space follows the default route",
                    )
                )
    return out


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
    if f.mobike and f.ike_version == 2:
        out.append(("MOBIKE on", "MOBIKE must be off: AWS's endpoints never move"))
    out += _suites(
        "IKE", f.ike, p1, aws.PHASE1_ENCRYPTION, aws.PHASE1_INTEGRITY, aws.PHASE1_DH_GROUPS
    )
    out += _suites(
        "ESP", f.esp, p2, aws.PHASE2_ENCRYPTION, aws.PHASE2_INTEGRITY, aws.PHASE2_DH_GROUPS
    )
    if f.ike_lifetime != p1["lifetimeSeconds"]:
        out.append((f.ike_lifetime, f"IKE lifetime is not phase 1's {p1['lifetimeSeconds']} s"))
    if r.platform in REPLAY_KNOB:
        window = spec["replayWindowSize"]
        want = cr.iosxe_replay_window(window) if r.platform == "iosxe" else window
        if f.replay_window != want:
            out.append(
                (
                    f.replay_window,
                    f"the replay window is AWS's {window} packets"
                    + (f" (IOS-XE: {want}, its largest within it)" if want != window else ""),
                )
            )
    if f.esp_lifetime != p2["lifetimeSeconds"]:
        out.append((f.esp_lifetime, f"ESP lifetime is not phase 2's {p2['lifetimeSeconds']} s"))
    timeout = spec["dpd"]["timeoutSeconds"]
    if f.dpd_interval is None or not 0 < f.dpd_interval <= timeout // 3:
        out.append((f.dpd_interval, f"DPD interval must be set, at most a third of {timeout} s"))
    # Counted retries: give up no later than AWS, and less than one probe earlier.
    if f.dpd_timeout is not None and not (
        timeout - (f.dpd_interval or 0) < f.dpd_timeout <= timeout
    ):
        out.append(
            (
                f.dpd_timeout,
                f"DPD gives up after {f.dpd_timeout} s, AWS after {timeout} s: "
                "it must give up within AWS's DPD timeout, less than one "
                "probe interval before it",
            )
        )
    if f.dpd_gives_up is not None and f.dpd_gives_up > timeout and not f.dpd_untunable:
        out.append(
            (
                f"{f.dpd_gives_up:g} s",
                f"DPD must give up within AWS's DPD timeout of "
                f"{timeout} s (charon's retransmit_* settings)",
            )
        )
    if r.platform in DF_KNOB and f.df_bit != "clear":
        out.append((f.df_bit, "the outer DF bit must be cleared, as AWS asks"))
    if r.platform in FRAGMENTATION_KNOB and f.fragmentation != "before":
        out.append((f.fragmentation, "packets must be fragmented before encryption, as AWS asks"))
    if r.platform == "linux" and f.rp_filter != 2:
        out.append(
            (
                f.rp_filter,
                "the tunnel interface needs loose reverse-path filtering "
                "(rp_filter=2), or packets AWS sends over the other tunnel "
                "are dropped",
            )
        )
    if f.mtu != c.tunnel_mtu:
        out.append((f.mtu, f"the tunnel interface's MTU is the connection's {c.tunnel_mtu}"))
    # Junos clamps all IPsec traffic at one MSS: the smallest of the router's connections.
    mss = min(x.tcp_mss for x in r.connections) if r.platform == "junos" else c.tcp_mss
    if f.mss != mss:
        out.append((f.mss, f"TCP MSS must be clamped at {mss} on the tunnel, both ways"))
    customer = f"{net[2]}/{net.prefixlen}"
    if f.address != customer:
        out.append(
            (f.address, f"the tunnel interface must hold the customer side {customer} of {net}")
        )
    if c.routing == "bgp":
        if f.neighbor != str(net[1]):
            out.append((f.neighbor, f"the BGP neighbour must be the AWS side {net[1]}"))
        if f.remote_as != t.aws_asn:
            out.append((f.remote_as, f"the neighbour's ASN is AWS's {t.aws_asn}"))
        if f.local_as != t.customer_asn or f.local_as != r.asn:
            out.append((f.local_as, f"the local ASN is the customer's {t.customer_asn}"))
        if (f.keepalive, f.hold) != (t.keepalive, t.hold_time):
            out.append(
                (
                    f"{f.keepalive}/{f.hold}",
                    f"BGP timers are AWS's keepalive {t.keepalive} s, hold {t.hold_time} s",
                )
            )
        if f.prefix_in != set(c.accept):
            out.append(
                (sorted(f.prefix_in or ()), "inbound filter must be exactly " + ", ".join(c.accept))
            )
        if f.prefix_out != set(c.announce):
            out.append(
                (
                    sorted(f.prefix_out or ()),
                    "outbound filter must be exactly " + ", ".join(c.announce),
                )
            )
        if f.max_prefix != c.max_prefixes_in:
            out.append((f.max_prefix, f"maximum-prefix guard is {c.max_prefixes_in}"))
        standby = t.preference == "secondary" and c.redundancy != "ecmp"
        if standby and not (f.local_pref is not None and f.local_pref < DEFAULT_LOCAL_PREF):
            out.append(
                (
                    f.local_pref,
                    "the standby tunnel's routes need a local preference "
                    f"below the default {DEFAULT_LOCAL_PREF}",
                )
            )
        if standby and not (f.prepend and set(f.prepend) == {r.asn}):
            out.append(
                (
                    list(f.prepend),
                    f"the standby tunnel must prepend the datacenter's ASN "
                    f"{r.asn} to what it announces",
                )
            )
        if not standby and (f.local_pref not in (None, DEFAULT_LOCAL_PREF) or f.prepend):
            out.append(
                (
                    f"local-pref {f.local_pref}, prepend {list(f.prepend)}",
                    "only a standby tunnel gets a lower preference or a longer AS path "
                    + ("(ECMP: all tunnels equal)" if c.redundancy == "ecmp" else ""),
                )
            )
        if c.redundancy == "ecmp" and (f.multipath or 1) < len(c.tunnels):
            out.append(
                (
                    f.multipath,
                    f"ECMP needs BGP multipath over the connection's "
                    f"{len(c.tunnels)} tunnels (maximum-paths)",
                )
            )
        if r.platform in PREFIX_RESTART_KNOB and f.max_prefix_restart != MAX_PREFIX_RESTART_MINUTES:
            out.append(
                (
                    f.max_prefix_restart,
                    "a session the maximum-prefix guard tore down "
                    f"must come back after "
                    f"{MAX_PREFIX_RESTART_MINUTES} minutes",
                )
            )
    else:
        if f.neighbor is not None:
            out.append((f.neighbor, "a static connection has no BGP neighbour"))
        if {p for p, _, _ in f.static} != set(c.accept):
            out.append(
                (sorted(f.static), "static routes must cover exactly " + ", ".join(c.accept))
            )
    return out


def _suites(
    kind: str,
    suites: set[Suite],
    phase: dict[str, Any],
    enc_ok: tuple[str, ...],
    integ_ok: tuple[str, ...],
    dh_ok: tuple[int, ...],
) -> list[tuple[Any, str]]:
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
        if dh is None:
            out.append(
                (label, f"{kind} proposal without a DH group (AWS always uses PFS in phase 2)")
            )
        elif dh not in dh_ok or dh not in phase["dhGroups"]:
            out.append((label, f"{kind} DH group {dh} is not allowed on this tunnel"))
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
    out: dict[str, Any] = {
        "addresses": {},
        "asn": None,
        "neighbors": {},
        "lists": {},
        "static": [],
        "discard": {},
        "route_maps": {},
    }
    iface = None
    rmap: dict[str, Any] = {}
    for raw in text.splitlines():
        line = raw.strip()
        words = line.split()
        if not words or line.startswith("!"):
            continue
        if words[0] == "route-map":
            rmap = out["route_maps"].setdefault(words[1], {})
        elif raw[0] != " ":
            rmap = {}
        if words[0] == "interface":
            iface = words[1]
        elif words[:2] == ["set", "local-preference"]:
            rmap["local_pref"] = int(words[2])
        elif words[:3] == ["set", "as-path", "prepend"]:
            rmap["prepend"] = [int(x) for x in words[3:]]
        elif words[0] == "maximum-paths":
            out["multipath"] = int(words[-1])
        elif words[:2] == ["ip", "address"] and iface:
            out["addresses"][iface] = words[2]
        elif words[:2] == ["router", "bgp"]:
            out["asn"] = int(words[2])
        elif words[:2] == ["ip", "prefix-list"]:
            # "ip prefix-list NAME seq N permit PREFIX [le|ge N]": anything but a bare
            # permitted prefix is kept verbatim, so it cannot match a planned prefix.
            entry = " ".join(words[6:]) if words[5] == "permit" else " ".join(words[5:])
            out["lists"].setdefault(words[2], set()).add(entry)
        elif words[:2] == ["ip", "route"] and words[3] in ("blackhole", "Null0", "reject"):
            out["discard"][words[2]] = int(words[4]) if len(words) > 4 else 1
        elif words[:2] == ["ip", "route"]:
            out["static"].append(
                (words[2], words[3], words[4], int(words[5]) if len(words) > 5 else 1, 0)
            )
        elif words[0] == "neighbor":
            _neighbor_line(out, words)
    return out


def linux_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from swanctl.conf, its conf.d/ files and frr.conf."""
    includes = re.findall(r"^include (\S+)$", files["swanctl.conf"], re.M)
    frr = _frr(files["frr.conf"])
    updown = dict(re.findall(r"^\s*(\S+)\) dev=(\S+) ;;$", files["crossnet-updown.sh"], re.M))
    retransmit = _charon_retransmit(files.get("strongswan.d/crossnet.conf", ""))
    script = _tunnel_script(files.get("crossnet-tunnels.sh", ""))
    facts = []
    for name in includes:
        tree = _swanctl_tree(files[name])
        for conn_name, conn in tree["connections"].items():
            ((child_name, child),) = conn["children"].items()
            remote = conn["remote_addrs"]
            secret: dict[str, str] = next(
                (s for s in tree.get("secrets", {}).values() if s.get("id") == remote), {}
            )
            iface = INTERFACE_FORMATS["linux"].format(n=int(child["if_id_out"]))
            if child["if_id_in"] != child["if_id_out"] or updown.get(child_name) != iface:
                raise ValueError(f"{conn_name}: if_id and updown do not agree on {iface}")
            f = TunnelFacts(
                remote=remote,
                local=conn.get("local_addrs"),
                psk=secret.get("secret"),
                ike_version=int(conn.get("version", 0)) or None,
                mobike=conn.get("mobike", "yes") != "no",  # strongSwan's default: yes
                ike=_strongswan_suites(conn["proposals"], ike=True),
                esp=_strongswan_suites(child["esp_proposals"], ike=False),
                ike_lifetime=(_seconds(conn.get("rekey_time")) or 0)
                + (_seconds(conn.get("over_time")) or 0),
                esp_lifetime=_seconds(child.get("life_time")),
                replay_window=int(child.get("replay_window", 32)),  # strongSwan's default: 32
                df_bit="copy" if child.get("copy_df", "yes") != "no" else "clear",
                dpd_interval=_seconds(conn.get("dpd_delay")),
                dpd_timeout=_seconds(conn.get("dpd_timeout")),
                dpd_gives_up=_ikev2_dpd_gives_up(conn, retransmit),
                address=frr["addresses"].get(iface),
            )
            if iface in script["tunnels"]:
                f.rp_filter = script["rp_filter"]
                f.mtu = script["tunnels"][iface]
                clamps = {d: m for d, i, m in script["mss"] if i == iface}
                if set(clamps) == {"oif", "iif"} and len(set(clamps.values())) == 1:
                    f.mss = clamps["oif"]
            _apply_bgp(f, frr, iface)
            facts.append(f)
    return ConfigFacts(facts, discard=frr["discard"])


def _tunnel_script(text: str) -> dict[str, Any]:
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


# strongSwan's defaults, where strongswan.conf leaves them alone
CHARON_RETRANSMIT = {"retransmit_timeout": 4.0, "retransmit_base": 1.8, "retransmit_tries": 5}


def _charon_retransmit(text: str) -> dict[str, float]:
    """charon's retransmission settings from a strongswan.d file (defaults where absent)."""
    found = dict(re.findall(r"^\s*(retransmit_(?:timeout|base|tries))\s*=\s*(\S+)\s*$", text, re.M))
    return {k: float(found.get(k, v)) for k, v in CHARON_RETRANSMIT.items()}


def _ikev2_dpd_gives_up(conn: dict[str, Any], retransmit: dict[str, float]) -> float | None:
    """IKEv2 DPD: after dpd_delay of silence a probe, retried until the retransmissions end."""
    interval = _seconds(conn.get("dpd_delay"))
    if interval is None or conn.get("version") == "1":
        return None
    return dpd_dead_after(
        interval,
        retransmit["retransmit_timeout"],
        retransmit["retransmit_base"],
        int(retransmit["retransmit_tries"]),
    )


def _apply_bgp(f: TunnelFacts, frr: dict[str, Any], iface: str) -> None:
    """The BGP session of a tunnel is the neighbour inside its interface's subnet."""
    f.static = {(p, d, prio) for p, _, dev, d, prio in frr["static"] if dev == iface}
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
            f.max_prefix_restart = n.get("max_prefix_restart")
            maps = frr.get("route_maps", {})
            f.local_pref = n.get(
                "local_pref", maps.get(n.get("route_map_in"), {}).get("local_pref")
            )
            f.prepend = tuple(
                n.get("prepend", maps.get(n.get("route_map_out"), {}).get("prepend", ()))
            )
            f.multipath = n.get("multipath", frr.get("multipath"))


# ------------------------------------------------------------------ Cisco IOS-XE


def _ios_blocks(text: str) -> list[tuple[str, list[str]]]:
    """Top-level lines with their indented children (flattened, stripped)."""
    blocks: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.strip().startswith("!"):
            continue
        if raw[0] != " ":
            blocks.append((raw.strip(), []))
        elif blocks:
            blocks[-1][1].append(raw.strip())
    return blocks


def _ios_mask(address: str, mask: str) -> str:
    return f"{address}/{IPAddress(mask).netmask_bits()}"


def iosxe_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from an IOS-XE config: Tunnel interfaces and what they reference."""
    blocks = _ios_blocks(files["router.cfg"])

    def named(prefix: str) -> dict[str, list[str]]:
        return {
            head[len(prefix) :].split()[0]: body for head, body in blocks if head.startswith(prefix)
        }

    def value(body: list[str], key: str) -> str | None:
        return next((line[len(key) :].strip() for line in body if line.startswith(key + " ")), None)

    proposals, keyrings, profiles = (
        named("crypto ikev2 proposal "),
        named("crypto ikev2 keyring "),
        named("crypto ikev2 profile "),
    )
    ipsec = named("crypto ipsec profile ")
    transforms = {
        head.split()[3]: " ".join(head.split()[4:])
        for head, _ in blocks
        if head.startswith("crypto ipsec transform-set ")
    }
    policy = next(body for head, body in blocks if head.startswith("crypto ikev2 policy "))
    ike: set[Suite] = set()
    enc_of, integ_of = cr.reverse(cr.IOSXE_IKE_ENC), cr.reverse(cr.IOSXE_IKE_INTEG)
    for line in policy:
        if line.startswith("proposal "):
            body = proposals[line.split()[1]]
            encs = [enc_of.get(x, x) for x in (value(body, "encryption") or "").split()]
            integs: list[str | None] = [
                integ_of.get(i, i)
                for i in (value(body, "integrity") or value(body, "prf") or "").split()
            ]
            groups: list[int | None] = [int(g) for g in (value(body, "group") or "").split()]
            ike |= {(e, i, g) for e in encs for i in integs or [None] for g in groups or [None]}
    local = (value(policy, "match address local") or "").split()[0] or None
    global_df = next(
        (h.split()[3] for h, _ in blocks if h.startswith("crypto ipsec df-bit ")), None
    )
    global_frag = next(
        (h.split()[3] for h, _ in blocks if h.startswith("crypto ipsec fragmentation ")), None
    )
    bgp = _ios_bgp(blocks)
    esp_enc, esp_integ = cr.reverse(cr.IOSXE_ESP_ENC), cr.reverse(cr.IOSXE_ESP_INTEG)
    facts = []
    for head, body in blocks:
        if not head.startswith("interface Tunnel"):
            continue
        iface = head.split()[1]
        ip = (value(body, "ip address") or " ").split()
        prof = ipsec[(value(body, "tunnel protection ipsec profile") or "").split()[0]]
        # The IKE version is the profile kind the IPsec profile names: an IKEv2 profile,
        # or an ISAKMP (IKEv1) one.
        ike_prof = profiles.get(value(prof, "set ikev2-profile") or "")
        version = 2 if ike_prof is not None else 1 if value(prof, "set isakmp-profile") else None
        ike_prof = ike_prof or []
        ring = keyrings.get(value(ike_prof, "keyring local") or "", [])
        remote = value(body, "tunnel destination") or ""
        pfs_name = value(prof, "set pfs") or ""
        pfs = int(pfs_name[5:]) if pfs_name.startswith("group") else None
        esp: set[Suite] = set()
        for name in (value(prof, "set transform-set") or "").split():
            spec = transforms[name].split()
            enc = esp_enc.get(" ".join(spec[:2]), " ".join(spec[:2]))
            esp.add((enc, esp_integ.get(spec[2], spec[2]) if len(spec) > 2 else None, pfs))
        dpd = (value(ike_prof, "dpd") or "").split()  # interval retry (periodic|on-demand)
        dpd_gives_up = int(dpd[0]) + IOSXE_DPD_RETRIES * int(dpd[1]) if len(dpd) >= 2 else None
        psk = None
        if value(ring, "address") == remote:
            psk = value(ring, "pre-shared-key")
        life = (value(prof, "set security-association lifetime seconds") or "").split()
        # A Tunnel interface's own setting wins over the global one; IOS's defaults are
        # copy the DF bit, and fragment before encryption.
        df = value(body, "crypto ipsec df-bit") or global_df or "copy"
        frag = value(body, "crypto ipsec fragmentation") or global_frag or "before-encryption"
        f = TunnelFacts(
            remote=remote,
            local=value(body, "tunnel source"),
            psk=psk,
            ike_version=version,
            esp=esp,
            ike=ike if local == value(body, "tunnel source") else set(),
            ike_lifetime=int(value(ike_prof, "lifetime") or 0) or None,
            esp_lifetime=int(life[0]) if life else None,
            replay_window=int(
                value(prof, "set security-association replay window-size") or 64
            ),  # IOS's default
            dpd_interval=int(dpd[0]) if dpd else None,
            dpd_timeout=dpd_gives_up if dpd[2:3] == ["periodic"] else None,
            mtu=int(value(body, "ip mtu") or 0) or None,
            mss=int(value(body, "ip tcp adjust-mss") or 0) or None,
            df_bit=df,
            fragmentation=frag.removesuffix("-encryption"),
            address=_ios_mask(ip[0], ip[1]) if len(ip) == 2 else None,
        )
        _apply_bgp(f, bgp, iface)
        facts.append(f)
    return ConfigFacts(facts, discard=bgp["discard"])


def _ios_bgp(blocks: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """IOS-style BGP, prefix lists and static routes, in the shape _frr() returns."""
    out: dict[str, Any] = {
        "addresses": {},
        "asn": None,
        "neighbors": {},
        "lists": {},
        "static": [],
        "discard": {},
        "route_maps": {},
    }
    for head, body in blocks:
        words = head.split()
        if words[:2] == ["router", "bgp"]:
            out["asn"] = int(words[2])
            for line in body:
                _neighbor_line(out, line.split())
                if line.startswith("maximum-paths "):
                    out["multipath"] = int(line.split()[-1])
        elif words[0] == "route-map":
            rmap = out["route_maps"].setdefault(words[1], {})
            for line in body:
                w = line.split()
                if w[:2] == ["set", "local-preference"]:
                    rmap["local_pref"] = int(w[2])
                elif w[:3] == ["set", "as-path", "prepend"]:
                    rmap["prepend"] = [int(x) for x in w[3:]]
        elif words[:2] == ["ip", "prefix-list"]:
            entry = " ".join(words[6:]) if words[5] == "permit" else " ".join(words[5:])
            out["lists"].setdefault(words[2], set()).add(entry)
        elif words[:2] == ["ip", "route"] and words[4] == "Null0":
            out["discard"][_ios_mask(words[2], words[3])] = int(words[5]) if len(words) > 5 else 1
        elif words[:2] == ["ip", "route"]:
            prefix = _ios_mask(words[2], words[3])
            out["static"].append(
                (prefix, words[5], words[4], int(words[6]) if len(words) > 6 else 1, 0)
            )
    return out


def _neighbor_line(out: dict[str, Any], words: list[str]) -> None:
    if not words or words[0] != "neighbor":
        return
    n = out["neighbors"].setdefault(words[1], {})
    if words[2] == "remote-as":
        n["remote_as"] = int(words[3])
    elif words[2:4] == ["timers", "connect"]:
        n["connect_retry"] = int(words[4])
    elif words[2] == "timers":
        n["keepalive"], n["hold"] = int(words[3]), int(words[4])
    elif words[2] == "prefix-list":
        n[f"prefix_{words[4]}"] = words[3]
    elif words[2] == "route-map":
        n[f"route_map_{words[4]}"] = words[3]
    elif words[2] == "maximum-prefix":
        n["max_prefix"] = int(words[3])
        if words[4:5] == ["restart"]:
            n["max_prefix_restart"] = int(words[5])


# ------------------------------------------------------------------ Junos (set commands)

# A word, or a quoted string ('...' or "...", no escapes: what these configs hold). Much
# faster than shlex, which dominated the check's time on VyOS and Junos.
_TOKEN = r"""'[^']*'|"[^"]*"|[^\s'"]+"""
_TOKENS = re.compile(_TOKEN)
_LINE = re.compile(rf"(?:\s*(?:{_TOKEN}))*\s*")


def _words(line: str) -> list[str]:
    """A config line split into words, quotes removed (shlex.split for these configs)."""
    if "'" not in line and '"' not in line:
        return line.split()
    if not _LINE.fullmatch(line):
        raise ValueError(f"unbalanced quotes: {line}")
    return [t[1:-1] if t[0] in "'\"" else t for t in _TOKENS.findall(line)]


def _set_lines(text: str) -> list[list[str]]:
    """`set ...` lines as word lists (quotes honoured), the `set` dropped."""
    return [
        words[1:]
        for line in text.splitlines()
        if line.startswith("set ") and (words := _words(line))
    ]


def _under(lines: list[list[str]], *prefix: str) -> dict[str, list[list[str]]]:
    """Lines below `prefix <name>`, grouped by name, each without prefix and name."""
    n = len(prefix)
    out: dict[str, list[list[str]]] = {}
    for words in lines:
        if tuple(words[:n]) == prefix and len(words) > n:
            out.setdefault(words[n], []).append(words[n + 1 :])
    return out


def _get(rest: list[list[str]], *key: str) -> str | None:
    n = len(key)
    return next((" ".join(w[n:]) for w in rest if tuple(w[:n]) == key and len(w) > n), None)


def _all(rest: list[list[str]], *key: str) -> list[str]:
    n = len(key)
    return [" ".join(w[n:]) for w in rest if tuple(w[:n]) == key and len(w) > n]


def junos_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from Junos set commands: each IPsec VPN, its gateway, policies and st0 unit."""
    lines = _set_lines(files["router.set"])
    ike_props = _under(lines, "security", "ike", "proposal")
    ike_pols = _under(lines, "security", "ike", "policy")
    gateways = _under(lines, "security", "ike", "gateway")
    esp_props = _under(lines, "security", "ipsec", "proposal")
    esp_pols = _under(lines, "security", "ipsec", "policy")
    units = _under(lines, "interfaces", "st0", "unit")
    enc_of, auth_of = cr.reverse(cr.JUNOS_ENC), cr.reverse(cr.JUNOS_IKE_AUTH)
    esp_auth_of, dh_of = cr.reverse(cr.JUNOS_ESP_AUTH), cr.reverse(cr.JUNOS_DH)
    bgp = _junos_bgp(lines)
    facts = []
    for _, vpn in _under(lines, "security", "ipsec", "vpn").items():
        gw = gateways[_get(vpn, "ike", "gateway") or ""]
        pol = ike_pols[_get(gw, "ike-policy") or ""]
        ike: set[Suite] = set()
        ike_life = set()
        for name in _all(pol, "proposals"):
            prop = ike_props[name]
            enc = _get(prop, "encryption-algorithm") or ""
            auth = _get(prop, "authentication-algorithm") or ""
            ike.add(
                (
                    enc_of.get(enc, enc),
                    auth_of.get(auth, auth),
                    dh_of.get(_get(prop, "dh-group") or ""),
                )
            )
            ike_life.add(int(_get(prop, "lifetime-seconds") or 0))
        esp_pol = esp_pols[_get(vpn, "ike", "ipsec-policy") or ""]
        pfs = dh_of.get(_get(esp_pol, "perfect-forward-secrecy", "keys") or "")
        esp: set[Suite] = set()
        esp_life = set()
        for name in _all(esp_pol, "proposals"):
            prop = esp_props[name]
            enc = _get(prop, "encryption-algorithm") or ""
            esp_auth = _get(prop, "authentication-algorithm")
            esp.add(
                (
                    enc_of.get(enc, enc),
                    esp_auth_of.get(esp_auth, esp_auth) if esp_auth else None,
                    pfs,
                )
            )
            esp_life.add(int(_get(prop, "lifetime-seconds") or 0))
        iface = _get(vpn, "bind-interface") or ""
        unit = units.get(iface.removeprefix("st0."), [])
        interval = int(_get(gw, "dead-peer-detection", "interval") or 0) or None
        threshold = int(_get(gw, "dead-peer-detection", "threshold") or 0) or None
        version = _get(gw, "version") or ""
        f = TunnelFacts(
            remote=_get(gw, "address") or "",
            local=_get(gw, "local-identity", "inet"),
            psk=_get(pol, "pre-shared-key", "ascii-text"),
            ike_version=int(version[1]) if version[:1] == "v" else None,
            ike=ike,
            esp=esp,
            ike_lifetime=ike_life.pop() if len(ike_life) == 1 else None,
            esp_lifetime=esp_life.pop() if len(esp_life) == 1 else None,
            dpd_interval=interval,
            dpd_timeout=interval * threshold if interval and threshold else None,
            df_bit=_get(vpn, "df-bit") or "clear",  # Junos's default
            address=_get(unit, "family", "inet", "address"),
            mtu=int(_get(unit, "family", "inet", "mtu") or 0) or None,
            mss=int(_get(lines, "security", "flow", "tcp-mss", "ipsec-vpn", "mss") or 0) or None,
        )
        _apply_bgp(f, bgp, iface)
        facts.append(f)
    return ConfigFacts(facts, discard=bgp["discard"], load_balanced=bgp["load_balanced"])


def _junos_bgp(lines: list[list[str]]) -> dict[str, Any]:
    """Junos BGP groups, import/export policies and static routes, in _frr()'s shape."""
    out: dict[str, Any] = {
        "addresses": {},
        "asn": None,
        "neighbors": {},
        "lists": {},
        "static": [],
        "discard": {},
    }
    asn = _get(lines, "routing-options", "autonomous-system")
    out["asn"] = int(asn) if asn else None
    lists = {
        name: {" ".join(w) for w in rest}
        for name, rest in _under(lines, "policy-options", "prefix-list").items()
    }
    policies = _under(lines, "policy-options", "policy-statement")

    def then(policy: str | None, action: str) -> str | None:
        """An accepting term's `then <action>` value."""
        terms = _under(policies.get(policy or "", []), "term")
        return next(
            (
                v
                for rest in terms.values()
                if ["then", "accept"] in rest
                for v in _all(rest, "then", action)
            ),
            None,
        )

    def accepted(policy: str | None) -> set[str] | None:
        """The prefixes a term-based policy accepts: its accepting terms' prefix lists."""
        if policy is None or policy not in policies:
            return None
        terms = _under(policies[policy], "term")
        found: set[str] = set()
        for rest in terms.values():
            if ["then", "accept"] in rest:
                for name in _all(rest, "from", "prefix-list"):
                    found |= lists.get(name, set())
                if not _all(rest, "from", "prefix-list"):
                    found.add("(anything)")
        return found

    for _, group in _under(lines, "protocols", "bgp", "group").items():
        hold = _get(group, "hold-time")
        peers = _under(group, "neighbor")
        for peer, rest in peers.items():
            limit = _get(rest, "family", "inet", "unicast", "prefix-limit", "maximum")
            idle = _get(
                rest, "family", "inet", "unicast", "prefix-limit", "teardown", "idle-timeout"
            )
            out["neighbors"][peer] = {
                "remote_as": int(_get(group, "peer-as") or 0) or None,
                "hold": int(hold) if hold else None,
                "keepalive": int(hold) // 3 if hold else None,  # Junos: a third of hold-time
                "max_prefix": int(limit) if limit else None,
                "multipath": len(peers) if ["multipath"] in group else None,
                "max_prefix_restart": int(idle) if idle and idle.isdigit() else None,
                "local_pref": int(lp)
                if (lp := then(_get(rest, "import"), "local-preference"))
                else None,
                "prepend": [
                    int(x) for x in (then(_get(rest, "export"), "as-path-prepend") or "").split()
                ],
            }
            out["lists"][f"{peer}/in"] = accepted(_get(rest, "import"))
            out["lists"][f"{peer}/out"] = accepted(_get(rest, "export"))
            out["neighbors"][peer]["prefix_in"] = f"{peer}/in"
            out["neighbors"][peer]["prefix_out"] = f"{peer}/out"
    for prefix, rest in _under(lines, "routing-options", "static", "route").items():
        for w in rest:
            if w[:1] == ["qualified-next-hop"] and len(w) >= 4 and w[2] == "preference":
                out["static"].append((prefix, "", w[1], int(w[3]), 0))
        if ["discard"] in rest:
            out["discard"][prefix] = int(_get(rest, "preference") or 5)  # Junos static: 5
    balanced: set[str] = set()
    for name in _all(lines, "routing-options", "forwarding-table", "export"):
        body = policies.get(name, [])
        if any(w[:1] == ["then"] and "load-balance" in w for w in body):
            balanced.add("(anything)")  # a policy without terms matches every route
        for rest in _under(body, "term").values():
            if not any(w[:2] == ["then", "load-balance"] for w in rest):
                continue
            matched = set().union(*(lists.get(n, set()) for n in _all(rest, "from", "prefix-list")))
            if not any(w[:1] == ["from"] for w in rest):
                balanced.add("(anything)")
            elif "bgp" not in _all(rest, "from", "protocol"):
                balanced |= {f"(any protocol) {p}" for p in matched}
            else:
                balanced |= matched
    out["load_balanced"] = balanced
    return out


# ------------------------------------------------------------------ VyOS (set commands)

# Commands VyOS 1.4 refuses at commit, with what it takes instead ("*": any one word).
VYOS_14_REJECTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("vpn", "ipsec", "ike-group", "*", "mobike"),
        "not VyOS 1.4 syntax: MOBIKE is turned off with the valueless 'disable-mobike'",
    ),
)


def _vyos_rejects(lines: list[list[str]]) -> None:
    for words in lines:
        for path, why in VYOS_14_REJECTS:
            if len(words) >= len(path) and all(p in ("*", w) for p, w in zip(path, words)):
                raise RejectedLineError("set " + " ".join(words), why)


def vyos_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from VyOS configuration commands: each site-to-site peer and its VTI."""
    lines = _set_lines(files["router.cfg"])
    _vyos_rejects(lines)
    ike_groups = _under(lines, "vpn", "ipsec", "ike-group")
    esp_groups = _under(lines, "vpn", "ipsec", "esp-group")
    psks = _under(lines, "vpn", "ipsec", "authentication", "psk")
    vtis = _under(lines, "interfaces", "vti")
    enc_of, hash_of = cr.reverse(cr.VYOS_ENC), cr.reverse(cr.VYOS_HASH)
    dh_of = {v: k for k, v in cr.VYOS_DH.items()}
    bgp = _vyos_bgp(lines)
    facts = []
    for _, peer in _under(lines, "vpn", "ipsec", "site-to-site", "peer").items():
        remote = _get(peer, "remote-address") or ""
        ike_group = ike_groups.get(_get(peer, "ike-group") or "", [])
        esp_group = esp_groups.get(_get(peer, "vti", "esp-group") or "", [])
        ike: set[Suite] = set()
        for rest in _under(ike_group, "proposal").values():
            enc, hsh = _get(rest, "encryption") or "", _get(rest, "hash") or ""
            ike.add(
                (
                    enc_of.get(enc, enc),
                    hash_of.get(hsh, hsh),
                    dh_of.get(_get(rest, "dh-group") or ""),
                )
            )
        pfs_name = _get(esp_group, "pfs") or ""
        pfs = (
            dh_of.get(pfs_name.removeprefix("dh-group"))
            if pfs_name.startswith("dh-group")
            else None
        )
        esp: set[Suite] = set()
        for rest in _under(esp_group, "proposal").values():
            enc, esp_hash = _get(rest, "encryption") or "", _get(rest, "hash")
            esp.add(
                (enc_of.get(enc, enc), hash_of.get(esp_hash, esp_hash) if esp_hash else None, pfs)
            )
        secret = next(
            (_get(rest, "secret") for rest in psks.values() if remote in _all(rest, "id")), None
        )
        iface = _get(peer, "vti", "bind") or ""
        version = (_get(ike_group, "key-exchange") or "").removeprefix("ikev")
        dpd_interval = int(_get(ike_group, "dead-peer-detection", "interval") or 0) or None
        dpd_timeout = int(_get(ike_group, "dead-peer-detection", "timeout") or 0) or None
        if version == "2" and dpd_timeout is not None:
            raise RejectedLineError(
                f"set vpn ipsec ike-group {_get(peer, 'ike-group')} dead-peer-detection timeout "
                f"{dpd_timeout}",
                "IKEv1-only: VyOS ignores it on IKEv2, where charon's "
                "retransmissions decide when DPD gives up",
            )
        f = TunnelFacts(
            remote=remote,
            local=_get(peer, "local-address"),
            psk=secret,
            ike_version=int(version) if version.isdigit() else None,
            ike=ike,
            esp=esp,
            mobike=["disable-mobike"] not in ike_group,  # VyOS's default: MOBIKE on
            ike_lifetime=int(_get(ike_group, "lifetime") or 0) or None,
            esp_lifetime=int(_get(esp_group, "lifetime") or 0) or None,
            mtu=int(_get(vtis.get(iface, []), "mtu") or 0) or None,
            mss=int(_get(vtis.get(iface, []), "ip", "adjust-mss") or 0) or None,
            dpd_interval=dpd_interval,
            # `timeout` is IKEv1-only: on IKEv2, charon's default retransmissions decide.
            dpd_timeout=dpd_timeout if version == "1" else None,
            dpd_gives_up=_vyos_ikev2_gives_up(dpd_interval) if version == "2" else None,
            dpd_untunable=version == "2",
            address=_get(vtis.get(iface, []), "address"),
        )
        _apply_bgp(f, bgp, iface)
        facts.append(f)
    return ConfigFacts(facts, discard=bgp["discard"])


def _vyos_ikev2_gives_up(interval: int | None) -> float | None:
    """VyOS 1.4, IKEv2: DPD gives up when charon's default retransmissions run out."""
    if interval is None:
        return None
    return _ikev2_dpd_gives_up(
        {"dpd_delay": str(interval), "version": "2"},
        {k: float(v) for k, v in CHARON_RETRANSMIT.items()},
    )


def _vyos_bgp(lines: list[list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "addresses": {},
        "asn": None,
        "neighbors": {},
        "lists": {},
        "static": [],
        "discard": {},
    }
    asn = _get(lines, "protocols", "bgp", "system-as")
    out["asn"] = int(asn) if asn else None
    for name, rest in _under(lines, "policy", "prefix-list").items():
        entries = set()
        for rule in _under(rest, "rule").values():
            extra = [" ".join(w) for w in rule if w[0] in ("le", "ge")]
            if _get(rule, "action") == "permit":
                entries.add(" ".join([_get(rule, "prefix") or "", *extra]))
            else:
                entries.add(f"{_get(rule, 'action')} {_get(rule, 'prefix')}")
        out["lists"][name] = entries
    maps = {
        name: _under(rest, "rule") for name, rest in _under(lines, "policy", "route-map").items()
    }
    paths = _get(
        lines, "protocols", "bgp", "address-family", "ipv4-unicast", "maximum-paths", "ebgp"
    )
    out["multipath"] = int(paths) if paths else None

    def rule_set(name: str | None, *key: str) -> str | None:
        return next(
            (v for r in maps.get(name or "", {}).values() for v in _all(r, "set", *key)), None
        )

    for peer, rest in _under(lines, "protocols", "bgp", "neighbor").items():
        af = ("address-family", "ipv4-unicast")
        limit = _get(rest, *af, "maximum-prefix")
        lp = rule_set(_get(rest, *af, "route-map", "import"), "local-preference")
        out["neighbors"][peer] = {
            "remote_as": int(_get(rest, "remote-as") or 0) or None,
            "hold": int(_get(rest, "timers", "holdtime") or 0) or None,
            "keepalive": int(_get(rest, "timers", "keepalive") or 0) or None,
            "prefix_in": _get(rest, *af, "prefix-list", "import"),
            "prefix_out": _get(rest, *af, "prefix-list", "export"),
            "max_prefix": int(limit) if limit else None,
            "local_pref": int(lp) if lp else None,
            "prepend": [
                int(x)
                for x in (
                    rule_set(_get(rest, *af, "route-map", "export"), "as-path", "prepend") or ""
                ).split()
            ],
        }
    for prefix, rest in _under(lines, "protocols", "static", "route").items():
        if any(w[:1] == ["blackhole"] for w in rest):
            out["discard"][prefix] = int(_get(rest, "blackhole", "distance") or 1)
        for hop, hop_rest in _under(rest, "next-hop").items():
            out["static"].append(
                (
                    prefix,
                    hop,
                    _get(hop_rest, "interface") or "",
                    int(_get(hop_rest, "distance") or 1),
                    0,
                )
            )
    return out


# ------------------------------------------------------------------ FortiOS


def _forti_tree(text: str) -> dict[str, Any]:
    """FortiOS CLI: `config`/`edit` blocks into nested dicts, `set` into word lists."""
    root: dict[str, Any] = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = _words(line)
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


def _one(node: dict[str, Any], key: str) -> str | None:
    value = node.get(key)
    return " ".join(value) if value else None


def fortios_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from a FortiOS config: each phase1-interface, its phase2 and tunnel interface."""
    tree = _forti_tree(files["router.conf"])
    phase2 = {_one(v, "phase1name"): v for v in tree["vpn ipsec phase2-interface"].values()}
    interfaces = tree.get("system interface", {})
    enc_of, hash_of = cr.reverse(cr.FORTIOS_ENC), cr.reverse(cr.FORTIOS_HASH)
    dh_of = {v: k for k, v in cr.FORTIOS_DH.items()}

    def suites(tokens: list[str], groups: list[int | None]) -> set[Suite]:
        out: set[Suite] = set()
        for token in tokens:
            enc, _, integ = token.partition("-")
            integ = integ.removeprefix("prf")
            for g in groups:
                out.add((enc_of.get(enc, enc), hash_of.get(integ, integ) if integ else None, g))
        return out

    bgp = _forti_bgp(tree)
    facts = []
    for name, p1 in tree["vpn ipsec phase1-interface"].items():
        p2 = phase2.get(name, {})
        pfs: list[int | None] = [None]
        if _one(p2, "pfs") == "enable":
            pfs = [dh_of.get(g) for g in p2.get("dhgrp", [])]
        iface = interfaces.get(name, {})
        # FortiOS style: the local address as a /32, the subnet on the remote end.
        ip, remote_ip = iface.get("ip", []), iface.get("remote-ip", [])
        address = None
        if len(ip) == 2 and len(remote_ip) == 2 and ip[1] == "255.255.255.255":
            address = f"{ip[0]}/{IPAddress(remote_ip[1]).netmask_bits()}"
        interval = int(_one(p1, "dpd-retryinterval") or 0) or None
        count = int(_one(p1, "dpd-retrycount") or 0) or None
        f = TunnelFacts(
            remote=_one(p1, "remote-gw") or "",
            local=_one(p1, "local-gw"),
            psk=_one(p1, "psksecret"),
            ike_version=int(_one(p1, "ike-version") or 0) or None,
            ike=suites(p1.get("proposal", []), [dh_of.get(g) for g in p1.get("dhgrp", [])]),
            esp=suites(p2.get("proposal", []), pfs),
            ike_lifetime=int(_one(p1, "keylife") or 0) or None,
            esp_lifetime=int(_one(p2, "keylifeseconds") or 0) or None,
            dpd_interval=interval,
            dpd_timeout=interval * count if interval and count else None,
            fragmentation=(
                "before" if _one(p1, "ip-fragmentation") == "pre-encapsulation" else "after"
            ),  # FortiOS's default: post-encapsulation
            address=address,
            # FortiOS ignores `mtu` unless mtu-override is enabled
            mtu=int(_one(iface, "mtu") or 0) or None
            if _one(iface, "mtu-override") == "enable"
            else None,
            mss=int(_one(iface, "tcp-mss") or 0) or None,
        )
        _apply_bgp(f, bgp, name)
        facts.append(f)
    return ConfigFacts(facts, discard=bgp["discard"])


def _forti_bgp(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "addresses": {},
        "asn": None,
        "neighbors": {},
        "lists": {},
        "static": [],
        "discard": {},
    }

    def cidr(words: list[str]) -> str:
        return f"{words[0]}/{IPAddress(words[1]).netmask_bits()}"

    for name, plist in tree.get("router prefix-list", {}).items():
        entries = set()
        for rule in plist.get("rule", {}).values():
            extra = [f"{k} {_one(rule, k)}" for k in ("ge", "le") if rule.get(k)]
            action = _one(rule, "action") or "permit"
            entries.add(
                " ".join(([] if action == "permit" else [action]) + [cidr(rule["prefix"])] + extra)
            )
        out["lists"][name] = entries
    bgp = tree.get("router bgp", {})
    out["asn"] = int(_one(bgp, "as") or 0) or None
    # ebgp-multipath uses every equal path (up to FortiOS's own limit)
    out["multipath"] = 64 if _one(bgp, "ebgp-multipath") == "enable" else None
    maps = tree.get("router route-map", {})

    def rule_set(name: str | None, key: str) -> str | None:
        return next(
            (
                _one(r, key)
                for r in maps.get(name or "", {}).get("rule", {}).values()
                if _one(r, key)
            ),
            None,
        )

    for peer, n in bgp.get("neighbor", {}).items():
        limit = _one(n, "maximum-prefix")
        lp = rule_set(_one(n, "route-map-in"), "set-local-preference")
        out["neighbors"][peer] = {
            "remote_as": int(_one(n, "remote-as") or 0) or None,
            "hold": int(_one(n, "holdtime-timer") or 0) or None,
            "keepalive": int(_one(n, "keep-alive-timer") or 0) or None,
            "prefix_in": _one(n, "prefix-list-in"),
            "prefix_out": _one(n, "prefix-list-out"),
            "max_prefix": int(limit) if limit else None,
            "local_pref": int(lp) if lp else None,
            "prepend": [
                int(x) for x in (rule_set(_one(n, "route-map-out"), "set-aspath") or "").split()
            ],
        }
    for route in tree.get("router static", {}).values():
        if _one(route, "blackhole") == "enable":
            out["discard"][cidr(route["dst"])] = int(_one(route, "distance") or 10)
            continue
        out["static"].append(
            (
                cidr(route["dst"]),
                _one(route, "gateway"),
                _one(route, "device") or "",
                int(_one(route, "distance") or 10),
                int(_one(route, "priority") or 1),
            )
        )  # FortiOS 7: priority 1
    return out


# ------------------------------------------------------------------ registry

EXTRACTORS: dict[str, Callable[[dict[str, str]], ConfigFacts]] = {
    "linux": linux_facts,
    "iosxe": iosxe_facts,
    "junos": junos_facts,
    "vyos": vyos_facts,
    "fortios": fortios_facts,
}
