"""Regenerate the golden cases: `python tests/golden/make_fixtures.py [--check]`.

Each case is `tests/golden/<platform>/<case>/`: `outputs.json` (a stack outputs
file, as `crossnet up` or `pulumi stack output --json --show-secrets` writes it)
and the expected config of every router under `<router key>/`.

The outputs come from the real address plan of each example stack
(`network.plan.build_plan`) and the contract's own record builders, with
plausible stand-ins for what AWS would return: outside addresses from the
documentation ranges (198.51.100.x for tunnel 1, 203.0.113.x for tunnel 2),
made-up resource ids and obviously fake keys (`FAKE_TEST_KEY_...`). Every
router of a case is switched to the case's platform, so each platform is
rendered for every example stack. The `mixed` case adds one router holding
three connections (VGW with BGP, TGW with ECMP, VGW with static routes) and
non-default crypto, lifetimes and DPD. The `sitepolicy` case (FortiOS and Junos)
is the mixed one with `firewallPolicies: false`: no firewall/security policies.
The `asn4` case is dev with 4-byte ASNs on both sides (asplain on every platform).

Expected configs are what the renderer produces now: review the diff before
committing regenerated files. `--check` exits 1 if anything would change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from network.contract import (  # noqa: E402
    CONTRACT_VERSION,
    connection_record,
    datacenter_records,
    parse_outputs,
    router_records,
)
from network.naming import tunnel_id  # noqa: E402
from network.plan import Plan, build_plan  # noqa: E402
from network.platforms import PLATFORMS  # noqa: E402
from network.render import render_router  # noqa: E402

GOLDEN = Path(__file__).resolve().parent
STACKS = ("dev", "staging", "prod")

_CRYPTO_BASE = {
    "ikeVersions": ["ikev2"],
    "phase1": {
        "encryption": ["AES256-GCM-16", "AES128"],
        "integrity": ["SHA2-256"],
        "dhGroups": [20, 14],
        "lifetimeSeconds": 14400,
    },
    "dpd": {"timeoutSeconds": 40, "action": "restart"},
    "startupAction": "start",
    "rekeyMarginSeconds": 300,
    "rekeyFuzzPercentage": 50,
    "replayWindowSize": 2048,
}
MIXED = {
    "aws:region": "eu-central-1",
    "crossnet:network": {
        "vpcs": {
            "core": {
                "cidr": "10.40.0.0/16",
                "azs": ["eu-central-1a", "eu-central-1b"],
                "tiers": {"private": {"prefixLength": 20}},
            },
            "batch": {
                "cidr": "10.41.0.0/16",
                "azs": ["eu-central-1a", "eu-central-1b"],
                "tiers": {"private": {"prefixLength": 20}},
            },
            "hubbed": {
                "cidr": "10.42.0.0/16",
                "azs": ["eu-central-1a", "eu-central-1b"],
                "tiers": {"private": {"prefixLength": 20}, "transit": {"prefixLength": 28}},
            },
        },
        "datacenters": {
            "lon": {
                "asn": 65300,
                "prefixes": ["10.160.0.0/16", "10.161.0.0/20"],
                "routers": {"core1": {"publicIp": "192.0.2.30", "platform": "linux"}},
            },
        },
        "vpnGateways": {
            "core-vgw": {"vpc": "core", "asn": 64520},
            "batch-vgw": {"vpc": "batch", "asn": 64521},
        },
        "transitGateways": {
            "hub": {"asn": 64530, "ecmp": True, "attachments": {"hubbed": {"tier": "transit"}}}
        },
        "connections": {
            "lon-core1-core": {
                "router": "lon/core1",
                "gateway": "core-vgw",
                "routing": "bgp",
                "tunnelOptions": {
                    **_CRYPTO_BASE,
                    "phase2": {
                        "encryption": ["AES256-GCM-16", "AES256"],
                        "integrity": ["SHA2-256"],
                        "dhGroups": [20],
                        "lifetimeSeconds": 1800,
                    },
                },
            },
            "lon-core1-hub": {
                "router": "lon/core1",
                "gateway": "hub",
                "routing": "bgp",
                "tunnelOptions": {
                    **_CRYPTO_BASE,
                    "phase2": {
                        "encryption": ["AES128"],
                        "integrity": ["SHA2-256", "SHA1"],
                        "dhGroups": [14, 19],
                        "lifetimeSeconds": 3600,
                    },
                },
            },
            "lon-core1-batch": {
                "router": "lon/core1",
                "gateway": "batch-vgw",
                "routing": "static",
                "tunnelOptions": {
                    **_CRYPTO_BASE,
                    "phase2": {
                        "encryption": ["AES256"],
                        "integrity": ["SHA2-512"],
                        "dhGroups": [21],
                        "lifetimeSeconds": 3600,
                    },
                },
                "tunnel1": {"insideCidr": "169.254.77.0/30"},
                "tunnel2": {"insideCidr": "169.254.77.4/30"},
            },
        },
    },
}


# Platforms whose configs carry firewall/security policies (network.render.defaults):
# the `sitepolicy` case is the mixed one with `firewallPolicies: false`, the site
# keeping its own policy.
ZONE_BASED = ("fortios", "junos")


def _asn4() -> dict[str, Any]:
    """dev with 4-byte ASNs on both sides: RFC 6996's private range, which AWS
    takes as bgpAsnExtended (customer) and as a VGW's Amazon-side ASN."""
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    net = doc["config"]["crossnet:network"]
    net["datacenters"]["dc1"]["asn"] = 4200000001
    net["vpnGateways"]["app-vgw"]["asn"] = 4200000100
    return dict(doc["config"])


