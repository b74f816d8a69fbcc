"""Read back Junos set commands: each IPsec VPN, its gateway, policies and st0 unit (pure)."""

from __future__ import annotations

from typing import Any

from network.render import crypto as cr
from network.render.defaults import JUNOS_VPN_ZONE
from network.render.readback.facts import (
    ConfigFacts,
    Policy,
    Suite,
    TunnelFacts,
    apply_bgp,
    empty_routing,
)
from network.render.readback.words import Lines, every, get, get_int, set_lines, under


def _ike(pol: Lines, props: dict[str, Lines]) -> tuple[set[Suite], int | None]:
    """The IKE suites of an IKE policy's proposals, and their lifetime if they share one."""
    enc_of, auth_of = cr.reverse(cr.JUNOS_ENC), cr.reverse(cr.JUNOS_IKE_AUTH)
    dh_of = cr.reverse(cr.JUNOS_DH)
    suites: set[Suite] = set()
    lives = set()
    for name in every(pol, "proposals"):
        prop = props[name]
        enc = get(prop, "encryption-algorithm") or ""
        auth = get(prop, "authentication-algorithm") or ""
        suites.add(
            (enc_of.get(enc, enc), auth_of.get(auth, auth), dh_of.get(get(prop, "dh-group") or ""))
        )
        lives.add(int(get(prop, "lifetime-seconds") or 0))
    return suites, lives.pop() if len(lives) == 1 else None


def _esp(pol: Lines, props: dict[str, Lines]) -> tuple[set[Suite], int | None]:
    """The ESP suites of an IPsec policy (its PFS group on each), and their lifetime."""
    enc_of, auth_of = cr.reverse(cr.JUNOS_ENC), cr.reverse(cr.JUNOS_ESP_AUTH)
    pfs = cr.reverse(cr.JUNOS_DH).get(get(pol, "perfect-forward-secrecy", "keys") or "")
    suites: set[Suite] = set()
    lives = set()
    for name in every(pol, "proposals"):
        prop = props[name]
        enc = get(prop, "encryption-algorithm") or ""
        auth = get(prop, "authentication-algorithm")
        suites.add((enc_of.get(enc, enc), auth_of.get(auth, auth) if auth else None, pfs))
        lives.add(int(get(prop, "lifetime-seconds") or 0))
    return suites, lives.pop() if len(lives) == 1 else None


def junos_facts(files: dict[str, str]) -> ConfigFacts:
    """Facts from Junos set commands: each IPsec VPN, its gateway, policies and st0 unit."""
    lines = set_lines(files["router.set"])
    ike_props = under(lines, "security", "ike", "proposal")
    ike_pols = under(lines, "security", "ike", "policy")
    gateways = under(lines, "security", "ike", "gateway")
    esp_props = under(lines, "security", "ipsec", "proposal")
    esp_pols = under(lines, "security", "ipsec", "policy")
    units = under(lines, "interfaces", "st0", "unit")
    routing = junos_routing(lines)
    mss = get_int(lines, "security", "flow", "tcp-mss", "ipsec-vpn", "mss")
    facts = []
    for vpn in under(lines, "security", "ipsec", "vpn").values():
        gw = gateways[get(vpn, "ike", "gateway") or ""]
        pol = ike_pols[get(gw, "ike-policy") or ""]
        ike, ike_life = _ike(pol, ike_props)
        esp, esp_life = _esp(esp_pols[get(vpn, "ike", "ipsec-policy") or ""], esp_props)
        iface = get(vpn, "bind-interface") or ""
        unit = units.get(iface.removeprefix("st0."), [])
        interval = get_int(gw, "dead-peer-detection", "interval")
        threshold = get_int(gw, "dead-peer-detection", "threshold")
        version = get(gw, "version") or ""
        f = TunnelFacts(
            remote=get(gw, "address") or "",
            local=get(gw, "local-identity", "inet"),
            psk=get(pol, "pre-shared-key", "ascii-text"),
            ike_version=int(version[1]) if version[:1] == "v" else None,
            ike=ike,
            esp=esp,
            ike_lifetime=ike_life,
            esp_lifetime=esp_life,
            dpd_interval=interval,
            dpd_timeout=interval * threshold if interval and threshold else None,
            df_bit=get(vpn, "df-bit") or "clear",  # Junos's default
            address=get(unit, "family", "inet", "address"),
            mtu=get_int(unit, "family", "inet", "mtu"),
            mss=mss,
        )
        apply_bgp(f, routing, iface)
        facts.append(f)
    return ConfigFacts(
        facts,
        discard=routing["discard"],
        load_balanced=routing["load_balanced"],
        policies=junos_policies(lines),
        vpn_zone_interfaces=junos_zone_interfaces(lines),
    )


