"""The stack outputs contract (pure): what the Pulumi program exports, and how
the renderer, the lab and the checks read it back.

The contract is the JSON object that `pulumi stack output --json --show-secrets`
prints. The offline apply writes exactly that shape. docs/contract.md is the
reference; `CONTRACT_VERSION` changes when a field changes meaning.

Pre-shared keys are the only secrets. They live in their own output,
`presharedKeys` (tunnel id -> key), so that every other output stays readable
with a plain `pulumi stack output`; each tunnel names its key by `presharedKeyRef`.

`crossnetPlan` (optional: outputs of an older program lack it) is the plan
snapshot of `network.review.snapshot`, secret-free, for `crossnet diff`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from network import aws_rules as aws
from network.errors import ConfigError, Problems
from network.model import Secret, TunnelOptions
from network.naming import tunnel_id
from network.plan import ConnectionPlan, Plan, customer_ip

CONTRACT_VERSION = 1
OUTPUT_NAMES = (
    "crossnet",
    "datacenters",
    "vpcs",
    "gateways",
    "peerings",
    "routers",
    "presharedKeys",
)
# Read when present, never required (the outputs of an older program lack them).
OPTIONAL_OUTPUT_NAMES = ("crossnetPlan",)


# ---------------------------------------------------------------- building
def crypto_record(o: TunnelOptions) -> dict[str, Any]:
    """The tunnel options both sides must agree on, as the contract spells them."""
    return {
        "ikeVersions": list(o.ike_versions),
        "phase1": {
            "encryption": list(o.phase1.encryption),
            "integrity": list(o.phase1.integrity),
            "dhGroups": list(o.phase1.dh_groups),
            "lifetimeSeconds": o.phase1.lifetime,
        },
        "phase2": {
            "encryption": list(o.phase2.encryption),
            "integrity": list(o.phase2.integrity),
            "dhGroups": list(o.phase2.dh_groups),
            "lifetimeSeconds": o.phase2.lifetime,
        },
        "rekeyMarginSeconds": o.rekey_margin,
        "rekeyFuzzPercentage": o.rekey_fuzz,
        "replayWindowSize": o.replay_window,
        "dpd": {"timeoutSeconds": o.dpd_timeout, "action": o.dpd_action},
        "startupAction": o.startup_action,
    }


def connection_record(c: ConnectionPlan, aws_values: Mapping[str, Any]) -> dict[str, Any]:
    """One connection of a router, from the plan and the VPN connection's outputs.

    `aws_values` holds what AWS returned: `id`, `customerGatewayId`, `gatewayId`
    and per tunnel N `tunnelNAddress`, `tunnelNInsideCidr`, `tunnelNCgwInsideAddress`,
    `tunnelNVgwInsideAddress`, `tunnelNBgpAsn`, `tunnelNBgpHoldtime`.
    """
    tunnels = []
    for t in c.tunnels:
        n = t.number
        tunnels.append(
            {
                "number": n,
                "awsOutsideIp": aws_values[f"tunnel{n}Address"],
                "customerOutsideIp": str(customer_ip(c)),
                "insideCidr": aws_values[f"tunnel{n}InsideCidr"],
                "awsInsideIp": aws_values[f"tunnel{n}VgwInsideAddress"],
                "customerInsideIp": aws_values[f"tunnel{n}CgwInsideAddress"],
                "insideIpv6Cidr": str(t.inside_ipv6_cidr) if t.inside_ipv6_cidr else None,
                "awsAsn": int(aws_values[f"tunnel{n}BgpAsn"] or c.aws_asn),
                "customerAsn": c.datacenter.asn,
                "bgpHoldTime": int(aws_values[f"tunnel{n}BgpHoldtime"] or aws.BGP_HOLD_TIME),
                "bgpKeepalive": aws.BGP_KEEPALIVE,
                "preference": t.preference,
                "presharedKeyRef": tunnel_id(c.name, n),
            }
        )
    return {
        "name": c.name,
        "vpnConnectionId": aws_values["id"],
        "customerGatewayId": aws_values["customerGatewayId"],
        "gateway": {
            "name": c.spec.gateway,
            "type": c.gateway_type,
            "id": aws_values["gatewayId"],
            "region": c.region,
            "asn": c.aws_asn,
        },
        "routing": c.spec.routing,
        "redundancy": c.redundancy,
        "announce": [str(p) for p in c.announce],
        "accept": [str(p) for p in c.accept],
        "maxPrefixesIn": c.max_prefixes_in,
        "maxPrefixesOut": aws.MAX_PREFIXES_FROM_CUSTOMER,
        "tunnelMtu": aws.TUNNEL_MTU,
        "tcpMss": aws.TCP_MSS,
        "crypto": crypto_record(c.options),
        "tunnels": tunnels,
    }


def router_records(plan: Plan, connections: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The `routers` output: every datacenter router with its connections, by router key."""
    out: dict[str, Any] = {}
    for dc in plan.spec.datacenters:
        for r in dc.routers:
            conns = [connections[c.name] for c in plan.connections if c.router.key == r.key]
            out[r.key] = {
                "datacenter": dc.name,
                "name": r.name,
                "platform": r.platform,
                "publicIp": str(r.public_ip),
                **({"routerId": str(r.router_id)} if r.router_id is not None else {}),
                "asn": dc.asn,
                "prefixes": [str(p) for p in dc.prefixes],
                "firewallPolicies": r.firewall_policies,
                "connections": sorted(conns, key=lambda x: x["name"]),
            }
    return out


