"""Benchmark: render 500 datacenter routers from a generated topology.

    python bench/render_bench.py [--routers 500] [--keep DIR]

The topology is a real stack config run through the address plan: 10 regions,
each with a transit gateway (ECMP) and a VPC, 250 datacenters with two edge
routers each, every router on its own VPN connection, platforms in turn
(linux, iosxe, junos, vyos, fortios). The stack outputs are built from the plan
with stand-in AWS values (as tests/golden/make_fixtures.py does), then
`render_stack` validates, renders, cross-checks and writes every router.
Prints the total time and the time per router; the target is 5 s in total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "golden"))

from make_fixtures import outputs_for  # noqa: E402

from network.contract import parse_outputs  # noqa: E402
from network.errors import ConfigError  # noqa: E402
from network.platforms import PLATFORMS  # noqa: E402
from network.render import render_stack  # noqa: E402

TARGET_SECONDS = 5.0
PER_REGION = 50  # AWS: at most 50 VPN connections per region


def topology(routers: int) -> dict[str, Any]:
    """A stack config with `routers` datacenter routers, one VPN connection each."""
    regions = [f"bench-{i}" for i in range((routers + PER_REGION - 1) // PER_REGION)]
    platforms = list(PLATFORMS)
    vpcs: dict[str, Any] = {}
    tgws: dict[str, Any] = {}
    dcs: dict[str, Any] = {}
    conns: dict[str, Any] = {}
    for r, region in enumerate(regions):
        vpcs[f"vpc{r}"] = {
            "region": region,
            "cidr": f"10.{r}.0.0/16",
            "azs": [f"{region}a", f"{region}b"],
            "tiers": {"private": {"prefixLength": 20}, "transit": {"prefixLength": 28}},
        }
        tgws[f"tgw{r}"] = {
            "region": region,
            "asn": 64600 + r,
            "ecmp": True,
            "attachments": {f"vpc{r}": {"tier": "transit"}},
        }
    for n in range(routers):
        dc, edge = f"dc{n // 2}", f"edge{n % 2 + 1}"
        if edge == "edge1":
            dcs[dc] = {
                "asn": 65000 + n // 2 + 100,
                "routers": {},
                "prefixes": [f"172.{16 + (n // 2) // 256}.{(n // 2) % 256}.0/24"],
            }
        dcs[dc]["routers"][edge] = {
            "publicIp": f"11.{n // 250}.{n % 250}.1",
            "platform": platforms[n % len(platforms)],
        }
        conns[f"{dc}-{edge}"] = {
            "router": f"{dc}/{edge}",
            "gateway": f"tgw{n // PER_REGION}",
            "routing": "bgp",
            "tunnelOptions": {
                "ikeVersions": ["ikev2"],
                "phase1": {
                    "encryption": ["AES256-GCM-16"],
                    "integrity": ["SHA2-384"],
                    "dhGroups": [20],
                    "lifetimeSeconds": 28800,
                },
                "phase2": {
                    "encryption": ["AES256-GCM-16"],
                    "integrity": ["SHA2-384"],
                    "dhGroups": [20],
                    "lifetimeSeconds": 3600,
                },
                "dpd": {"timeoutSeconds": 30, "action": "restart"},
                "startupAction": "start",
            },
            # Explicit inside CIDRs: 50 hashed /29s per gateway would collide now and then.
            "tunnel1": {"insideCidr": f"169.254.{8 + n // 32}.{(n % 32) * 8}/30"},
            "tunnel2": {"insideCidr": f"169.254.{8 + n // 32}.{(n % 32) * 8 + 4}/30"},
        }
    return {
        "aws:region": regions[0],
        "crossnet:network": {
            "vpcs": vpcs,
            "datacenters": dcs,
            "transitGateways": tgws,
            "connections": conns,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routers", type=int, default=500)
    ap.add_argument("--keep", type=Path, default=None, help="write the configs here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    config = topology(args.routers)
    try:
        raw = outputs_for("bench", None, config)
    except ConfigError as e:
        print(e.render(), file=sys.stderr)
        return 2
    t_plan = time.perf_counter() - t0
    outputs = parse_outputs(raw, "bench outputs")

    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        t1, c1 = time.perf_counter(), time.process_time()
        rendered = render_stack(outputs, out)
        total, cpu = time.perf_counter() - t1, time.process_time() - c1
        files = sum(len(r.files) for r in rendered)
    n = len(rendered)
    by_platform = {p: sum(r.platform == p for r in rendered) for p in PLATFORMS}
    print(
        f"topology: {n} routers ({', '.join(f'{p} {c}' for p, c in by_platform.items())}), "
        f"{sum(r.tunnels for r in rendered)} tunnels; plan + outputs {t_plan:.2f} s"
    )
    print(
        f"render:   {total:.2f} s total for {n} routers ({files} files: validate, render, "
        f"cross-check, write); {cpu:.2f} s of it on the CPU (the rest: waiting for the "
        f"disk, or for a CPU other work holds)"
    )
    print(
        f"          {1000 * total / n:.1f} ms per router; target <= {TARGET_SECONDS:.0f} s "
        f"total: {'met' if total <= TARGET_SECONDS else 'MISSED'}"
    )
    return 0 if total <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
