"""`crossnet diff`: the proposed plan against the last applied one (pure, except loading).

Both sides are plan snapshots (`network.review.snapshot`): the applied one from
`state_dir(stack)/applied.json` (key `"plan"`, written by the offline apply),
the proposed one built from the stack file. From them come

* the address-plan changes (every address, ASN, route and tunnel fact);
* the resources each side implies (`network.review.resources`), compared input
  by input: added, updated, REPLACED (a `ForceNew` input, see
  `network.review.replacements`, or a reference to a replaced resource) or
  deleted;
* the impact on the datacenter routers: which connection or customer gateway is
  replaced, what that costs (new outside addresses and keys), which routers to
  reconfigure, and a safe order, one tunnel at a time where AWS allows it;
* a unified diff of every affected router's rendered config, keys redacted
  (needs the applied stack outputs and `network.render`).
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network.contract import CONTRACT_VERSION, connection_record, parse_outputs, router_records
from network.errors import ConfigError, CrossnetError, Problem
from network.naming import resource_name, tunnel_id
from network.plan import Plan
from network.review.replacements import (
    CHECKED_PULUMI_AWS,
    CHECKED_UPSTREAM,
    IN_PLACE,
    PROVIDER_EVIDENCE,
    REPLACE_ON_CHANGE,
    in_place_since,
    replaces,
)
from network.review.resources import STACK_TYPE, cgw_key, proposed_resources
from network.review.snapshot import SNAPSHOT_VERSION
from network.review.tables import Table, render_markdown, render_text

EMPTY_SNAPSHOT: dict[str, Any] = {
    "snapshotVersion": SNAPSHOT_VERSION,
    "stack": "",
    "defaultRegion": "",
    "addressSpace": {"aws": [], "datacenters": []},
    "vpcs": {},
    "datacenters": {},
    "vpnGateways": {},
    "transitGateways": {},
    "connections": {},
    "peerings": {},
    "vpcRoutes": {},
    "vgwPropagation": {},
}
# A syntactically valid stand-in for every key: configs are rendered redacted anyway.
_DUMMY_PSK = "RedactedKeyNeverUsed"
# What a tunnel's AWS outside address reads as before AWS has assigned it.
PLACEHOLDER_NOTE = (
    "0.0.0.N stands for an AWS outside address that exists only after the "
    "apply; REDACTED stands for every pre-shared key"
)
_CONNECTION_FIELDS = (
    "router",
    "gateway",
    "gatewayType",
    "routing",
    "redundancy",
    "awsAsn",
    "customerAsn",
    "customerIp",
    "announce",
    "accept",
    "maxPrefixesIn",
    "crypto",
    "tunnels",
)


# ------------------------------------------------------------------ loading
# The stack output a crossnet program exports its plan snapshot as
# (`pulumi stack output crossnetPlan`); see docs/contract.md.
PLAN_OUTPUT = "crossnetPlan"
# What a baseline read from stack outputs cannot show.
OUTPUTS_CAVEAT = (
    "Baseline: the plan snapshot the stack exported ({where}). The resources are inferred "
    "from the two plans with crossnet's own model, not read from the stack's state: drift, "
    "changes made outside crossnet, and what the provider computes at plan time show only in "
    "`pulumi preview`; run it before `pulumi up`."
)


def check_snapshot(snap: Any, source: str, field: str) -> dict[str, Any]:
    """A plan snapshot as read from a file, checked. Raises ConfigError."""
    if not isinstance(snap, dict):
        raise ConfigError(source, [Problem(field, "missing", "no plan snapshot")])
    if snap.get("snapshotVersion") != SNAPSHOT_VERSION:
        raise ConfigError(
            source,
            [
                Problem(
                    f"{field}.snapshotVersion",
                    str(snap.get("snapshotVersion")),
                    f"this crossnet reads version {SNAPSHOT_VERSION}",
                )
            ],
        )
    missing = [k for k in EMPTY_SNAPSHOT if k not in snap]
    if missing:
        raise ConfigError(
            source, [Problem(f"{field}.{k}", "missing", "part of a plan snapshot") for k in missing]
        )
    return snap


def load_applied(path: Path) -> dict[str, Any] | None:
    """The plan snapshot of the last apply, or None when nothing was applied yet.

    The file is an offline apply's applied.json (the snapshot under "plan"), or a
    snapshot alone, as `pulumi stack output crossnetPlan --json` prints it.
    """
    source = str(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(source, [Problem("(file)", "not JSON", str(e))]) from None
    if isinstance(data, dict) and "snapshotVersion" in data:
        return check_snapshot(data, source, "(snapshot)")
    snap = data.get("plan") if isinstance(data, dict) else None
    if not isinstance(snap, dict):
        raise ConfigError(
            source,
            [
                Problem(
                    "plan",
                    "missing",
                    "the last apply recorded no plan snapshot (an older crossnet?): "
                    "run the apply again, or pass --applied FILE",
                )
            ],
        )
    return check_snapshot(snap, source, "plan")


def load_outputs_raw(path: Path, strict: bool = False) -> dict[str, Any] | None:
    """The applied stack outputs as raw JSON (keys included: never printed), or None.

    `strict` (a file the user named): unreadable JSON is an error, not "none".
    """
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        if strict:
            raise ConfigError(str(path), [Problem("(file)", "not JSON", str(e))]) from None
        return None
    if not isinstance(data, dict):
        if strict:
            raise ConfigError(
                str(path),
                [
                    Problem(
                        "(file)",
                        type(data).__name__,
                        "stack outputs are one JSON object "
                        "(pulumi stack output --json --show-secrets)",
                    )
                ],
            )
        return None
    return data


def outputs_plan(outputs: Mapping[str, Any] | None, source: str) -> dict[str, Any] | None:
    """The plan snapshot a stack exported (`crossnetPlan`), checked; None when it has none."""
    if not outputs or PLAN_OUTPUT not in outputs:
        return None
    return check_snapshot(outputs[PLAN_OUTPUT], source, PLAN_OUTPUT)


# ------------------------------------------------------------------ address plan
@dataclass(frozen=True, order=True)
class FactChange:
    """One address-plan fact that differs: None on a side where it does not exist."""

    area: str
    key: str
    old: str | None
    new: str | None


def _j(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def _facts(s: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    f: dict[tuple[str, str], str] = {}
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
        f[("datacenter", name)] = f"AS {d['asn']}, prefixes {_j(d['prefixes'])}"
        for key, r in d["routers"].items():
            f[("router", key)] = f"{r['publicIp']} ({r['platform']})"
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
                f"associated {_j(table['associations'])}; propagated "
                f"{_j(table['propagations']) or '-'}"
            )
        for r in t["staticRoutes"]:
            f[("tgw static route", f"{name}/{r['table']} {r['destination']}")] = r["attachment"]
    for name, c in s["connections"].items():
        f[("connection", name)] = (
            f"router {c['router']} -> {c['gateway']} ({c['gatewayType']}), "
            f"{c['routing']}, {c['redundancy']}"
        )
        f[("asn", f"{name} aws/router")] = f"{c['awsAsn']}/{c['customerAsn']}"
        f[("announced", name)] = _j(c["announce"])
        f[("accepted", name)] = f"{_j(c['accept'])} (max {c['maxPrefixesIn']})"
        f[("crypto", name)] = _crypto_text(c["crypto"])
        for n, t in c["tunnels"].items():
            v6 = f" v6 {t['insideIpv6Cidr']}" if t["insideIpv6Cidr"] else ""
            f[("tunnel", f"{name} t{n}")] = (
                f"{t['insideCidr']} aws {t['awsInside']} router {t['customerInside']} "
                f"{t['preference']}{v6}"
            )
            f[("tunnel key", f"{name} t{n}")] = t["psk"]
    for name, p in s["peerings"].items():
        f[("peering", name)] = f"{p['requester']} <-> {p['accepter']}"
    for vpc, routes in s["vpcRoutes"].items():
        for dest, via in routes.items():
            f[("vpc route", f"{vpc} {dest}")] = via
    for vpc, vgw in s["vgwPropagation"].items():
        f[("vgw propagation", vpc)] = vgw
    return f


def _crypto_text(c: Mapping[str, Any]) -> str:
    def phase(p: Mapping[str, Any]) -> str:
        return (
            f"{_j(p['encryption'])}/{_j(p['integrity'])}/DH {_j(p['dhGroups'])}/"
            f"{p['lifetimeSeconds']}s"
        )

    return (
        f"{_j(c['ikeVersions'])} p1 {phase(c['phase1'])} p2 {phase(c['phase2'])} "
        f"dpd {c['dpd']['timeoutSeconds']}s {c['dpd']['action']} {c['startupAction']}"
    )


def address_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FactChange]:
    """Every address-plan fact that was added, removed or changed."""
    a, b = _facts(old), _facts(new)
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


# ------------------------------------------------------------------ router impact
# Impacts shown as a banner: each one takes tunnels down or makes `pulumi up` fail.
LOUD = ("replace-cgw", "replace-vgw", "blocked-tgw-asn", "replace-vpn", "inside-cidr")
_TITLES = {
    "replace-vpn": "REPLACES VPN CONNECTION {}",
    "replace-cgw": "REPLACES CUSTOMER GATEWAY {}",
    "replace-vgw": "REPLACES VIRTUAL PRIVATE GATEWAY {}",
    "blocked-tgw-asn": "AWS REFUSES THE NEW ASN OF TRANSIT GATEWAY {} WHILE VPNS ARE ATTACHED",
    "inside-cidr": "MOVES TUNNEL INSIDE ADDRESSES OF VPN CONNECTION {}",
}


@dataclass(frozen=True)
class Impact:
    """What a change means for the datacenter routers."""

    kind: str  # one of LOUD, or "update-vpn" | "add" | "remove" | "prefixes"
    subject: str  # the connection, customer gateway or gateway
    routers: tuple[str, ...]
    reasons: tuple[str, ...]
    consequence: str
    steps: tuple[str, ...]
    avoidable: bool = False  # the replacement can be avoided one tunnel at a time
    # For a connection whose tunnels move: which path its router config diff shows.
    config_path: str = ""

    @property
    def loud(self) -> bool:
        return self.kind in LOUD

    @property
    def title(self) -> str:
        return _TITLES.get(self.kind, "{}").format(self.subject)


def _show(v: Any) -> str:
    if isinstance(v, str) and v.startswith("ref:"):
        return v.split(":", 2)[2]
    return _j(v) if v is not None else "(none)"


def _aws_ids(outputs: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Connection name -> its record in the applied outputs (IDs, outside addresses)."""
    out: dict[str, dict[str, Any]] = {}
    routers = (outputs or {}).get("routers")
    for r in routers.values() if isinstance(routers, Mapping) else []:
        for c in r.get("connections") or [] if isinstance(r, Mapping) else []:
            if isinstance(c, Mapping) and "name" in c:
                out[str(c["name"])] = dict(c)
    return out


