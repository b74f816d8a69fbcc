"""Intermediate stack configs: the edited config with later changes put back (pure).

A rollout applies one change class at a time. Step i's stack config is the
edited `crossnet:network` with every change of the steps after i reverted to
what the applied plan snapshot records; the last step's config is the edited
file itself. Reverting writes the old value explicitly (an inside CIDR is
pinned, a crypto record spelled out in full), which plans to the same snapshot.
The planner checks that: with every change reverted, the plan is the applied one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from network.rollout.model import Change

NETWORK_KEY = "crossnet:network"
Snapshot = Mapping[str, Any]


def _router_ref(snap: Mapping[str, Any], dc: str, key: str) -> str:
    return f"{dc}/{snap['datacenters'][dc]['routers'][key]['name']}"


def connection_entry(snap: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A connection's stack config entry that plans to the snapshot's connection."""
    c = snap["connections"][name]
    out: dict[str, Any] = {
        "router": _router_ref(snap, c["datacenter"], c["router"]),
        "gateway": c["gateway"],
        "routing": c["routing"],
        "tunnelOptions": copy.deepcopy(c["crypto"]),
    }
    for n, t in sorted(c["tunnels"].items()):
        entry: dict[str, Any] = {"insideCidr": t["insideCidr"]}
        if str(t["psk"]).startswith("config:"):
            entry["presharedKeySecret"] = _secret_name(str(t["psk"]))
        out[f"tunnel{n}"] = entry
    return out


def _secret_name(source: str) -> str:
    key = source.split(":", 1)[1]
    return key.split(":", 1)[1] if key.startswith("crossnet:") else key


