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
  can; maximum-prefix restarts the session where it can;
- on zone-based platforms (Junos SRX, FortiOS), one accepting policy each way per
  connection, naming exactly its planned prefixes, and no other (none at all where
  the router's `firewallPolicies` is false).

The per-platform readers are `network.render.readback`.

`render_stack` refuses to write a router whose config fails this check; what a
platform cannot express at all (VyOS 1.4's IKEv2 DPD timing) is a note instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netaddr import IPNetwork

from network import aws_rules as aws
from network.contract import Connection, Router, Tunnel
from network.errors import Problem, show
from network.render import crypto as cr
from network.render.defaults import DISCARD_DISTANCE, MAX_PREFIX_RESTART_MINUTES
from network.render.readback import READERS
from network.render.readback.facts import ConfigFacts, RejectedLineError, Suite, TunnelFacts

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
    extract = READERS.get(router.platform)
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
    problems += _compare_policies(router, config, by_connection)
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


Found = list[tuple[Any, str]]  # (what the config says, the rule it breaks)


def _policy_label(direction: str, sources: frozenset[str], destinations: frozenset[str]) -> str:
    return f"{direction}: {', '.join(sorted(sources))} -> {', '.join(sorted(destinations))}"


Wanted = tuple[str, frozenset[str], frozenset[str], frozenset[str] | None]


def _wanted_policies(
    r: Router, config: ConfigFacts, by_connection: dict[str, dict[int, TunnelFacts]]
) -> tuple[list[Wanted], list[Problem]]:
    """The (direction, sources, destinations, tunnels) of every policy the plan needs,
    and the tunnels missing from the Junos VPN zone those policies name."""
    wanted: list[Wanted] = []
    problems: list[Problem] = []
    for c in r.connections:
        ifaces = frozenset(f.interface or "" for f in by_connection.get(c.name, {}).values())
        tunnels = ifaces if r.platform == "fortios" else None
        dc, aws_side = frozenset(c.announce), frozenset(c.accept)
        wanted += [("out", dc, aws_side, tunnels), ("in", aws_side, dc, tunnels)]
        zone = config.vpn_zone_interfaces
        if zone is not None and not ifaces <= zone:
            problems.append(
                Problem(
                    f"routers.{r.key}.{c.name}.zone",
                    ", ".join(sorted(ifaces - zone)),
                    "a tunnel interface outside the VPN zone is not covered by its policies",
                )
            )
    return wanted, problems


def _compare_policies(
    r: Router, config: ConfigFacts, by_connection: dict[str, dict[int, TunnelFacts]]
) -> list[Problem]:
    """Zone-based platforms: each connection's two policies, and none beyond them.

    Each connection needs one accepting policy from its datacenter prefixes to its AWS
    prefixes and one back, naming exactly those prefixes (FortiOS: and exactly its
    tunnel interfaces; Junos: its st0 units in the VPN zone). With `firewallPolicies`
    false the config holds none: the site's own policy decides.
    """
    if config.policies is None:
        return []
    where = f"routers.{r.key}.policies"
    wanted, problems = (
        _wanted_policies(r, config, by_connection) if r.firewall_policies else ([], [])
    )
    found = [
        (p.direction, p.sources, p.destinations, p.tunnels)
        for p in config.policies
        if p.action in ("accept", "permit")
    ]
    for want in wanted:
        if want in found:
            found.remove(want)
            continue
        over = f" over {', '.join(sorted(want[3]))}" if want[3] else ""
        problems.append(
            Problem(
                where,
                _policy_label(*want[:3]),
                f"no policy lets exactly these planned prefixes through{over} "
                "(a zone-based router forwards nothing without one)",
            )
        )
    for direction, src, dst, _ in found:
        problems.append(
            Problem(
                where,
                _policy_label(direction, src, dst),
                "a policy naming prefixes or tunnels the plan does not"
                if r.firewall_policies
                else "firewallPolicies is false: the site keeps its own policy, "
                "the config must hold none",
            )
        )
    return problems


def _compare(r: Router, c: Connection, t: Tunnel, f: TunnelFacts) -> Found:
    """Every way one tunnel's facts disagree with what AWS was given for it."""
    out = _compare_ike(r, c, t, f) + _compare_dpd(c, f) + _compare_interface(r, c, t, f)
    if c.routing == "bgp":
        return out + _compare_bgp(r, c, t, f) + _compare_preference(r, c, t, f)
    if f.neighbor is not None:
        out.append((f.neighbor, "a static connection has no BGP neighbour"))
    if {p for p, _, _ in f.static} != set(c.accept):
        out.append((sorted(f.static), "static routes must cover exactly " + ", ".join(c.accept)))
    return out


def _compare_ike(r: Router, c: Connection, t: Tunnel, f: TunnelFacts) -> Found:
    """Identity, key, IKE version, suites, lifetimes and the replay window."""
    out: Found = []
    spec = c.crypto
    p1, p2 = spec["phase1"], spec["phase2"]
    if f.local is not None and f.local != t.customer_outside_ip:
        out.append((f.local, f"local address is not the tunnel's {t.customer_outside_ip}"))
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
    return out


def _compare_dpd(c: Connection, f: TunnelFacts) -> Found:
    """DPD probes often enough and gives up within AWS's DPD timeout."""
    out: Found = []
    timeout = c.crypto["dpd"]["timeoutSeconds"]
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
    return out


def _compare_interface(r: Router, c: Connection, t: Tunnel, f: TunnelFacts) -> Found:
    """DF bit, fragmentation, reverse-path filter, MTU, MSS and the inside address."""
    out: Found = []
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
    net = IPNetwork(t.inside_cidr)
    customer = f"{net[2]}/{net.prefixlen}"
    if f.address != customer:
        out.append(
            (f.address, f"the tunnel interface must hold the customer side {customer} of {net}")
        )
    return out


def _compare_bgp(r: Router, c: Connection, t: Tunnel, f: TunnelFacts) -> Found:
    """The session: neighbour, ASNs, timers, filters and the maximum-prefix guard."""
    out: Found = []
    net = IPNetwork(t.inside_cidr)
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
            (sorted(f.prefix_out or ()), "outbound filter must be exactly " + ", ".join(c.announce))
        )
    if f.max_prefix != c.max_prefixes_in:
        out.append((f.max_prefix, f"maximum-prefix guard is {c.max_prefixes_in}"))
    if r.platform in PREFIX_RESTART_KNOB and f.max_prefix_restart != MAX_PREFIX_RESTART_MINUTES:
        out.append(
            (
                f.max_prefix_restart,
                "a session the maximum-prefix guard tore down "
                f"must come back after {MAX_PREFIX_RESTART_MINUTES} minutes",
            )
        )
    return out


def _compare_preference(r: Router, c: Connection, t: Tunnel, f: TunnelFacts) -> Found:
    """Only a standby tunnel is made less attractive; ECMP has multipath."""
    out: Found = []
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
    return out


def _suites(
    kind: str,
    suites: set[Suite],
    phase: dict[str, Any],
    enc_ok: tuple[str, ...],
    integ_ok: tuple[str, ...],
    dh_ok: tuple[int, ...],
) -> Found:
    if not suites:
        return [("none", f"the config offers no {kind} proposal")]
    out: Found = []
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