def _output_id(outputs: Mapping[str, Any] | None, section: str, name: str, default: str) -> str:
    rec = ((outputs or {}).get(section) or {}).get(name)
    return str(rec["id"]) if isinstance(rec, Mapping) and rec.get("id") else default


def _provider_text(upstream: str | None) -> str:
    if upstream is None:
        return (
            "the installed pulumi-aws is older than "
            f"{CHECKED_PULUMI_AWS} or unknown, so its terraform-provider-aws is not known here"
        )
    return f"pulumi-aws {CHECKED_PULUMI_AWS} or later (terraform-provider-aws v{upstream} or later)"


def _inside_only_steps(
    name: str, rec: Mapping[str, Any] | None, tunnels: list[tuple[int, str]], router: str
) -> tuple[str, ...]:
    vpn_id = rec.get("vpnConnectionId", "<vpn id>") if rec else "<vpn id>"
    outside = {
        int(t.get("number", 0)): t.get(
            "awsOutsideIp", f"<tunnel {t.get('number')} outside address>"
        )
        for t in (rec or {}).get("tunnels") or []
    }
    steps = []
    for n, cidr in tunnels:
        ip = outside.get(n, f"<tunnel {n} outside address>")
        steps.append(
            f"tunnel {n} alone, while the other tunnel carries the traffic: aws ec2 "
            f"modify-vpn-tunnel-options --vpn-connection-id {vpn_id} "
            f"--vpn-tunnel-outside-ip-address {ip} --tunnel-options TunnelInsideCidr={cidr}; "
            f"then move {router}'s tunnel {n} to the new inside addresses and wait for its "
            "BGP session (AWS keeps the outside address and the key)"
        )
    steps.append(
        "pulumi refresh, so the state holds the new inside CIDRs; pulumi preview "
        "must then show no replacement of the connection"
    )
    return tuple(steps)