def ingress_rules(flows: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """Ingress rules from the snapshot's flows ("tcp 443 from 10.128.0.0/16"), per source."""
    rules: dict[tuple[str, str], dict[str, Any]] = {}
    for tier, items in sorted(flows.items()):
        for flow in items:
            proto, port, _, src = flow.split(" ")
            rule = rules.setdefault((src, tier), {"from": [src], "tiers": [tier]})
            if proto == "icmp":
                rule["icmp"] = True
            else:
                rule.setdefault(proto, []).append(int(port) if port.isdigit() else port)
    return list(rules.values())


def _revert_vpc_remove(net: dict[str, Any], old: Mapping[str, Any], vpc: str) -> None:
    v = old["vpcs"][vpc]
    tiers: dict[str, Any] = {t: {"subnets": {}} for t in v["tiers"]}
    for key, cidr in v["subnets"].items():
        tier, az = key.split("/")
        tiers[tier]["subnets"][az] = cidr
    entry: dict[str, Any] = {
        "region": v["region"],
        "cidr": v["cidr"],
        "azs": list(v["azs"]),
        "tiers": tiers,
    }
    rules = ingress_rules(v.get("ingress", {}))
    if rules:
        entry["ingress"] = rules
    net.setdefault("vpcs", {})[vpc] = entry
    for g, gw in old["vpnGateways"].items():
        if gw["vpc"] == vpc:
            net.setdefault("vpnGateways", {})[g] = {"vpc": vpc, "asn": gw["asn"]}
    for t, tgw in old["transitGateways"].items():
        if vpc in tgw["attachments"] and t in net.get("transitGateways", {}):
            body = net["transitGateways"][t]
            body.setdefault("attachments", {})[vpc] = {"tier": tgw["attachments"][vpc]}
            for table, rt in tgw["routeTables"].items():
                have = body.get("routeTables", {}).get(table)
                for kind in ("associations", "propagations"):
                    ref = f"vpc:{vpc}"
                    if have is not None and ref in rt[kind] and ref not in have.get(kind, []):
                        _put_back(have.setdefault(kind, []), rt[kind], ref)
    for p, peering in old["peerings"].items():
        if vpc in (peering["requester"], peering["accepter"]):
            net.setdefault("peerings", {})[p] = {
                "requester": peering["requester"],
                "accepter": peering["accepter"],
                "dnsResolution": peering["dnsResolution"],
            }


def _put_back(entries: list[str], applied: list[str], ref: str) -> None:
    """`ref` into `entries` where the applied list had it: after the entry before it
    there (an order changed is a route table changed, and the step would not be the
    applied plan rebuilt)."""
    before = [x for x in applied[: applied.index(ref)] if x in entries]
    entries.insert(entries.index(before[-1]) + 1 if before else 0, ref)


def _drop_vpc(net: dict[str, Any], new: Mapping[str, Any], vpc: str) -> None:
    net.get("vpcs", {}).pop(vpc, None)
    for g, gw in new["vpnGateways"].items():
        if gw["vpc"] == vpc:
            net.get("vpnGateways", {}).pop(g, None)
    for body in net.get("transitGateways", {}).values():
        body.get("attachments", {}).pop(vpc, None)
        for rt in body.get("routeTables", {}).values():
            for kind in ("associations", "propagations"):
                if f"vpc:{vpc}" in rt.get(kind, []):
                    rt[kind] = [x for x in rt[kind] if x != f"vpc:{vpc}"]
    for p, peering in new["peerings"].items():
        if vpc in (peering["requester"], peering["accepter"]):
            net.get("peerings", {}).pop(p, None)


def _tunnel_body(net: dict[str, Any], conn: str, n: int) -> dict[str, Any]:
    body = net["connections"][conn]
    t = body.get(f"tunnel{n}")
    if isinstance(t, dict):
        return t
    fresh: dict[str, Any] = {}
    body[f"tunnel{n}"] = fresh
    return fresh


def _revert_connection_fields(net: dict[str, Any], old: Mapping[str, Any], ch: Change) -> None:
    conn = ch.connections[0]
    o = old["connections"][conn]
    if ch.kind == "psk":
        t = _tunnel_body(net, conn, ch.tunnel)
        src = str(o["tunnels"][str(ch.tunnel)]["psk"])
        if src.startswith("config:"):
            t["presharedKeySecret"] = _secret_name(src)
        else:
            t.pop("presharedKeySecret", None)
    elif ch.kind == "inside-cidr":
        _tunnel_body(net, conn, ch.tunnel)["insideCidr"] = o["tunnels"][str(ch.tunnel)][
            "insideCidr"
        ]
    elif ch.kind == "tunnel-options":
        net["connections"][conn]["tunnelOptions"] = copy.deepcopy(o["crypto"])
    elif ch.kind == "gateway-move":
        net["connections"][conn]["gateway"] = o["gateway"]


def _revert_added(net: dict[str, Any], old: Snapshot, new: Snapshot, ch: Change) -> None:
    if ch.kind == "vpc-add":
        _drop_vpc(net, new, ch.subject)
    for c in ch.connections:
        net.get("connections", {}).pop(c, None)
    if ch.kind == "router-add":
        dc = new_router_dc(new, ch.subject)
        name = new["datacenters"][dc]["routers"][ch.subject]["name"]
        net["datacenters"][dc]["routers"].pop(name, None)


def _revert_removed(net: dict[str, Any], old: Snapshot, new: Snapshot, ch: Change) -> None:
    if ch.kind == "vpc-remove":
        _revert_vpc_remove(net, old, ch.subject)
    if ch.kind == "router-remove":
        dc = new_router_dc(old, ch.subject)
        d = old["datacenters"][dc]
        body = net.setdefault("datacenters", {}).setdefault(
            dc, {"asn": d["asn"], "prefixes": list(d["prefixes"]), "routers": {}}
        )
        r = d["routers"][ch.subject]
        body.setdefault("routers", {})[r["name"]] = {
            "publicIp": r["publicIp"],
            "platform": r["platform"],
        }
    for c in ch.connections:
        net.setdefault("connections", {})[c] = connection_entry(old, c)


def _revert_datacenter(net: dict[str, Any], old: Snapshot, new: Snapshot, ch: Change) -> None:
    if ch.kind == "dc-prefix":
        from network.rollout.prefix_rules import revert_prefix_rules

        net["datacenters"][ch.subject]["prefixes"] = list(
            old["datacenters"][ch.subject]["prefixes"]
        )
        added = [d.split(" ", 1)[1] for d in ch.detail if d.startswith("announce ")]
        gone = [d.split(" ", 1)[1] for d in ch.detail if d.startswith("withdraw ")]
        revert_prefix_rules(net, old, added, gone)
    elif ch.kind == "customer-asn":
        net["datacenters"][ch.subject]["asn"] = old["datacenters"][ch.subject]["asn"]
    else:  # router-ip
        dc = new_router_dc(old, ch.subject)
        r = old["datacenters"][dc]["routers"][ch.subject]
        net["datacenters"][dc]["routers"][r["name"]]["publicIp"] = r["publicIp"]


def _revert_replaced(net: dict[str, Any], old: Snapshot, new: Snapshot, ch: Change) -> None:
    net["connections"][ch.subject] = connection_entry(old, ch.subject)


def _revert_fields(net: dict[str, Any], old: Snapshot, new: Snapshot, ch: Change) -> None:
    _revert_connection_fields(net, old, ch)


_REVERT: dict[str, Callable[[dict[str, Any], Snapshot, Snapshot, Change], None]] = {
    "vpc-add": _revert_added,
    "router-add": _revert_added,
    "connection-add": _revert_added,
    "vpc-remove": _revert_removed,
    "router-remove": _revert_removed,
    "connection-remove": _revert_removed,
    "dc-prefix": _revert_datacenter,
    "customer-asn": _revert_datacenter,
    "router-ip": _revert_datacenter,
    "connection-replace": _revert_replaced,
    "psk": _revert_fields,
    "inside-cidr": _revert_fields,
    "tunnel-options": _revert_fields,
    "gateway-move": _revert_fields,
}


def revert(net: dict[str, Any], old: Snapshot, new: Snapshot, ch: Change) -> None:
    """Put `ch` back to what the applied snapshot `old` records, in place."""
    _REVERT[ch.kind](net, old, new, ch)


def new_router_dc(snap: Mapping[str, Any], key: str) -> str:
    """The datacenter holding router `key` in a snapshot."""
    return str(next(dc for dc, d in snap["datacenters"].items() if key in d["routers"]))


def step_config(
    config: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    later: list[Change],
) -> dict[str, Any]:
    """The edited stack config with every change in `later` reverted (a new mapping)."""
    out = copy.deepcopy(dict(config))
    net = out.get(NETWORK_KEY)
    if not isinstance(net, dict):
        return out
    for ch in reversed(later):
        revert(net, old, new, ch)
    return out


def stack_file_text(document: Mapping[str, Any], config: Mapping[str, Any], header: str) -> str:
    """A full stack file: the edited file's other top-level keys (`encryptionsalt`,
    `secretsprovider`, ..., which `secure:` values need) and this step's `config`."""
    doc = {k: v for k, v in document.items() if k != "config"}
    doc["config"] = dict(config)
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body
