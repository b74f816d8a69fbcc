"""What changes between two plan snapshots: address-plan facts and AWS resources (pure).

* `address_changes`: every address, ASN, route and tunnel fact added, removed or
  changed;
* `resource_changes`: the resources each side implies
  (`network.review.resources`), compared input by input: added, updated,
  REPLACED (a `ForceNew` input, see `network.review.replacements`, or a
  reference to a replaced resource) or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from network.review.replacements import CHECKED_UPSTREAM, replaces
from network.review.resources import STACK_TYPE, proposed_resources

Facts = dict[tuple[str, str], str]


# ------------------------------------------------------------------ address plan
@dataclass(frozen=True, order=True)
class FactChange:
    """One address-plan fact that differs: None on a side where it does not exist."""

    area: str
    key: str
    old: str | None
    new: str | None


def joined(v: Any) -> str:
    """A list as `a, b`, anything else as its string."""
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def show(v: Any) -> str:
    """An input value as a reviewer reads it: a reference by the name it points at."""
    if isinstance(v, str) and v.startswith("ref:"):
        return v.split(":", 2)[2]
    return joined(v) if v is not None else "(none)"


def _space_facts(s: Mapping[str, Any], f: Facts) -> None:
    for scope in ("aws", "datacenters"):
        for n in s["addressSpace"].get(scope, []):
            f[("address space", f"{scope} {n}")] = "supernet"
    for name, v in s["vpcs"].items():
        f[("vpc", name)] = f"{v['cidr']} in {v['region']} ({' '.join(v['azs'])})"
        for key, cidr in v["subnets"].items():
            f[("subnet", f"{name}/{key}")] = cidr
        for tier, flows in v.get("ingress", {}).items():
            f[("ingress", f"{name}/{tier}")] = "; ".join(flows) or "none"
    for name, d in s["datacenters"].items():
        f[("datacenter", name)] = f"AS {d['asn']}, prefixes {joined(d['prefixes'])}"
        for key, r in d["routers"].items():
            f[("router", key)] = f"{r['publicIp']} ({r['platform']})"


def _gateway_facts(s: Mapping[str, Any], f: Facts) -> None:
    for name, g in s["vpnGateways"].items():
        f[("gateway", name)] = f"VGW AS {g['asn']} on vpc {g['vpc']}"
    for name, t in s["transitGateways"].items():
        f[("gateway", name)] = (
            f"TGW AS {t['asn']} in {t['region']}, ECMP {'on' if t['ecmp'] else 'off'}"
        )
        for vpc, tier in t["attachments"].items():
            f[("tgw attachment", f"{name}/{vpc}")] = f"{tier} subnets"
        for rt, table in t["routeTables"].items():
            f[("tgw route table", f"{name}/{rt}")] = (
                f"associated {joined(table['associations'])}; propagated "
                f"{joined(table['propagations']) or '-'}"
            )
        for r in t["staticRoutes"]:
            f[("tgw static route", f"{name}/{r['table']} {r['destination']}")] = r["attachment"]


def _connection_facts(s: Mapping[str, Any], f: Facts) -> None:
    for name, c in s["connections"].items():
        f[("connection", name)] = (
            f"router {c['router']} -> {c['gateway']} ({c['gatewayType']}), "
            f"{c['routing']}, {c['redundancy']}"
        )
        f[("asn", f"{name} aws/router")] = f"{c['awsAsn']}/{c['customerAsn']}"
        f[("announced", name)] = joined(c["announce"])
        f[("accepted", name)] = f"{joined(c['accept'])} (max {c['maxPrefixesIn']})"
        f[("crypto", name)] = _crypto_text(c["crypto"])
        for n, t in c["tunnels"].items():
            v6 = f" v6 {t['insideIpv6Cidr']}" if t["insideIpv6Cidr"] else ""
            f[("tunnel", f"{name} t{n}")] = (
                f"{t['insideCidr']} aws {t['awsInside']} router {t['customerInside']} "
                f"{t['preference']}{v6}"
            )
            f[("tunnel key", f"{name} t{n}")] = t["psk"]


def _route_facts(s: Mapping[str, Any], f: Facts) -> None:
    for name, p in s["peerings"].items():
        f[("peering", name)] = f"{p['requester']} <-> {p['accepter']}"
    for vpc, routes in s["vpcRoutes"].items():
        for dest, via in routes.items():
            f[("vpc route", f"{vpc} {dest}")] = via
    for vpc, vgw in s["vgwPropagation"].items():
        f[("vgw propagation", vpc)] = vgw


def facts(s: Mapping[str, Any]) -> Facts:
    """Every fact of a snapshot, keyed by (area, what)."""
    f: Facts = {}
    for part in (_space_facts, _gateway_facts, _connection_facts, _route_facts):
        part(s, f)
    return f


def _crypto_text(c: Mapping[str, Any]) -> str:
    def phase(p: Mapping[str, Any]) -> str:
        return (
            f"{joined(p['encryption'])}/{joined(p['integrity'])}/DH {joined(p['dhGroups'])}/"
            f"{p['lifetimeSeconds']}s"
        )

    return (
        f"{joined(c['ikeVersions'])} p1 {phase(c['phase1'])} p2 {phase(c['phase2'])} "
        f"dpd {c['dpd']['timeoutSeconds']}s {c['dpd']['action']} {c['startupAction']}"
    )


def address_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FactChange]:
    """Every address-plan fact that was added, removed or changed."""
    a, b = facts(old), facts(new)
    return sorted(
        FactChange(area, key, a.get((area, key)), b.get((area, key)))
        for area, key in set(a) | set(b)
        if a.get((area, key)) != b.get((area, key))
    )


# ------------------------------------------------------------------ resources
@dataclass(frozen=True)
class PropChange:
    prop: str
    old: Any
    new: Any
    replaces: bool
    via: str = ""  # "" or the replaced resource a reference points at


@dataclass(frozen=True)
class ResourceChange:
    action: str  # "create" | "update" | "replace" | "delete"
    type: str
    kind: str
    name: str
    props: tuple[PropChange, ...] = ()

    @property
    def reasons(self) -> list[PropChange]:
        return [p for p in self.props if p.replaces]


def _refs(v: Any) -> list[str]:
    vals = v if isinstance(v, list) else [v]
    return [x.split(":", 2)[2] for x in vals if isinstance(x, str) and x.startswith("ref:")]


def resource_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], upstream: str | None = CHECKED_UPSTREAM
) -> list[ResourceChange]:
    """Resources added, updated, replaced and deleted between two snapshots.

    A resource whose `ForceNew` input changes is replaced; so is one whose
    `ForceNew` input refers to a replaced resource (it gets a new ID), and so on.
    `upstream` is the terraform-provider-aws the rules are read for (see
    `replacements.provider_upstream`; None: an older or unknown one).
    """
    # The root Stack is no resource to create, update or delete; what its outputs
    # carry (the prefixes each router announces) shows as address-plan changes.
    before = {
        (r["type"], r["name"]): r for r in proposed_resources(dict(old)) if r["type"] != STACK_TYPE
    }
    after = {
        (r["type"], r["name"]): r for r in proposed_resources(dict(new)) if r["type"] != STACK_TYPE
    }
    common = sorted(set(before) & set(after))
    props: dict[tuple[str, str], list[PropChange]] = {}
    for k in common:
        a, b = before[k]["inputs"], after[k]["inputs"]
        props[k] = [
            PropChange(p, a.get(p), b.get(p), replaces(k[0], p, upstream))
            for p in sorted(set(a) | set(b))
            if a.get(p) != b.get(p)
        ]
    renewed = {k[1] for k in common if any(p.replaces for p in props[k])}
    grew = True
    while grew:  # a replaced resource gets a new ID: whatever refers to it changes too
        grew = False
        for k in common:
            seen = {p.prop for p in props[k]}
            for p, v in sorted(after[k]["inputs"].items()):
                hit = [r for r in _refs(v) if r in renewed]
                if hit and p not in seen:
                    forced = replaces(k[0], p, upstream)
                    props[k].append(PropChange(p, v, v, forced, via=hit[0]))
                    seen.add(p)
                    if forced and k[1] not in renewed:
                        renewed.add(k[1])
                        grew = True
    out = [
        ResourceChange("create", t, after[(t, n)]["kind"], n)
        for t, n in sorted(set(after) - set(before))
    ]
    out += [
        ResourceChange("delete", t, before[(t, n)]["kind"], n)
        for t, n in sorted(set(before) - set(after))
    ]
    for k in common:
        if props[k]:
            action = "replace" if k[1] in renewed else "update"
            out.append(
                ResourceChange(
                    action,
                    k[0],
                    after[k]["kind"],
                    k[1],
                    tuple(sorted(props[k], key=lambda p: p.prop)),
                )
            )
    order = {"replace": 0, "delete": 1, "create": 2, "update": 3}
    return sorted(out, key=lambda c: (order[c.action], c.type, c.name))