def _one_tunnel_per_apply(
    name: str, router: str, tunnels: list[tuple[int, str]], inside: Mapping[str, Any]
) -> tuple[str, ...]:
    steps: list[str] = []
    if len(tunnels) > 1:
        steps.append(
            f"change one tunnel per apply, so that the other carries the traffic: put only "
            f"tunnel {tunnels[0][0]}'s new insideCidr in the stack first (one apply changing "
            "both takes both tunnels down until the router follows)"
        )
    for n, cidr in tunnels:
        t = inside.get(str(n)) or {}
        steps.append(
            f"apply: AWS moves tunnel {n} of {name} to {cidr} (ModifyVpnTunnelOptions) and the "
            f"tunnel goes down; move {router}'s tunnel {n} to router {t.get('customerInside')} "
            f"/ AWS {t.get('awsInside')} (crossnet render) and wait for IPsec and BGP on it"
        )
    steps.append(f"check both tunnels of {name} carry BGP again before the next change")
    return tuple(steps)


def _make_before_break(name: str, router: str, routing: str) -> tuple[str, ...]:
    shift = (
        "BGP moves the traffic once the new sessions are up"
        if routing == "bgp"
        else "point the router's static routes at the new tunnels"
    )
    return (
        f"add the new connection beside {name} under a new name (a copy of its entry with "
        "the new settings) and apply: AWS creates it with its own outside addresses and keys",
        f"configure {router}'s two new tunnels from the new outputs (crossnet render), check "
        f"IPsec and BGP on both; {shift}",
        f"remove {name} from the stack config, apply, and remove its tunnels from {router}",
    )


def _held_inside_cidrs(vpn: ResourceChange, new: Mapping[str, Any]) -> str:
    """Pulumi creates a replacement before it deletes the old connection: on the same
    gateway, AWS refuses an inside CIDR the old one still holds (unique per gateway)."""
    moved = {p.prop for p in vpn.props if not p.via}
    if moved & {"vpnGatewayId", "transitGatewayId"} or any(
        p.via and p.prop in ("vpnGatewayId", "transitGatewayId") for p in vpn.props
    ):
        return ""
    held = [
        str(t["insideCidr"])
        for n, t in sorted(new["tunnels"].items())
        if t.get("insideCidr") and f"tunnel{n}InsideCidr" not in moved
    ]
    if not held:
        return ""
    return (
        ". AS DECLARED, `pulumi up` FAILS: it creates the replacement first "
        "(create-before-delete) and AWS refuses inside CIDR "
        f"{', '.join(held)}, still held by the old connection on the same gateway; give the "
        "new connection its own inside CIDRs (the steps below)"
    )


def _reasons(ch: ResourceChange) -> tuple[str, ...]:
    return tuple(
        f"{p.prop}: {_show(p.old)} -> {_show(p.new)}" + (f" (new ID of {p.via})" if p.via else "")
        for p in ch.reasons
    )


