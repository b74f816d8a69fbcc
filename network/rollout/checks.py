"""The checks a rollout step names: IPsec, BGP, prefixes, the drain, a probe (pure).

Each check is data (`model.Check`): the router, the tunnel key, what to expect
(neighbour address, ASNs, prefixes, AS-path length) and when (after the drain,
after the change, after the restore), so that an executor can run it and a
person can read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from network.render.drain import DRAINED_PREPEND
from network.render.names import tunnel_key
from network.rollout.model import Check, Impact

Snapshot = Mapping[str, Any]


def keys(s: Snapshot, conns: Iterable[str], tunnel: int = 0) -> frozenset[str]:
    """The tunnel keys of connections (one tunnel of each when `tunnel`)."""
    return frozenset(
        tunnel_key(c, int(n))
        for c in conns
        if c in s["connections"]
        for n in s["connections"][c]["tunnels"]
        if not tunnel or int(n) == tunnel
    )


def carriers(s: Snapshot, drained: frozenset[str], conns: Iterable[str]) -> list[str]:
    """Tunnels that still reach the gateways of `conns` from the same datacenters while
    `drained` is drained: the other tunnel, or another router's connection."""
    want = {
        (s["connections"][c]["datacenter"], s["connections"][c]["gateway"])
        for c in conns
        if c in s["connections"]
    }
    out = []
    for name, c in sorted(s["connections"].items()):
        if (c["datacenter"], c["gateway"]) in want:
            out += [
                k for n in sorted(c["tunnels"]) if (k := tunnel_key(name, int(n))) not in drained
            ]
    return out


def tunnel_checks(s: Snapshot, conn: str, n: int, when: str = "after-change") -> list[Check]:
    """IPsec, BGP and prefixes of one tunnel, named concretely."""
    c = s["connections"][conn]
    t = c["tunnels"][str(n)]
    key, router = tunnel_key(conn, n), c["router"]
    out = [
        Check(
            "ipsec-sa",
            router,
            f"{router}: IKE SA and CHILD SA of {key} established (inside {t['insideCidr']})",
            key,
            {"ike": "ESTABLISHED", "child": "INSTALLED", "insideCidr": t["insideCidr"]},
            when,
        )
    ]
    if c["routing"] == "bgp":
        nb = t["awsInside"]
        out += [
            Check(
                "bgp-established",
                router,
                f"{router}: BGP with {nb} (AS {c['awsAsn']}) Established, local AS "
                f"{c['customerAsn']}",
                key,
                {"neighbor": nb, "remoteAs": c["awsAsn"], "localAs": c["customerAsn"]},
                when,
            ),
            Check(
                "prefixes-received",
                router,
                f"{router}: {nb} sends {', '.join(c['accept'])}",
                key,
                {"neighbor": nb, "prefixes": list(c["accept"])},
                when,
            ),
            Check(
                "prefixes-advertised",
                router,
                f"{router}: {nb} is sent {', '.join(c['announce'])}",
                key,
                {"neighbor": nb, "prefixes": list(c["announce"])},
                when,
            ),
        ]
    return out


def drain_checks(s: Snapshot, drained: frozenset[str], conns: Iterable[str]) -> list[Check]:
    """After a drain: the carriers are up and no best route uses a drained tunnel."""
    out: list[Check] = []
    for k in carriers(s, drained, conns):
        conn, n = k.rsplit("-", 1)
        out += [
            x
            for x in tunnel_checks(s, conn, int(n), "after-drain")
            if x.kind != "prefixes-advertised"
        ]
    for k in sorted(drained):
        conn, n = k.rsplit("-", 1)
        c = s["connections"].get(conn)
        if c is None:
            continue
        t = c["tunnels"][n]
        via = t["awsInside"]
        out.append(
            Check(
                "route-avoids",
                c["router"],
                f"{c['router']}: the best routes to {', '.join(c['accept'])} avoid {k} "
                f"(next hop {via})",
                k,
                {"nextHop": via, "prefixes": list(c["accept"])},
                "after-drain",
            )
        )
        if c["routing"] == "bgp":  # what AWS is told: the drained path is the longest
            length = 1 + DRAINED_PREPEND
            out.append(
                Check(
                    "advertised-prepend",
                    c["router"],
                    f"{c['router']}: {via} is sent {', '.join(c['announce'])} with AS path "
                    f"{' '.join([str(c['customerAsn'])] * length)}",
                    k,
                    {"neighbor": via, "prefixes": list(c["announce"]), "asPathLength": length},
                    "after-drain",
                )
            )
    return out


def static_caveat(s: Snapshot, conns: Iterable[str], impact: Impact) -> Impact:
    """Static routing steers only the datacenter's side: say what AWS's side may lose."""
    static = sorted(c for c in conns if s["connections"].get(c, {}).get("routing") == "static")
    if impact.loss != "0" or not static:
        return impact
    return Impact(
        "aws-side",
        impact.text + f"; datacenter to AWS: 0 loss (route distance); AWS to datacenter over "
        f"{', '.join(static)}: static routing gives the router no way to steer AWS, which "
        "leaves the tunnel only when it takes it down itself",
        "what AWS has in flight on the tunnel when it goes down (AWS gives no figure); with "
        "BGP the drain moves both directions first",
    )


def probe(s: Snapshot, conns: Iterable[str], when: str = "after-restore") -> list[Check]:
    """A probe from each datacenter of `conns` to each AWS prefix it reaches over them."""
    out = []
    seen = set()
    for name in conns:
        c = s["connections"].get(name)
        if c is None:
            continue
        dc = s["datacenters"][c["datacenter"]]
        for dst in c["accept"]:
            if (c["datacenter"], dst) in seen or not dc["prefixes"]:
                continue
            seen.add((c["datacenter"], dst))
            out.append(
                Check(
                    "probe",
                    c["router"],
                    f"probe from {c['datacenter']} ({dc['prefixes'][0]}) to {dst}: 0 loss",
                    expect={"from": dc["prefixes"][0], "to": dst, "loss": 0},
                    when=when,
                )
            )
    return out