def datacenter_records(plan: Plan) -> dict[str, Any]:
    return {
        d.name: {
            "asn": d.asn,
            "prefixes": [str(p) for p in d.prefixes],
            "routers": [r.key for r in d.routers],
        }
        for d in plan.spec.datacenters
    }


# ---------------------------------------------------------------- reading
@dataclass(frozen=True)
class Tunnel:
    connection: str
    number: int
    aws_outside_ip: str
    customer_outside_ip: str
    inside_cidr: str
    aws_inside_ip: str
    customer_inside_ip: str
    aws_asn: int
    customer_asn: int
    hold_time: int
    keepalive: int
    preference: str
    psk: Secret


@dataclass(frozen=True)
class Connection:
    name: str
    gateway: dict[str, Any]
    routing: str
    redundancy: str
    announce: tuple[str, ...]
    accept: tuple[str, ...]
    max_prefixes_in: int
    max_prefixes_out: int
    tunnel_mtu: int
    tcp_mss: int
    crypto: dict[str, Any]
    tunnels: tuple[Tunnel, ...]
    raw: dict[str, Any]


@dataclass(frozen=True)
class Router:
    key: str
    datacenter: str
    name: str
    platform: str
    public_ip: str
    asn: int
    prefixes: tuple[str, ...]
    connections: tuple[Connection, ...]
    # Render the firewall/security policies of zone-based platforms (optional in the
    # outputs: an older program's outputs lack it, and get them).
    firewall_policies: bool = True
    router_id: str = ""  # the BGP router ID when pinned (`routerId`); else the public IP


@dataclass(frozen=True)
class StackOutputs:
    stack: str
    version: int
    routers: dict[str, Router]
    raw: dict[str, Any]  # every output, secrets included: never print
    plan: dict[str, Any] | None = None  # the `crossnetPlan` output, when there is one


_TUNNEL_KEYS = (
    "number",
    "awsOutsideIp",
    "customerOutsideIp",
    "insideCidr",
    "awsInsideIp",
    "customerInsideIp",
    "awsAsn",
    "customerAsn",
    "bgpHoldTime",
    "bgpKeepalive",
    "preference",
    "presharedKeyRef",
)
_CONN_KEYS = (
    "name",
    "gateway",
    "routing",
    "redundancy",
    "announce",
    "accept",
    "maxPrefixesIn",
    "maxPrefixesOut",
    "tunnelMtu",
    "tcpMss",
    "crypto",
    "tunnels",
)
_ROUTER_KEYS = ("datacenter", "name", "platform", "publicIp", "asn", "prefixes", "connections")


def parse_outputs(data: Any, source: str) -> StackOutputs:
    """Check an outputs object against the contract; every problem at once."""
    p = Problems()
    if not isinstance(data, Mapping):
        p.add("(top level)", type(data).__name__, "the outputs file is a JSON object")
        p.raise_if_any(source)
    for name in OUTPUT_NAMES:
        if name not in data:
            p.add(name, "missing", "a stack output of the crossnet contract")
    p.raise_if_any(source)
    meta = data["crossnet"] if isinstance(data["crossnet"], Mapping) else {}
    version = meta.get("contractVersion")
    if version != CONTRACT_VERSION:
        p.add(
            "crossnet.contractVersion", version, f"this crossnet reads version {CONTRACT_VERSION}"
        )
    psks = data["presharedKeys"] if isinstance(data["presharedKeys"], Mapping) else {}
    raw_routers = data["routers"] if isinstance(data["routers"], Mapping) else {}
    routers: dict[str, Router] = {}
    for key, r in raw_routers.items():
        router = _router(p, str(key), r, psks)
        if router is not None:
            routers[str(key)] = router
    p.raise_if_any(source)
    snapshot = data.get("crossnetPlan")
    return StackOutputs(
        stack=str(meta.get("stack")),
        version=CONTRACT_VERSION,
        routers=routers,
        raw=dict(data),
        plan=dict(snapshot) if isinstance(snapshot, Mapping) else None,
    )