def _cgw_impacts(new: Mapping[str, Any], changes: list[ResourceChange]) -> list[Impact]:
    nc = new["connections"]
    on_cgw: dict[str, list[str]] = {}
    for name, c in nc.items():
        on_cgw.setdefault(f"{cgw_key(dict(new), dict(c))}-cgw", []).append(name)
    out = []
    for ch in changes:
        if not (ch.kind == "cgw" and ch.action == "replace" and ch.name in on_cgw):
            continue
        conns = sorted(on_cgw[ch.name])
        router = nc[conns[0]]["router"]
        dc = nc[conns[0]]["datacenter"]
        peers = sorted(
            {c["router"] for c in nc.values() if c["datacenter"] == dc and c["router"] != router}
        )
        steps = (
            (
                f"move the traffic off {router}: "
                + (
                    f"{', '.join(peers)} {'carry' if len(peers) > 1 else 'carries'} it while "
                    f"{router}'s sessions are down"
                    if peers
                    else f"{router} is the only router of {dc}: plan an outage"
                )
            ),
            f"apply only this router's customer gateway and connections: pulumi up "
            f"--target <urn of {ch.name}> --target-dependents",
            f"reconfigure {router} (crossnet render): its new address or ASN, then check "
            "IPsec and BGP on every tunnel",
            "repeat router by router",
        )
        out.append(
            Impact(
                "replace-cgw",
                ch.name,
                (router,),
                _reasons(ch),
                "AWS creates a new customer gateway and moves the VPN connection(s) "
                f"{', '.join(conns) or '-'} onto it (ModifyVpnConnection): both tunnels of each "
                "are down while AWS provisions the new endpoints, and stay down until "
                f"{router} uses its "
                "new address or ASN",
                steps,
            )
        )
    return out


def _vgw_impacts(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changes: list[ResourceChange],
    outputs: Mapping[str, Any] | None,
) -> list[Impact]:
    by_resource = {resource_name("vgw", g): g for g in new["vpnGateways"]}
    out = []
    for ch in changes:
        g = by_resource.get(ch.name)
        if not (ch.kind == "vgw" and ch.action == "replace" and g is not None):
            continue
        gw, was = new["vpnGateways"][g], old["vpnGateways"].get(g, {})
        vpc = gw["vpc"]
        conns = sorted(n for n, c in new["connections"].items() if c["gateway"] == g)
        routers = tuple(sorted({new["connections"][n]["router"] for n in conns}))
        bgp = [n for n in conns if new["connections"][n]["routing"] == "bgp"]
        vgw_id = _output_id(outputs, "gateways", g, "<old vgw id>")
        vpc_id = _output_id(outputs, "vpcs", was.get("vpc", vpc), "<vpc id>")
        moved = (
            f"moves {', '.join(conns)} onto it (ModifyVpnConnection): both tunnels of each "
            "are down while AWS provisions the new endpoints (the outside addresses, keys "
            "and tunnel options stay)"
            if conns
            else "has no VPN connection to move"
        )
        asn = (
            f" The AWS-side ASN of the BGP sessions of {', '.join(bgp)} becomes {gw['asn']}."
            if bgp and gw["asn"] != was.get("asn")
            else ""
        )
        consequence = (
            f"AWS creates a new VGW for vpc {vpc} and {moved}. Its route propagation is replaced "
            f"too: vpc {vpc} has no route to the datacenters from the moment the old VGW leaves "
            "until the new one propagates them. A VPC takes one VGW at a time (AttachVpnGateway), "
            "and Pulumi creates the replacement before deleting the old one (crossnet does not "
            "mark the VGW deleteBeforeReplace): left alone, `pulumi up` fails when AWS refuses "
            f"to attach the new VGW to vpc {vpc}." + asn
        )
        router_step = (
            f"on {', '.join(routers)}: peer with AWS-side ASN {gw['asn']} "
            "(crossnet render), then check IPsec and BGP on both tunnels"
            if bgp
            else f"on {', '.join(routers) or 'the routers'}: the config stays "
            "(static routing); check IPsec on both tunnels and the VPC routes"
        )
        steps = (
            f"plan an outage of vpc {vpc}'s datacenter traffic: with one VGW per VPC there is "
            "no second path while the gateway is swapped",
            f"detach the old VGW first: aws ec2 detach-vpn-gateway --vpn-gateway-id {vgw_id} "
            f"--vpc-id {vpc_id}; wait until it is detached, then pulumi refresh",
            f"pulumi up: the new VGW attaches to vpc {vpc}, the connections move onto it, the "
            "route propagations are replaced and the old VGW is deleted",
            router_step,
        )
        out.append(Impact("replace-vgw", g, routers, _reasons(ch), consequence, steps))
    return out


def _tgw_asn_impacts(new: Mapping[str, Any], changes: list[ResourceChange]) -> list[Impact]:
    by_resource = {resource_name("tgw", t): t for t in new["transitGateways"]}
    out = []
    for ch in changes:
        t = by_resource.get(ch.name)
        asn = next((p for p in ch.props if p.prop == "amazonSideAsn" and not p.via), None)
        if t is None or ch.kind != "tgw" or asn is None or ch.action == "replace":
            continue
        conns = sorted(n for n, c in new["connections"].items() if c["gateway"] == t)
        if not conns:
            continue
        routers = tuple(sorted({new["connections"][n]["router"] for n in conns}))
        since = in_place_since(ch.type, "amazonSideAsn")
        consequence = (
            f"pulumi-aws changes a transit gateway's ASN in place (ModifyTransitGateway, "
            f"terraform-provider-aws v{since.version if since else '?'} and later), but AWS "
            "refuses it while the transit gateway has VPN attachments: `pulumi up` fails on "
            f"{t}, which carries {', '.join(conns)}. The ASN cannot change under live VPN "
            "connections."
        )
        steps = (
            f"make before break: add a second transit gateway with AS {asn.new} beside {t} "
            "(its VPC attachments and route tables), then move one connection at a time onto it "
            "(change its gateway in the stack and apply: ModifyVpnConnection, both tunnels of "
            "that connection down while the others carry the traffic), then remove " + t,
            f"or, with an outage: remove every VPN connection from {t}, apply, change the ASN, "
            "apply, add them back: new connections, NEW OUTSIDE ADDRESSES for every tunnel",
            f"either way {', '.join(routers)} peer with AWS-side ASN {asn.new} afterwards "
            "(crossnet render)",
        )
        out.append(
            Impact(
                "blocked-tgw-asn",
                t,
                routers,
                (f"amazonSideAsn: {_show(asn.old)} -> {_show(asn.new)}",),
                consequence,
                steps,
            )
        )
    return out