class _Policies:
    """Junos policy-options: prefix lists and policy statements."""

    def __init__(self, lines: Lines):
        self.lists = {
            name: {" ".join(w) for w in rest}
            for name, rest in under(lines, "policy-options", "prefix-list").items()
        }
        self.statements = under(lines, "policy-options", "policy-statement")

    def then(self, policy: str | None, action: str) -> str | None:
        """An accepting term's `then <action>` value."""
        terms = under(self.statements.get(policy or "", []), "term")
        return next(
            (
                v
                for rest in terms.values()
                if ["then", "accept"] in rest
                for v in every(rest, "then", action)
            ),
            None,
        )

    def accepted(self, policy: str | None) -> set[str] | None:
        """The prefixes a term-based policy accepts: its accepting terms' prefix lists."""
        if policy is None or policy not in self.statements:
            return None
        found: set[str] = set()
        for rest in under(self.statements[policy], "term").values():
            if ["then", "accept"] not in rest:
                continue
            for name in every(rest, "from", "prefix-list"):
                found |= self.lists.get(name, set())
            if not every(rest, "from", "prefix-list"):
                found.add("(anything)")
        return found

    def load_balanced(self, name: str) -> set[str]:
        """What a forwarding-table export policy load-balances (see ConfigFacts)."""
        body = self.statements.get(name, [])
        balanced: set[str] = set()
        if any(w[:1] == ["then"] and "load-balance" in w for w in body):
            balanced.add("(anything)")  # a policy without terms matches every route
        for rest in under(body, "term").values():
            if not any(w[:2] == ["then", "load-balance"] for w in rest):
                continue
            matched = set().union(
                *(self.lists.get(n, set()) for n in every(rest, "from", "prefix-list"))
            )
            if not any(w[:1] == ["from"] for w in rest):
                balanced.add("(anything)")
            elif "bgp" not in every(rest, "from", "protocol"):
                balanced |= {f"(any protocol) {p}" for p in matched}
            else:
                balanced |= matched
        return balanced


def _neighbor(group: Lines, rest: Lines, peers: int, pol: _Policies) -> dict[str, Any]:
    hold = get_int(group, "hold-time")
    limit = ("family", "inet", "unicast", "prefix-limit")
    idle = get(rest, *limit, "teardown", "idle-timeout")
    lp = pol.then(get(rest, "import"), "local-preference")
    return {
        "remote_as": get_int(group, "peer-as"),
        "hold": hold,
        "keepalive": hold // 3 if hold else None,  # Junos: a third of hold-time
        "max_prefix": get_int(rest, *limit, "maximum"),
        "multipath": peers if ["multipath"] in group else None,
        "max_prefix_restart": int(idle) if idle and idle.isdigit() else None,
        "local_pref": int(lp) if lp else None,
        "prepend": [
            int(x) for x in (pol.then(get(rest, "export"), "as-path-prepend") or "").split()
        ],
    }


def junos_routing(lines: Lines) -> dict[str, Any]:
    """Junos BGP groups, import/export policies and static routes, in linux.frr()'s shape."""
    out = empty_routing()
    out["asn"] = get_int(lines, "routing-options", "autonomous-system")
    pol = _Policies(lines)
    for group in under(lines, "protocols", "bgp", "group").values():
        peers = under(group, "neighbor")
        for peer, rest in peers.items():
            out["neighbors"][peer] = {
                **_neighbor(group, rest, len(peers), pol),
                "prefix_in": f"{peer}/in",
                "prefix_out": f"{peer}/out",
            }
            out["lists"][f"{peer}/in"] = pol.accepted(get(rest, "import"))
            out["lists"][f"{peer}/out"] = pol.accepted(get(rest, "export"))
    for prefix, rest in under(lines, "routing-options", "static", "route").items():
        for w in rest:
            if w[:1] == ["qualified-next-hop"] and len(w) >= 4 and w[2] == "preference":
                out["static"].append((prefix, "", w[1], int(w[3]), 0))
        if ["discard"] in rest:
            out["discard"][prefix] = int(get(rest, "preference") or 5)  # Junos static: 5
    out["load_balanced"] = set().union(
        *(
            pol.load_balanced(n)
            for n in every(lines, "routing-options", "forwarding-table", "export")
        )
    )
    return out


def _addresses(lines: Lines) -> dict[str, set[str]]:
    """Global address-book names -> the prefixes they stand for (sets resolved)."""
    book = ("security", "address-book", "global")
    out = {name: {" ".join(rest[0])} for name, rest in under(lines, *book, "address").items()}
    for name, rest in under(lines, *book, "address-set").items():
        found: set[str] = set()
        for w in rest:
            found |= out.get(w[1], {f"(unknown {w[1]})"}) if len(w) == 2 else set()
        out[name] = found
    return out


def _resolve(names: list[str], book: dict[str, set[str]]) -> frozenset[str]:
    """Policy match names as prefixes; `any` (and an unknown name) stay as they are."""
    return frozenset().union(*(book.get(n, {n}) for n in names))


def _action(body: Lines) -> str:
    """permit, deny or reject (`then log ...` and the like are no action); none if unset."""
    actions = {w[1] for w in body if w[:1] == ["then"] and len(w) > 1} & {
        "permit",
        "deny",
        "reject",
    }
    if len(actions) > 1:
        return "conflicting: " + " ".join(sorted(actions))
    return actions.pop() if actions else "none"


def junos_policies(lines: Lines) -> list[Policy]:
    """Security policies into or out of the VPN zone (the other zone being the LAN's)."""
    book = _addresses(lines)
    out = []
    for src, rest in under(lines, "security", "policies", "from-zone").items():
        for dst, pair in under(rest, "to-zone").items():
            if JUNOS_VPN_ZONE not in (src, dst) or src == dst:
                continue
            for name, body in under(pair, "policy").items():
                out.append(
                    Policy(
                        name=name,
                        direction="out" if dst == JUNOS_VPN_ZONE else "in",
                        sources=_resolve(every(body, "match", "source-address"), book),
                        destinations=_resolve(every(body, "match", "destination-address"), book),
                        action=_action(body),
                    )
                )
    return out


def junos_zone_interfaces(lines: Lines) -> frozenset[str]:
    """The interfaces of the VPN zone."""
    zone = under(lines, "security", "zones", "security-zone").get(JUNOS_VPN_ZONE, [])
    return frozenset(w[1] for w in zone if w[:1] == ["interfaces"] and len(w) > 1)
