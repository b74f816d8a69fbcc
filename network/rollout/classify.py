"""Sort the difference between the applied plan and the edited one into change classes (pure).

Both sides are plan snapshots (`network.review.snapshot`). The resource diff of
`network.review.diff` decides what AWS replaces (`resource_changes`, read for
the installed provider), so a connection that pulumi-aws would replace is a
`connection-replace` whatever made it so, and an inside CIDR that the provider
changes in place is an `inside-cidr` change, one per tunnel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from network.review.diff import ResourceChange
from network.rollout.model import Change

Snapshot = Mapping[str, Any]


def _routers(s: Snapshot) -> dict[str, str]:
    """Router key -> its datacenter."""
    return {key: dc for dc, d in s["datacenters"].items() for key in d["routers"]}


def _vgw_vpc(s: Snapshot, gateway: str) -> str | None:
    gw = s["vpnGateways"].get(gateway)
    return str(gw["vpc"]) if gw else None


def _owned(s: Snapshot, conns: Iterable[str], vpcs: set[str], routers: set[str]) -> set[str]:
    """Connections that go with an added/removed VPC (on its VGW) or router."""
    out = set()
    for name in conns:
        c = s["connections"][name]
        if c["router"] in routers or _vgw_vpc(s, c["gateway"]) in vpcs:
            out.add(name)
    return out


def _of(s: Snapshot, key: str) -> tuple[str, ...]:
    return tuple(sorted(n for n, c in s["connections"].items() if c["router"] == key))


def classify(old: Snapshot, new: Snapshot, resources: list[ResourceChange]) -> list[Change]:
    """Every change between the applied snapshot `old` and the edited `new`, classified."""
    out: list[Change] = []
    oc, nc = old["connections"], new["connections"]
    added_vpcs = set(new["vpcs"]) - set(old["vpcs"])
    removed_vpcs = set(old["vpcs"]) - set(new["vpcs"])
    ro, rn = _routers(old), _routers(new)
    added_routers, removed_routers = set(rn) - set(ro), set(ro) - set(rn)
    new_conns, gone_conns = set(nc) - set(oc), set(oc) - set(nc)
    owned_new = _owned(new, new_conns, added_vpcs, added_routers)
    owned_gone = _owned(old, gone_conns, removed_vpcs, removed_routers)
    for v in sorted(removed_vpcs):
        conns = sorted(_owned(old, gone_conns, {v}, set()))
        out.append(Change("vpc-remove", v, tuple(conns), _routers_of(old, conns)))
    for v in sorted(added_vpcs):
        conns = sorted(_owned(new, new_conns, {v}, set()))
        detail = (f"vpc {v} {new['vpcs'][v]['cidr']} in {new['vpcs'][v]['region']}",)
        out.append(Change("vpc-add", v, tuple(conns), _routers_of(new, conns), detail=detail))
    for key in sorted(added_routers):
        detail = (f"router {key} at {new['datacenters'][rn[key]]['routers'][key]['publicIp']}",)
        out.append(Change("router-add", key, _of(new, key), (key,), detail=detail))
    for name in sorted(new_conns - owned_new):
        out.append(Change("connection-add", name, (name,), (nc[name]["router"],)))
    out += _datacenter_changes(old, new, ro, rn)
    replaced = {
        r.name.removesuffix("-vpn")
        for r in resources
        if r.kind == "vpn" and r.action == "replace" and not _only_inside(r)
    }
    for name in sorted(set(oc) & set(nc)):
        out += _connection_changes(name, oc[name], nc[name], name in replaced)
    for name in sorted(gone_conns - owned_gone):
        out.append(Change("connection-remove", name, (name,), (oc[name]["router"],)))
    for key in sorted(removed_routers):
        out.append(Change("router-remove", key, _of(old, key), (key,)))
    return sorted(out, key=lambda c: (c.rank, c.subject))


def _routers_of(s: Snapshot, conns: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({s["connections"][c]["router"] for c in conns}))


def _only_inside(r: ResourceChange) -> bool:
    """A replacement caused only by inside CIDRs (older providers): avoidable in place."""
    reasons = r.reasons
    return bool(reasons) and all(
        p.prop in ("tunnel1InsideCidr", "tunnel2InsideCidr") and not p.via for p in reasons
    )


def _datacenter_changes(
    old: Snapshot, new: Snapshot, ro: dict[str, str], rn: dict[str, str]
) -> list[Change]:
    out = []
    for dc in sorted(set(old["datacenters"]) & set(new["datacenters"])):
        o, n = old["datacenters"][dc], new["datacenters"][dc]
        keys = tuple(sorted(set(o["routers"]) & set(n["routers"])))
        if o["prefixes"] != n["prefixes"]:
            added = [p for p in n["prefixes"] if p not in o["prefixes"]]
            gone = [p for p in o["prefixes"] if p not in n["prefixes"]]
            detail = tuple(f"announce {p}" for p in added) + tuple(f"withdraw {p}" for p in gone)
            conns = tuple(sorted(c for c, x in new["connections"].items() if x["datacenter"] == dc))
            out.append(Change("dc-prefix", dc, conns, keys, detail=detail))
        if o["asn"] != n["asn"]:
            conns = tuple(sorted(c for c, x in new["connections"].items() if x["datacenter"] == dc))
            out.append(
                Change("customer-asn", dc, conns, keys, detail=(f"AS {o['asn']} -> {n['asn']}",))
            )
        for key in keys:
            a, b = o["routers"][key]["publicIp"], n["routers"][key]["publicIp"]
            if a != b and key in ro and key in rn:
                out.append(Change("router-ip", key, _of(new, key), (key,), detail=(f"{a} -> {b}",)))
    return out


def _connection_changes(
    name: str, o: Mapping[str, Any], n: Mapping[str, Any], replaced: bool
) -> list[Change]:
    routers = tuple(sorted({o["router"], n["router"]}))
    if replaced:
        why = [
            f"{k}: {o.get(k, False)} -> {n.get(k, False)}"
            for k in ("routing", "acceleration", "router", "gatewayType")
            if o.get(k, False) != n.get(k, False)
        ]
        return [Change("connection-replace", name, (name,), routers, detail=tuple(why))]
    out = []
    if o["crypto"] != n["crypto"]:
        keys = sorted(
            k
            for k in set(o["crypto"]) | set(n["crypto"])
            if o["crypto"].get(k) != n["crypto"].get(k)
        )
        out.append(Change("tunnel-options", name, (name,), routers, detail=tuple(keys)))
    for t in sorted(set(o["tunnels"]) & set(n["tunnels"])):
        a, b = o["tunnels"][t], n["tunnels"][t]
        if a["insideCidr"] != b["insideCidr"]:
            out.append(
                Change(
                    "inside-cidr",
                    f"{name} tunnel {t}",
                    (name,),
                    routers,
                    int(t),
                    (f"{a['insideCidr']} -> {b['insideCidr']}",),
                )
            )
        if a["psk"] != b["psk"]:
            out.append(
                Change(
                    "psk",
                    f"{name} tunnel {t}",
                    (name,),
                    routers,
                    int(t),
                    (f"key from {a['psk']} -> {b['psk']}",),
                )
            )
    if o["gateway"] != n["gateway"]:
        out.append(
            Change(
                "gateway-move",
                name,
                (name,),
                routers,
                detail=(
                    f"{o['gateway']} ({o['gatewayType']}) -> {n['gateway']} ({n['gatewayType']})",
                ),
            )
        )
    return out