def impacts(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changes: list[ResourceChange],
    outputs: Mapping[str, Any] | None = None,
    upstream: str | None = CHECKED_UPSTREAM,
) -> list[Impact]:
    """The changes the datacenter routers must follow, loudest first."""
    recs = _aws_ids(outputs)
    oc, nc = old["connections"], new["connections"]
    by_name = {(c.kind, c.name): c for c in changes}
    replaced_cgws = {c.name for c in changes if c.kind == "cgw" and c.action == "replace"}
    # Gateways replaced: their connections' own banner covers the move.
    replaced_gws = {c.name for c in changes if c.kind in ("vgw", "tgw") and c.action == "replace"}
    out = [
        *_cgw_impacts(new, changes),
        *_vgw_impacts(old, new, changes, outputs),
        *_tgw_asn_impacts(new, changes),
    ]
    blocked_tgws = {i.subject for i in out if i.kind == "blocked-tgw-asn"}
    for name in sorted(set(oc) | set(nc)):
        o, n = oc.get(name), nc.get(name)
        if o is None:
            assert n is not None
            out.append(
                Impact(
                    "add",
                    name,
                    (n["router"],),
                    (),
                    "a new connection: AWS assigns two outside addresses and keys at "
                    f"the apply; {n['router']} needs two new tunnels",
                    (
                        "apply",
                        f"configure {n['router']} from the new outputs "
                        "(crossnet render) and check IPsec and BGP",
                    ),
                )
            )
            continue
        if n is None:
            out.append(
                Impact(
                    "remove",
                    name,
                    (o["router"],),
                    (),
                    f"AWS deletes the connection; {o['router']} loses two tunnels",
                    (
                        f"move the traffic off {name} first (with BGP: shut its sessions "
                        "on the router)",
                        "apply",
                        f"remove the tunnels from {o['router']}",
                    ),
                )
            )
            continue
        routers = tuple(sorted({o["router"], n["router"]}))
        vpn = by_name.get(("vpn", f"{name}-vpn"))
        inside = [
            (int(p.prop[6]), str(p.new))
            for p in (vpn.props if vpn else ())
            if p.prop in ("tunnel1InsideCidr", "tunnel2InsideCidr") and not p.via
        ]
        if vpn is not None and vpn.action == "replace":
            only_inside = bool(inside) and len(inside) == len(vpn.reasons)
            steps: tuple[str, ...] = (
                _inside_only_steps(name, recs.get(name), inside, n["router"])
                if only_inside
                else _make_before_break(name, n["router"], n["routing"])
            )
            keys = (
                (
                    "the same pre-shared keys (crossnet passes them in: generated once, or from "
                    "config)"
                )
                if not any(p.prop.endswith("PresharedKey") for p in vpn.props)
                else "new pre-shared keys"
            )
            older = (
                (
                    f" ({_provider_text(upstream)}; terraform-provider-aws v6.28.0 and later "
                    "change an inside CIDR in place instead)"
                )
                if only_inside
                else ""
            )
            out.append(
                Impact(
                    "replace-vpn",
                    name,
                    routers,
                    _reasons(vpn),
                    "AWS deletes the VPN connection and creates a new one: NEW OUTSIDE "
                    f"ADDRESSES for both tunnels and a new connection ID, with {keys}; both "
                    f"tunnels stay down until {' and '.join(routers)} "
                    f"{'have' if len(routers) > 1 else 'has'} the new values. One tunnel at a "
                    "time is not possible inside a replacement: both tunnels "
                    "go with the connection"
                    + older
                    + _held_inside_cidrs(vpn, n)
                    + (
                        "; the steps below avoid the replacement, keeping the outside addresses"
                        if only_inside
                        else ""
                    ),
                    steps,
                    avoidable=only_inside,
                    config_path=(
                        "the in-place path of the steps below: AWS keeps the outside "
                        "addresses; were the connection replaced, they would change too "
                        "(0.0.0.N)"
                    )
                    if only_inside
                    else "the replacement: new outside addresses (0.0.0.N) on both tunnels",
                )
            )
            continue
        if inside:
            since = in_place_since("aws:ec2/vpnConnection:VpnConnection", "tunnel1InsideCidr")
            first = since.version if since else "6.28.0"
            out.append(
                Impact(
                    "inside-cidr",
                    name,
                    routers,
                    tuple(
                        f"{p.prop}: {_show(p.old)} -> {_show(p.new)}"
                        for p in vpn.props
                        if p.prop in ("tunnel1InsideCidr", "tunnel2InsideCidr")
                    )
                    if vpn
                    else (),
                    f"With {_provider_text(upstream)} the connection stays: AWS modifies each "
                    "changed tunnel in place (ModifyVpnTunnelOptions), and that tunnel is down "
                    f"until {' and '.join(routers)} use{'' if len(routers) > 1 else 's'} its new "
                    "inside addresses; the outside addresses and keys stay. Providers older than "
                    f"terraform-provider-aws v{first} REPLACE the connection instead: new outside "
                    "addresses, both tunnels down at once",
                    _one_tunnel_per_apply(name, n["router"], inside, n["tunnels"]),
                    config_path="the in-place path (the AWS outside addresses stay); an older "
                    "provider's replacement would change them too",
                )
            )
        touched = {k for k in _CONNECTION_FIELDS if o.get(k) != n.get(k)}
        own = [
            p
            for p in (vpn.props if vpn else ())
            if not p.via and p.prop not in ("tunnel1InsideCidr", "tunnel2InsideCidr")
        ]
        via = {p.via for p in (vpn.props if vpn else ()) if p.via}
        if (
            not own
            and touched <= {"customerAsn", "customerIp"}
            and (vpn is None or f"{cgw_key(dict(new), dict(n))}-cgw" in replaced_cgws)
        ):
            continue  # only its customer gateway was replaced: that banner covers it
        if not own and via and via <= replaced_gws and touched <= {"awsAsn"}:
            continue  # only its gateway was replaced: that banner covers it
        if not own and touched <= {"awsAsn"} and n["gateway"] in blocked_tgws:
            continue  # its transit gateway's new ASN: that banner covers it
        if vpn is None and not touched:
            continue
        if inside and not own and not touched - {"tunnels"}:
            continue  # the inside-cidr banner says it all
        reasons = tuple(f"{p.prop}: {_show(p.old)} -> {_show(p.new)}" for p in own) or tuple(
            f"{k} changed" for k in sorted(touched - {"tunnels"} if inside else touched)
        )
        notes = IN_PLACE["aws:ec2/vpnConnection:VpnConnection"]
        aws_side = [notes[key] for p in own if (key := _in_place_key(p.prop)) is not None]
        moved = any(p.prop in ("vpnGatewayId", "transitGatewayId") for p in own)
        if moved:
            how: tuple[str, ...] = (
                "if the connection leaves a VGW with static routes for a TGW, delete those "
                "routes first (AWS requires it) and route the prefixes in the TGW afterwards",
                "apply: AWS moves the connection, both tunnels are down meanwhile",
                f"update {' and '.join(routers)} (crossnet render): the AWS-side ASN and the "
                "accepted prefixes may change",
            )
        elif own:
            how = (
                "first let the router accept the old and the new settings (most platforms "
                "take several proposals or keys per peer), then apply (AWS changes tunnel 1, "
                "then tunnel 2), then remove the old ones",
                f"check IPsec and BGP on both tunnels of {name}",
            )
        else:
            how = ("apply", f"update {' and '.join(routers)} (crossnet render)")
        consequence = (
            "; ".join(dict.fromkeys(aws_side))
            if aws_side
            else "AWS keeps the connection as it is; the router's prefix lists, routes "
            "or BGP settings change"
        )
        out.append(
            Impact("update-vpn" if own else "prefixes", name, routers, reasons, consequence, how)
        )
    rank = {
        "replace-cgw": 0,
        "replace-vgw": 0,
        "blocked-tgw-asn": 0,
        "replace-vpn": 1,
        "inside-cidr": 1,
        "remove": 2,
        "update-vpn": 3,
        "add": 4,
        "prefixes": 5,
    }
    return sorted(out, key=lambda i: (rank[i.kind], i.subject))