def stack_config(case: str) -> dict[str, Any]:
    if case == "mixed":
        mixed: dict[str, Any] = json.loads(json.dumps(MIXED))
        return mixed
    if case == "sitepolicy":
        config: dict[str, Any] = json.loads(json.dumps(MIXED))
        for dc in config["crossnet:network"]["datacenters"].values():
            for router in dc["routers"].values():
                router["firewallPolicies"] = False
        return config
    if case == "asn4":
        return _asn4()
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{case}.yaml").read_text())
    return dict(doc["config"])


def _fake_id(prefix: str, *keys: str) -> str:
    return f"{prefix}-" + hashlib.sha256("/".join(keys).encode()).hexdigest()[:17]


def fake_psk(connection: str, number: int) -> str:
    """An obviously fake key that still obeys AWS's rules."""
    return f"FAKE_TEST_KEY_{connection.replace('-', '_')}_{number}"


def outside_ip(index: int, tunnel: int) -> str:
    """AWS's outside address of a connection's tunnel: documentation ranges while they
    last (198.51.100.x for tunnel 1, 203.0.113.x for tunnel 2), then 52.<n>.x.y."""
    if index < 240:
        return f"{'198.51.100' if tunnel == 1 else '203.0.113'}.{10 + index}"
    return f"52.{tunnel}.{index // 250}.{index % 250 + 1}"