def _router(p: Problems, key: str, r: Any, psks: Mapping[str, Any]) -> Router | None:
    path = f"routers.{key}"
    if not _has(p, r, path, _ROUTER_KEYS):
        return None
    conns = []
    for i, c in enumerate(r["connections"] or []):
        conn = _connection(p, f"{path}.connections[{i}]", c, psks)
        if conn is not None:
            conns.append(conn)
    if not conns:
        p.add(f"{path}.connections", "[]", "a router with no tunnels has nothing to render")
    return Router(
        key=key,
        datacenter=r["datacenter"],
        name=r["name"],
        platform=r["platform"],
        public_ip=r["publicIp"],
        asn=_asn(p, f"{path}.asn", r["asn"]),
        prefixes=tuple(r["prefixes"]),
        connections=tuple(conns),
        firewall_policies=_flag(p, r, "firewallPolicies", f"{path}.firewallPolicies"),
        router_id=str(r.get("routerId") or ""),
    )


def _flag(p: Problems, obj: Mapping[str, Any], key: str, path: str) -> bool:
    """An optional true/false output (true where absent)."""
    value = obj.get(key, True)
    if not isinstance(value, bool):
        p.add(path, value, "true or false")
        return True
    return value


def _connection(p: Problems, cpath: str, c: Any, psks: Mapping[str, Any]) -> Connection | None:
    if not _has(p, c, cpath, _CONN_KEYS):
        return None
    tunnels = []
    for j, t in enumerate(c["tunnels"] or []):
        tunnel = _tunnel(p, f"{cpath}.tunnels[{j}]", c["name"], t, psks)
        if tunnel is not None:
            tunnels.append(tunnel)
    if len(c["tunnels"] or []) != aws.TUNNELS_PER_CONNECTION:
        p.add(
            f"{cpath}.tunnels",
            len(c["tunnels"] or []),
            "a VPN connection has exactly two tunnels",
        )
    return Connection(
        name=c["name"],
        gateway=dict(c["gateway"]),
        routing=c["routing"],
        redundancy=c["redundancy"],
        announce=tuple(c["announce"]),
        accept=tuple(c["accept"]),
        max_prefixes_in=int(c["maxPrefixesIn"]),
        max_prefixes_out=int(c["maxPrefixesOut"]),
        tunnel_mtu=int(c["tunnelMtu"]),
        tcp_mss=int(c["tcpMss"]),
        crypto=dict(c["crypto"]),
        tunnels=tuple(tunnels),
        raw=dict(c),
    )


def _tunnel(
    p: Problems, tpath: str, connection: str, t: Any, psks: Mapping[str, Any]
) -> Tunnel | None:
    if not _has(p, t, tpath, _TUNNEL_KEYS):
        return None
    ref = t["presharedKeyRef"]
    psk = psks.get(ref)
    if not isinstance(psk, str) or not psk:
        p.add(
            f"presharedKeys.{ref}",
            "missing",
            "every tunnel's key must be in presharedKeys "
            "(did the export run without --show-secrets?)",
        )
        return None
    if psk == "[secret]" or not aws.psk_ok(psk):
        p.add(
            f"presharedKeys.{ref}",
            "<redacted>",
            "not a usable key: export with --show-secrets",
        )
        return None
    return Tunnel(
        connection=connection,
        number=int(t["number"]),
        aws_outside_ip=t["awsOutsideIp"],
        customer_outside_ip=t["customerOutsideIp"],
        inside_cidr=t["insideCidr"],
        aws_inside_ip=t["awsInsideIp"],
        customer_inside_ip=t["customerInsideIp"],
        aws_asn=int(t["awsAsn"]),
        customer_asn=_asn(p, f"{tpath}.customerAsn", t["customerAsn"]),
        hold_time=int(t["bgpHoldTime"]),
        keepalive=int(t["bgpKeepalive"]),
        preference=t["preference"],
        psk=Secret(psk),
    )


def _asn(p: Problems, path: str, value: Any) -> int:
    """A customer ASN of the contract: an integer AWS takes (bgpAsn or bgpAsnExtended)."""
    if isinstance(value, bool) or not isinstance(value, int):
        p.add(path, value, "an ASN is an integer")
        return 0
    why = aws.customer_asn_violation(value)
    if why:
        p.add(path, value, why)
    return value


def _has(p: Problems, obj: Any, path: str, keys: tuple[str, ...]) -> bool:
    if not isinstance(obj, Mapping):
        p.add(path, type(obj).__name__, "must be an object")
        return False
    missing = [k for k in keys if k not in obj]
    for k in missing:
        p.add(f"{path}.{k}", "missing", "required by the outputs contract")
    return not missing


def load_outputs(path: Path) -> StackOutputs:
    """Read an outputs file (offline apply, or `pulumi stack output --json --show-secrets`)."""
    source = str(path)
    if not path.exists():
        raise ConfigError(
            source,
            [
                _problem(
                    "file", source, "not found: run `crossnet up` first, or pass --outputs FILE"
                )
            ],
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(source, [_problem("file", source, f"not valid JSON: {e}")]) from None
    return parse_outputs(data, source)


def _problem(field: str, value: str, rule: str) -> Any:
    from network.errors import Problem

    return Problem(field, value, rule)


def write_private(path: Path, text: str) -> None:
    """Write a file that may hold secrets: mode 0600 from the first byte, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