def _in_place_key(prop: str) -> str | None:
    if prop in ("customerGatewayId", "vpnGatewayId", "transitGatewayId"):
        return prop
    if prop.startswith("tunnel") and prop.endswith("PresharedKey"):
        return "tunnelNPresharedKey"
    if prop.startswith("tunnel") and prop.endswith("InsideCidr"):
        return "tunnelNInsideCidr"
    if prop.startswith("tunnel"):
        return "tunnelN<options>"
    return None


# ------------------------------------------------------------------ router configs
def _masked(outputs: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(outputs))
    keys = out.get("presharedKeys")
    if isinstance(keys, Mapping):
        out["presharedKeys"] = {k: _DUMMY_PSK for k in keys}
    return out


def proposed_outputs(
    plan: Plan, applied: Mapping[str, Any] | None, renewed: Iterable[str] = ()
) -> dict[str, Any]:
    """Stack outputs as the proposed plan would produce them, keys masked.

    Connections that stay keep AWS's values from the applied outputs; new or
    replaced ones get placeholder outside addresses (0.0.0.N), which AWS only
    assigns at the apply.
    """
    recs = _aws_ids(applied)
    fresh = set(renewed)
    records: dict[str, dict[str, Any]] = {}
    k = 0
    for c in plan.connections:
        rec = recs.get(c.name) if c.name not in fresh else None
        tun = {int(t.get("number", 0)): t for t in (rec or {}).get("tunnels") or []}
        values: dict[str, Any] = {
            "id": (rec or {}).get("vpnConnectionId", "(created at apply)"),
            "customerGatewayId": (rec or {}).get("customerGatewayId", "(created at apply)"),
            "gatewayId": ((rec or {}).get("gateway") or {}).get("id", "(at apply)"),
        }
        for t in c.tunnels:
            n = t.number
            k += 1
            values.update(
                {
                    f"tunnel{n}Address": tun.get(n, {}).get("awsOutsideIp", f"0.0.0.{k}"),
                    f"tunnel{n}InsideCidr": str(t.inside_cidr),
                    f"tunnel{n}VgwInsideAddress": str(t.aws_inside),
                    f"tunnel{n}CgwInsideAddress": str(t.customer_inside),
                    f"tunnel{n}BgpAsn": str(c.aws_asn),
                    f"tunnel{n}BgpHoldtime": tun.get(n, {}).get("bgpHoldTime", 30),
                }
            )
        records[c.name] = connection_record(c, values)
    return {
        "crossnet": {"contractVersion": CONTRACT_VERSION, "stack": plan.stack},
        "datacenters": {},
        "vpcs": {},
        "gateways": {},
        "peerings": {},
        "routers": router_records(plan, records),
        "presharedKeys": {
            tunnel_id(c.name, t.number): _DUMMY_PSK for c in plan.connections for t in c.tunnels
        },
    }


