"""One typed picture of a router's live state, whatever its platform (pure).

Every platform reader (network/devices/readers.py) turns its device's `show`
output into `RouterFacts`; `check_facts` compares those facts with what the
stack outputs say the router should have, so the same checks hold for
strongSwan + FRR, IOS-XE, Junos, VyOS and FortiOS alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from network.contract import Router


@dataclass(frozen=True)
class TunnelFacts:
    """The SAs a router holds towards one AWS outside address."""

    peer: str  # the AWS end's outside address
    ike_up: bool  # an IKE SA is established
    ipsec_up: bool  # a child (IPsec) SA pair is installed
    name: str = ""  # the device's own name for it (Tunnel1281, aws1281, st0 index...)
    detail: str = ""  # the device's state words, for the report


@dataclass(frozen=True)
class NeighbourFacts:
    """One BGP neighbour as the router sees it."""

    address: str
    state: str  # "Established", or the device's state word (Idle, Active, Connect...)
    remote_as: int | None = None
    received: int | None = None  # prefixes accepted from it (None: not read)
    advertised: int | None = None  # prefixes sent to it (None: not read)

    @property
    def established(self) -> bool:
        return self.state == "Established"


@dataclass(frozen=True)
class RouterFacts:
    """Everything read from one router; `errors` says what could not be read, and why."""

    router: str
    platform: str
    tunnels: dict[str, TunnelFacts] = field(default_factory=dict)  # by peer address
    neighbours: dict[str, NeighbourFacts] = field(default_factory=dict)  # by address
    errors: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "platform": self.platform,
            "tunnels": {
                k: {
                    "peer": t.peer,
                    "name": t.name,
                    "ike": t.ike_up,
                    "ipsec": t.ipsec_up,
                    "detail": t.detail,
                }
                for k, t in sorted(self.tunnels.items())
            },
            "neighbours": {
                k: {
                    "state": n.state,
                    "remoteAs": n.remote_as,
                    "received": n.received,
                    "advertised": n.advertised,
                }
                for k, n in sorted(self.neighbours.items())
            },
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class Finding:
    """One check's result for one tunnel or neighbour of a router."""

    router: str
    area: str  # tunnels | bgp | routes | session
    subject: str  # "<connection>/<n>" or the router itself
    ok: bool
    message: str
    what: str = ""  # routes: "received" or "advertised"


# A reading error's prefix (network/devices/readers.py) -> the areas it leaves unread.
_UNREAD: dict[str, tuple[str, ...]] = {
    "tunnels not read": ("tunnels",),
    "BGP not read": ("bgp", "routes"),
    "advertised routes not read": ("routes",),
}


def verdict(findings: list[Finding], area: str, subjects: list[str], what: str = "") -> str | None:
    """None when every one of `subjects` has findings of `area` (of kind `what`) and
    all of them hold; else one line saying why not: the reading error that left the
    area unread (what follows from it is not repeated), or each failed finding and
    each subject with none."""
    errors = [
        f.message
        for f in findings
        if f.area == "session"
        and any(f.message.startswith(p) and area in areas for p, areas in _UNREAD.items())
    ]
    bad: list[str] = []
    for subject in subjects:
        mine = [
            f
            for f in findings
            if f.area == area and f.subject == subject and (not what or f.what == what)
        ]
        bad += [f"{subject}: {f.message}" for f in mine if not f.ok]
        if not mine and not errors:
            bad.append(f"{subject}: {' '.join(filter(None, (area, what)))} not read")
    return "; ".join(errors or bad) or None


def check_facts(router: Router, facts: RouterFacts) -> list[Finding]:
    """The planned state of `router` against what it reports: one Finding per
    tunnel (IKE and IPsec SAs), per BGP neighbour (Established), and per
    neighbour's prefix counts (received = the connection's accept list,
    advertised = its announce list). Reading errors become failed findings."""
    out: list[Finding] = []
    key = router.key
    for err in facts.errors:
        out.append(Finding(key, "session", key, False, err))
    for c in router.connections:
        for t in c.tunnels:
            subject = f"{c.name}/{t.number}"
            out.append(_tunnel_finding(key, subject, t.aws_outside_ip, facts))
            if c.routing != "bgp":
                continue
            n = facts.neighbours.get(t.aws_inside_ip)
            if n is None:
                out.append(
                    Finding(
                        key,
                        "bgp",
                        subject,
                        False,
                        f"no BGP neighbour {t.aws_inside_ip} in the device's summary "
                        "(down, or not configured)",
                    )
                )
                continue
            out.append(
                Finding(
                    key,
                    "bgp",
                    subject,
                    n.established,
                    f"neighbour {n.address} {n.state}",
                )
            )
            out += _prefix_findings(key, subject, n, len(c.accept), len(c.announce))
    return out


def _tunnel_finding(key: str, subject: str, peer: str, facts: RouterFacts) -> Finding:
    t = facts.tunnels.get(peer)
    if t is None:
        return Finding(key, "tunnels", subject, False, f"no SA towards {peer}")
    if t.ike_up and t.ipsec_up:
        return Finding(key, "tunnels", subject, True, f"IKE and IPsec SAs up towards {peer}")
    missing = [w for w, up in (("IKE", t.ike_up), ("IPsec", t.ipsec_up)) if not up]
    return Finding(
        key,
        "tunnels",
        subject,
        False,
        f"{' and '.join(missing)} SA not up towards {peer} ({t.detail or 'down'})",
    )


def _prefix_findings(
    key: str, subject: str, n: NeighbourFacts, accept: int, announce: int
) -> list[Finding]:
    out = []
    for what, got, want in (
        ("received", n.received, accept),
        ("advertised", n.advertised, announce),
    ):
        way = "from" if what == "received" else "to"
        if got is None:
            # A neighbour that is not Established has neither: that is a failure too,
            # never a check left out (a session down receives nothing).
            if n.established:
                continue
            message = f"prefixes {what} {way} {n.address} not read: neighbour {n.state}"
            out.append(Finding(key, "routes", subject, False, message, what))
            continue
        out.append(
            Finding(
                key,
                "routes",
                subject,
                got == want,
                f"{got} prefixes {what} {way} {n.address}, planned {want}",
                what,
            )
        )
    return out