def outputs_for(
    case: str, platform: str | None, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stack outputs object for the case (or `config`), every router on `platform`
    (None: as the config says)."""
    plan = build_plan(config or stack_config(case), case)
    conns: dict[str, Any] = {}
    psks: dict[str, str] = {}
    for i, c in enumerate(sorted(plan.connections, key=lambda x: x.name)):
        values: dict[str, Any] = {
            "id": _fake_id("vpn", case, c.name),
            "customerGatewayId": _fake_id("cgw", case, c.router.key),
            "gatewayId": _fake_id(c.gateway_type, case, c.spec.gateway),
        }
        for t in c.tunnels:
            n = t.number
            values[f"tunnel{n}Address"] = outside_ip(i, n)
            values[f"tunnel{n}InsideCidr"] = str(t.inside_cidr)
            values[f"tunnel{n}VgwInsideAddress"] = str(t.aws_inside)
            values[f"tunnel{n}CgwInsideAddress"] = str(t.customer_inside)
            values[f"tunnel{n}BgpAsn"] = str(c.aws_asn)
            values[f"tunnel{n}BgpHoldtime"] = "30"
            psks[tunnel_id(c.name, n)] = fake_psk(c.name, n)
        conns[c.name] = connection_record(c, values)
    routers = router_records(plan, conns)
    for r in routers.values():
        r["platform"] = platform or r["platform"]
    return {
        "crossnet": {"contractVersion": CONTRACT_VERSION, "project": "crossnet", "stack": case},
        "datacenters": datacenter_records(plan),
        "vpcs": _vpcs(plan, case),
        "gateways": _gateways(plan, case),
        "peerings": {
            p.name: {
                "id": _fake_id("pcx", case, p.name),
                "requester": p.requester,
                "accepter": p.accepter,
                "dnsResolution": p.dns_resolution,
            }
            for p in plan.peerings
        },
        "routers": routers,
        "presharedKeys": psks,
    }


def _vpcs(plan: Plan, case: str) -> dict[str, Any]:
    return {
        name: {
            "region": v.spec.region,
            "id": _fake_id("vpc", case, name),
            "cidr": str(v.spec.cidr),
            "azs": list(v.spec.azs),
            "subnets": {
                f"{s.tier}/{s.az}": {
                    "cidr": str(s.cidr),
                    "id": _fake_id("subnet", case, name, s.tier, s.az),
                }
                for s in v.subnets
            },
        }
        for name, v in sorted(plan.vpcs.items())
    }


def _gateways(plan: Plan, case: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for g in plan.vpn_gateways.values():
        out[g.name] = {
            "type": "vgw",
            "id": _fake_id("vgw", case, g.name),
            "asn": g.asn,
            "vpc": g.vpc,
            "region": plan.vpcs[g.vpc].spec.region,
        }
    for t in plan.transit.values():
        out[t.name] = {
            "type": "tgw",
            "id": _fake_id("tgw", case, t.name),
            "asn": t.spec.asn,
            "region": t.spec.region,
            "ecmp": t.spec.ecmp,
        }
    return out


def expected_files(outputs: dict[str, Any], case: str) -> dict[str, str]:
    """Relative path -> text of a case directory."""
    files = {"outputs.json": json.dumps(outputs, indent=2, sort_keys=True) + "\n"}
    parsed = parse_outputs(outputs, f"golden case {case}")
    for key, router in sorted(parsed.routers.items()):
        for name, text in render_router(router).items():
            files[f"{key}/{name}"] = text
    return files


def cases(platforms: list[str] | None = None) -> list[tuple[str, str]]:
    return [
        (p, c)
        for p in platforms or PLATFORMS
        for c in (*STACKS, "mixed", "asn4", *(("sitepolicy",) if p in ZONE_BASED else ()))
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report differences, write nothing")
    ap.add_argument(
        "--platform",
        action="append",
        choices=sorted(PLATFORMS),
        help="only this platform (repeatable)",
    )
    args = ap.parse_args(argv)
    changed = []
    for platform, case in cases(args.platform):
        d = GOLDEN / platform / case
        want = expected_files(outputs_for(case, platform), case)
        have = (
            {str(p.relative_to(d)): p.read_text() for p in d.rglob("*") if p.is_file()}
            if d.exists()
            else {}
        )
        if want == have:
            continue
        changed.append(f"{platform}/{case}")
        if not args.check:
            for stale in set(have) - set(want):
                (d / stale).unlink()
            for rel, text in want.items():
                (d / rel).parent.mkdir(parents=True, exist_ok=True)
                (d / rel).write_text(text)
    for name in changed:
        print(("differs: " if args.check else "written: ") + name)
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