def router_config_diffs(
    applied: Mapping[str, Any] | None,
    plan: Plan,
    routers: Iterable[str],
    renewed: Iterable[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """Unified diffs of each router's rendered config (keys redacted), and notes."""
    try:
        from network.render import render_router
    except ImportError:
        return {}, ["router config diffs need network.render, which is not installed here"]
    notes: list[str] = []
    old_routers: dict[str, Any] = {}
    if applied is None:
        notes.append("no applied stack outputs: every router config is shown as new")
    else:
        try:
            old_routers = parse_outputs(_masked(applied), "applied outputs").routers
        except CrossnetError as e:
            notes.append(f"the applied outputs do not parse ({e}): configs shown as new")
    try:
        new_routers = parse_outputs(
            proposed_outputs(plan, applied, renewed), "proposed outputs"
        ).routers
    except CrossnetError as e:
        return {}, [*notes, f"cannot build the proposed outputs: {e}"]
    diffs: dict[str, str] = {}
    for key in sorted(set(routers)):
        try:
            before = render_router(old_routers[key], redact=True) if key in old_routers else {}
            after = render_router(new_routers[key], redact=True) if key in new_routers else {}
        except Exception as e:  # the renderer is another module's: report, do not crash
            notes.append(f"router {key}: not rendered ({type(e).__name__}: {e})")
            continue
        text: list[str] = []
        for fname in sorted(set(before) | set(after)):
            text += difflib.unified_diff(
                before.get(fname, "").splitlines(keepends=True),
                after.get(fname, "").splitlines(keepends=True),
                fromfile=f"applied/{key}/{fname}",
                tofile=f"proposed/{key}/{fname}",
            )
        if text:
            diffs[key] = "".join(t if t.endswith("\n") else t + "\n" for t in text)
    return diffs, notes


# ------------------------------------------------------------------ the report
@dataclass(frozen=True)
class DiffReport:
    stack: str
    baseline: str
    facts: list[FactChange]
    resources: list[ResourceChange]
    impacts: list[Impact]
    router_diffs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    upstream: str | None = CHECKED_UPSTREAM  # the provider the replace rules were read for
    caveats: list[str] = field(default_factory=list)  # what this baseline cannot show

    @property
    def changed(self) -> bool:
        return bool(self.facts or self.resources)

    @property
    def routers(self) -> list[str]:
        return sorted({r for i in self.impacts for r in i.routers})


def diff_snapshots(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    baseline: str,
    outputs: Mapping[str, Any] | None = None,
    upstream: str | None = CHECKED_UPSTREAM,
    caveats: Iterable[str] = (),
) -> DiffReport:
    """Compare two plan snapshots (None: nothing applied yet). Pure.

    `upstream`: the terraform-provider-aws the replace rules apply to (see
    `replacements.provider_upstream`; None: older or unknown, read the
    replacing way).
    """
    before = old if old is not None else {**EMPTY_SNAPSHOT, "stack": new["stack"]}
    changes = resource_changes(before, new, upstream)
    return DiffReport(
        str(new["stack"]),
        baseline,
        address_changes(before, new),
        changes,
        impacts(before, new, changes, outputs, upstream),
        upstream=upstream,
        caveats=list(caveats),
    )


def renewed_connections(report: DiffReport) -> set[str]:
    """Connections that are new or replaced: their AWS values are not known yet.

    A replacement the safe order avoids (inside CIDRs changed one tunnel at a
    time in place) keeps its outside addresses, so it is not renewed; nor is a
    connection whose inside CIDRs the provider changes in place.
    """
    return {
        i.subject
        for i in report.impacts
        if i.kind == "add" or (i.kind == "replace-vpn" and not i.avoidable)
    }


def _banner(i: Impact, fmt: str = "text") -> list[str]:
    """A loud block: plain text framed in '!', or a Markdown heading and warning quote."""
    if fmt == "markdown":
        out = [f"### {i.title}", "", "> [!WARNING]", "> **Because:**"]
        out += [f"> - {r}" for r in i.reasons]
        out += [
            ">",
            f"> **Consequence:** {i.consequence}",
            ">",
            f"> **Routers to reconfigure:** {', '.join(i.routers) or 'none'}",
            ">",
            "> **Safe order:**",
        ]
        out += [f"> {n}. {s}" for n, s in enumerate(i.steps, 1)]
        return [*out, ""]
    title = f"!! {i.title} !!"
    out = ["!" * len(title), title, "!" * len(title)]
    out += ["because:", *(f"  - {r}" for r in i.reasons)]
    out += [
        f"consequence: {i.consequence}",
        "routers to reconfigure: " + ", ".join(i.routers),
        "safe order:",
    ]
    out += [f"  {n}. {s}" for n, s in enumerate(i.steps, 1)]
    return [*out, ""]


def render_diff(r: DiffReport, fmt: str = "text") -> str:
    """The report: loud replacements first, then tables, then router config diffs."""
    md = fmt == "markdown"
    counts = {
        a: sum(1 for c in r.resources if c.action == a)
        for a in ("create", "update", "replace", "delete")
    }
    head = [f"{'## ' if md else ''}crossnet diff: stack {r.stack} against {r.baseline}"]
    if md:
        head.append("")
    head += [f"{'> ' if md else ''}{c}" for c in r.caveats]
    if r.caveats and md:
        head.append("")
    if not r.changed:
        return (
            "\n".join(head).rstrip("\n") + "\nno changes: the proposed plan is the applied one.\n"
        )
    head.append(
        f"{len(r.facts)} address-plan change(s); resources: {counts['create']} to "
        f"create, {counts['update']} to update, {counts['replace']} to REPLACE, "
        f"{counts['delete']} to delete; routers to reconfigure: " + (", ".join(r.routers) or "none")
    )
    head.append("")
    for i in r.impacts:
        if i.loud:
            head += _banner(i, fmt)
    tables = [
        Table.of(
            "Address-plan changes",
            ("area", "what", "applied", "proposed"),
            [(f.area, f.key, f.old or "-", f.new or "-") for f in r.facts],
        )
    ]
    rows = []
    for c in r.resources:
        detail = "; ".join(
            f"{p.prop}: {_show(p.old)} -> {_show(p.new)}"
            if not p.via
            else f"{p.prop}: new ID of {p.via}"
            for p in c.props
        )
        rows.append(
            (c.action.upper() if c.action == "replace" else c.action, c.kind, c.name, detail)
        )
    provider = (
        "replace-on-change rules for "
        + _provider_text(r.upstream)
        + "; with their sources: crossnet diff --rules (network/review/replacements.py)"
    )
    tables.append(Table.of("Resources", ("action", "kind", "name", "changes"), rows, note=provider))
    quiet = [i for i in r.impacts if not i.loud]
    if quiet:
        tables.append(
            Table.of(
                "Routers to touch (no replacement)",
                ("change", "subject", "routers", "why", "what"),
                [
                    (
                        i.kind,
                        i.subject,
                        ", ".join(i.routers),
                        "; ".join(i.reasons) or "-",
                        i.consequence + ". Order: " + "; ".join(i.steps),
                    )
                    for i in quiet
                ],
            )
        )
    render = render_markdown if md else render_text
    body = render(tables)
    tail: list[str] = []
    if r.router_diffs or r.notes:
        title = "Router config diffs (keys redacted)"
        tail += ["", f"### {title}" if md else title, "" if md else "-" * len(title)]
        tail += r.notes
        if r.router_diffs:
            tail.append(PLACEHOLDER_NOTE)
            paths = [
                f"{i.subject} ({', '.join(i.routers)}): the diff shows {i.config_path}"
                for i in r.impacts
                if i.config_path
            ]
            tail += [f"- {p}" if md else p for p in paths]
        for key, text in r.router_diffs.items():
            tail += [
                "",
                f"#### {key}" if md else f"== {key} ==",
                "```diff" if md else "",
                text.rstrip("\n"),
                "```" if md else "",
            ]
    return "\n".join(head) + "\n" + body + "\n".join(tail) + ("\n" if tail else "")


def _older(rule: Any) -> list[tuple[str, str]]:
    """(inputs, text) per provider release that changed them from replace to update."""
    groups: dict[str, list[str]] = {}
    since: dict[str, Any] = {}
    for prop, s in rule.in_place_since.items():
        groups.setdefault(s.version, []).append(prop)
        since[s.version] = s
    return [
        (
            ", ".join(props),
            f"replace before terraform-provider-aws v{v}, update in place "
            f"from v{v} on ({since[v].source})",
        )
        for v, props in groups.items()
    ]


def replacement_sources() -> Table:
    """The replace-on-change table, for the docs and `crossnet diff --rules`."""
    rows = []
    for t, r in REPLACE_ON_CHANGE.items():
        older = "; ".join(f"{props}: {text}" for props, text in _older(r))
        rows.append(
            (
                t.split(":")[1],
                ", ".join(r.props),
                older or "-",
                r.source,
                "yes" if r.checked else "no",
            )
        )
    return Table.of(
        "Replace-on-change inputs",
        (
            "resource",
            "inputs that replace",
            "inputs that replace in older providers",
            "source",
            "read here",
        ),
        rows,
        note="read for " + _provider_text(CHECKED_UPSTREAM) + ". " + PROVIDER_EVIDENCE,
    )


def render_rules(fmt: str = "text") -> str:
    """`crossnet diff --rules`: one block per resource type (a table is too wide)."""
    md = fmt == "markdown"
    out = [
        ("## " if md else "")
        + "Replace-on-change inputs, read for "
        + _provider_text(CHECKED_UPSTREAM),
        "",
        PROVIDER_EVIDENCE,
        "",
    ]
    for t, r in REPLACE_ON_CHANGE.items():
        out.append(f"### `{t}`" if md else t)
        lines = [f"replace: {', '.join(r.props)}"]
        lines += [f"{props}: {text}" for props, text in _older(r)]
        lines.append(f"source ({'read here' if r.checked else 'not re-read'}): {r.source}")
        if r.note:
            lines.append(f"note: {r.note}")
        out += [f"- {x}" if md else f"  {x}" for x in lines]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
